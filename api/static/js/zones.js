// Zone editor: the camera snapshot on a canvas, zone polygons drawn over it. Click to add
// points (double-click or Close to finish), drag vertices to edit, then Save.
import { ApiError, api, enc, errorLines } from "./api.js";
import { startPage, toast } from "./app.js";
import { $, $$, clear, el } from "./dom.js";
import { onLanguageChange, t } from "./i18n.js";

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const ALLOWED = {
  illegal_parking: ["vehicle"],
  abandoned_vehicle: ["vehicle"],
  street_vending: ["vending", "goods", "person"],
  sidewalk_obstruction: ["vehicle", "vending", "goods"],
};
const DEFAULTS = {
  illegal_parking: { categories: ["vehicle"], dwell_s: 60 },
  abandoned_vehicle: { categories: ["vehicle"], dwell_s: 72 * 3600 },
  street_vending: { categories: ["vending", "person"], dwell_s: 120 },
  sidewalk_obstruction: { categories: ["vending", "goods"], dwell_s: 120 },
};
const RULE_COLOURS = {
  illegal_parking: "#3b82f6",
  abandoned_vehicle: "#a855f7",
  street_vending: "#f59e0b",
  sidewalk_obstruction: "#10b981",
};
const HANDLE_PX = 7;
const HIT_PX = 12;

const state = {
  camera: "",
  zones: [],
  editing: null, // {original: zone|null, points: [[x,y]], closed: bool}
  picture: null, // HTMLImageElement or null
  drag: -1, // index of the vertex being dragged
  dirty: false,
};

const canvas = () => $("#zone-canvas");

// ---------- geometry ----------

function toNorm(event) {
  const rect = canvas().getBoundingClientRect();
  const x = (event.clientX - rect.left) / rect.width;
  const y = (event.clientY - rect.top) / rect.height;
  return [round(Math.min(1, Math.max(0, x))), round(Math.min(1, Math.max(0, y)))];
}

function round(v) {
  return Math.round(v * 10000) / 10000;
}

function toPx([x, y]) {
  const c = canvas();
  return [x * c.width, y * c.height];
}

/** Pixel distance on screen between a pointer event and a normalised point. */
function screenDistance(event, point) {
  const rect = canvas().getBoundingClientRect();
  const dx = event.clientX - (rect.left + point[0] * rect.width);
  const dy = event.clientY - (rect.top + point[1] * rect.height);
  return Math.hypot(dx, dy);
}

function inside(point, polygon) {
  let hit = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i];
    const [xj, yj] = polygon[j];
    if (yi > point[1] !== yj > point[1] && point[0] < ((xj - xi) * (point[1] - yi)) / (yj - yi) + xi) {
      hit = !hit;
    }
  }
  return hit;
}

// ---------- drawing ----------

function sizeCanvas() {
  const c = canvas();
  const ratio = state.picture ? state.picture.naturalWidth / state.picture.naturalHeight : 16 / 9;
  const width = Math.round(c.clientWidth * (window.devicePixelRatio || 1)) || 1280;
  c.width = width;
  c.height = Math.round(width / ratio);
  c.style.aspectRatio = `${ratio}`;
}

function polygonPath(ctx, points, close) {
  ctx.beginPath();
  points.forEach((p, i) => {
    const [x, y] = toPx(p);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  if (close) ctx.closePath();
}

function draw() {
  const c = canvas();
  const ctx = c.getContext("2d");
  const scale = c.width / 1000;
  ctx.clearRect(0, 0, c.width, c.height);
  if (state.picture) {
    ctx.drawImage(state.picture, 0, 0, c.width, c.height);
  } else {
    ctx.fillStyle = "#1f2937";
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.fillStyle = "#9ca3af";
    ctx.font = `${Math.round(20 * scale)}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.fillText(t("zones.noSnapshot"), c.width / 2, c.height / 2);
    ctx.textAlign = "start";
  }

  const editingName = state.editing && state.editing.original ? state.editing.original.name : null;
  const others = state.zones.filter((zone) => zone.name !== editingName);
  for (const zone of others) {
    drawZone(ctx, zone.polygon, RULE_COLOURS[zone.rule] || "#64748b", false, scale);
  }
  if (state.editing) {
    const colour = RULE_COLOURS[$("#zone-rule").value] || "#ef4444";
    drawZone(ctx, state.editing.points, colour, true, scale);
  }
  // Names last, so no outline is drawn across one.
  for (const zone of others) drawLabel(ctx, zone.polygon, zone.name, scale);
  if (state.editing) drawLabel(ctx, state.editing.points, $("#zone-name").value, scale);
}

function drawZone(ctx, points, colour, active, scale) {
  if (!points.length) return;
  const closed = !active || state.editing.closed;
  polygonPath(ctx, points, closed);
  if (closed && points.length >= 3) {
    ctx.fillStyle = colour + (active ? "55" : "33");
    ctx.fill();
  }
  ctx.lineWidth = Math.max(1.5, (active ? 3 : 2) * scale);
  ctx.strokeStyle = active ? "#ffffff" : colour;
  ctx.setLineDash(active && !closed ? [8 * scale, 6 * scale] : []);
  ctx.stroke();
  if (active) {
    ctx.lineWidth = Math.max(1, 1.5 * scale);
    ctx.strokeStyle = colour;
    ctx.stroke();
  }
  ctx.setLineDash([]);
  if (active) {
    const r = HANDLE_PX * (window.devicePixelRatio || 1);
    points.forEach((p, i) => {
      const [x, y] = toPx(p);
      ctx.beginPath();
      ctx.arc(x, y, i === 0 && !closed ? r * 1.4 : r, 0, Math.PI * 2);
      ctx.fillStyle = i === state.drag ? colour : "#ffffff";
      ctx.fill();
      ctx.lineWidth = 2;
      ctx.strokeStyle = colour;
      ctx.stroke();
    });
  }
}

function drawLabel(ctx, points, label, scale) {
  if (!label || !points.length) return;
  const [x, y] = toPx(points.reduce((a, p) => (p[1] < a[1] ? p : a), points[0]));
  const size = Math.max(12, Math.round(15 * scale));
  ctx.font = `600 ${size}px system-ui, sans-serif`;
  const width = ctx.measureText(label).width + size;
  const top = Math.max(0, y - size * 1.9);
  const left = Math.min(x, ctx.canvas.width - width);
  ctx.fillStyle = "rgba(15, 23, 42, 0.8)";
  ctx.fillRect(left, top, width, size * 1.6);
  ctx.fillStyle = "#ffffff";
  ctx.fillText(label, left + size / 2, top + size * 1.15);
}

// ---------- canvas interaction ----------

function setHelp() {
  let key = "zones.helpIdle";
  if (state.editing && !state.editing.closed) {
    key = state.editing.points.length < 3 ? "zones.helpDraw" : "zones.helpDrawMore";
  } else if (state.editing) key = "zones.helpEdit";
  const help = $("#draw-help");
  help.dataset.i18n = key;
  help.textContent = t(key);
  const drawing = Boolean(state.editing && !state.editing.closed);
  $("#close-polygon").hidden = !drawing;
  $("#close-polygon").disabled = !drawing || state.editing.points.length < 3;
  $("#undo-point").hidden = !drawing || !state.editing.points.length;
  $("#point-count").textContent = state.editing
    ? t("zones.points", { n: state.editing.points.length })
    : "";
}

function closePolygon() {
  if (!state.editing || state.editing.closed || state.editing.points.length < 3) return;
  state.editing.closed = true;
  state.dirty = true;
  setHelp();
  draw();
  $("#zone-name").focus();
}

function onPointerDown(event) {
  if (event.button !== 0) return;
  const point = toNorm(event);
  const editing = state.editing;
  if (editing && editing.closed) {
    const index = editing.points.findIndex((p) => screenDistance(event, p) <= HIT_PX);
    if (index >= 0) {
      state.drag = index;
      canvas().setPointerCapture(event.pointerId);
      draw();
      return;
    }
  }
  if (editing && !editing.closed) {
    // Clicking the first point again closes the polygon.
    if (editing.points.length >= 3 && screenDistance(event, editing.points[0]) <= HIT_PX) {
      closePolygon();
      return;
    }
    const last = editing.points[editing.points.length - 1];
    if (last && screenDistance(event, last) <= 3) return; // second click of a double-click
    editing.points.push(point);
    state.dirty = true;
    setHelp();
    draw();
    return;
  }
  // Not drawing: a click inside a zone selects it.
  const hit = [...state.zones].reverse().find((zone) => inside(point, zone.polygon));
  if (hit) selectZone(hit.name);
}

function onPointerMove(event) {
  const editing = state.editing;
  if (state.drag >= 0 && editing) {
    editing.points[state.drag] = toNorm(event);
    state.dirty = true;
    draw();
    return;
  }
  const overHandle =
    editing && editing.closed && editing.points.some((p) => screenDistance(event, p) <= HIT_PX);
  canvas().style.cursor = overHandle ? "grab" : editing && !editing.closed ? "crosshair" : "default";
}

function onPointerUp(event) {
  if (state.drag >= 0) {
    state.drag = -1;
    if (canvas().hasPointerCapture(event.pointerId)) canvas().releasePointerCapture(event.pointerId);
    draw();
  }
}

function setupCanvas() {
  const c = canvas();
  c.addEventListener("pointerdown", onPointerDown);
  c.addEventListener("pointermove", onPointerMove);
  c.addEventListener("pointerup", onPointerUp);
  c.addEventListener("pointercancel", onPointerUp);
  c.addEventListener("dblclick", (event) => {
    event.preventDefault();
    closePolygon();
  });
  $("#close-polygon").addEventListener("click", closePolygon);
  $("#undo-point").addEventListener("click", () => {
    if (state.editing && !state.editing.closed) {
      state.editing.points.pop();
      setHelp();
      draw();
    }
  });
  document.addEventListener("keydown", (event) => {
    if (!state.editing || state.editing.closed) return;
    if (event.target instanceof Element && event.target.closest("input, textarea, select")) return;
    if (event.key === "Enter") closePolygon();
    else if (event.key === "Backspace") {
      event.preventDefault();
      state.editing.points.pop();
      setHelp();
      draw();
    } else if (event.key === "Escape") resetForm();
  });
  new ResizeObserver(() => {
    sizeCanvas();
    draw();
  }).observe(c);
}

// ---------- form ----------

function buildWeekdays() {
  const row = clear($("#zone-weekdays"));
  for (const day of WEEKDAYS) {
    row.append(
      el(
        "label",
        null,
        el("input", { type: "checkbox", name: "weekday", value: day }),
        " ",
        el("span", { "data-i18n": `weekday.${day}`, text: t(`weekday.${day}`) }),
      ),
    );
  }
}

function updateCategoryBoxes(resetDefaults) {
  const rule = $("#zone-rule").value;
  const allowed = ALLOWED[rule] || [];
  for (const box of $$("input[name=category]")) {
    const ok = allowed.includes(box.value);
    box.disabled = !ok;
    box.closest("label").classList.toggle("disabled", !ok);
    if (!ok) box.checked = false;
    if (resetDefaults) box.checked = DEFAULTS[rule].categories.includes(box.value);
  }
  $("#zone-dwell").placeholder = String(DEFAULTS[rule].dwell_s);
}

function fillForm(zone) {
  $("#zone-name").value = zone ? zone.name : "";
  $("#zone-rule").value = zone ? zone.rule : "illegal_parking";
  updateCategoryBoxes(!zone);
  if (zone) {
    const cats = zone.categories || DEFAULTS[zone.rule].categories;
    for (const box of $$("input[name=category]")) box.checked = cats.includes(box.value);
  }
  $("#zone-dwell").value = zone && zone.dwell_s ? String(zone.dwell_s) : "";
  $("#zone-severity").value = zone ? zone.severity || "medium" : "medium";
  const schedule = zone ? zone.schedule : null;
  for (const box of $$("input[name=weekday]")) {
    box.checked = Boolean(schedule && (schedule.weekdays || []).includes(box.value));
  }
  const windows = schedule ? (schedule.windows || []).filter((w) => w !== "00:00-24:00") : [];
  $("#zone-windows").value = windows.join(", ");
  $("#zone-min-confidence").value = String(zone ? zone.min_confidence ?? 0.3 : 0.3);
  $("#zone-min-box").value = String(zone ? zone.min_box_size ?? 0 : 0);
  $("#zone-max-gap").value = String(zone ? zone.max_gap_s ?? 10 : 10);
  $("#zone-merge").value = String(zone ? zone.merge_window_s ?? 60 : 60);
  $("#zone-tolerance").value = String(zone ? zone.stationary_tolerance ?? 0.25 : 0.25);
  $("#zone-anchor").value = zone ? zone.anchor || "bottom_center" : "bottom_center";
  const titleKey = zone ? "zones.formEdit" : "zones.formNew";
  $("#form-title").dataset.i18n = titleKey;
  $("#form-title").textContent = t(titleKey);
  $("#zone-delete").hidden = !zone;
  showErrors([]);
}

function numberOr(input, fallback) {
  const value = input.value.trim();
  if (value === "") return fallback;
  const n = Number(value);
  return Number.isFinite(n) ? n : value; // let the server explain a bad value
}

function readForm() {
  const original = state.editing.original || {};
  const weekdays = $$("input[name=weekday]:checked").map((b) => b.value);
  const windows = $("#zone-windows")
    .value.split(/[,;\s]+(?=\d)/)
    .map((w) => w.trim())
    .filter(Boolean);
  let schedule = null;
  if (weekdays.length || windows.length) {
    schedule = {
      weekdays: weekdays.length ? weekdays : [...WEEKDAYS],
      windows: windows.length ? windows : ["00:00-24:00"],
      timezone: original.schedule ? original.schedule.timezone ?? null : null,
    };
  }
  return {
    ...original, // keeps fields this form does not show (ignore regions, ...)
    name: $("#zone-name").value.trim(),
    polygon: state.editing.points.map(([x, y]) => [x, y]),
    rule: $("#zone-rule").value,
    categories: $$("input[name=category]:checked").map((b) => b.value),
    dwell_s: numberOr($("#zone-dwell"), null),
    schedule,
    severity: $("#zone-severity").value,
    min_confidence: numberOr($("#zone-min-confidence"), 0.3),
    min_box_size: numberOr($("#zone-min-box"), 0),
    max_gap_s: numberOr($("#zone-max-gap"), 10),
    merge_window_s: numberOr($("#zone-merge"), 60),
    stationary_tolerance: numberOr($("#zone-tolerance"), 0.25),
    anchor: $("#zone-anchor").value,
    ignore: original.ignore || [],
  };
}

function showErrors(lines) {
  const list = clear($("#zone-errors"));
  for (const line of lines) list.append(el("li", { text: line }));
  list.hidden = !lines.length;
}

function localProblems(zone) {
  const problems = [];
  if (!zone.name) problems.push(t("zones.errName"));
  if (!state.editing.closed || zone.polygon.length < 3) problems.push(t("zones.errPolygon"));
  if (!zone.categories.length) problems.push(t("zones.errCategories"));
  const taken = state.zones.some(
    (z) => z.name === zone.name && (!state.editing.original || state.editing.original.name !== z.name),
  );
  if (taken) problems.push(t("zones.errTaken", { name: zone.name }));
  return problems;
}

async function save(event) {
  event.preventDefault();
  if (!state.editing) return;
  const zone = readForm();
  const problems = localProblems(zone);
  if (problems.length) {
    showErrors(problems);
    return;
  }
  const original = state.editing.original;
  const base = `/api/cameras/${enc(state.camera)}/zones`;
  const button = $("#zone-save");
  button.disabled = true;
  try {
    if (original) await api.put(`${base}/${enc(original.name)}`, zone);
    else await api.post(base, zone);
    state.dirty = false;
    toast(t("zones.saved", { name: zone.name }), "ok");
    await loadZones();
    selectZone(zone.name);
  } catch (err) {
    showErrors(err instanceof ApiError && err.detail ? errorLines(err.detail) : [err.message]);
  } finally {
    button.disabled = false;
  }
}

let deleteArmed = null;

async function removeZone() {
  const original = state.editing && state.editing.original;
  if (!original) return;
  const button = $("#zone-delete");
  if (!deleteArmed) {
    button.textContent = t("zones.deleteConfirm");
    deleteArmed = setTimeout(() => {
      deleteArmed = null;
      button.textContent = t("zones.delete");
    }, 4000);
    return;
  }
  clearTimeout(deleteArmed);
  deleteArmed = null;
  button.textContent = t("zones.delete");
  try {
    await api.del(`/api/cameras/${enc(state.camera)}/zones/${enc(original.name)}`);
    toast(t("zones.deleted", { name: original.name }), "ok");
    await loadZones();
    resetForm();
  } catch (err) {
    showErrors(err.detail ? errorLines(err.detail) : [err.message]);
  }
}

function resetForm() {
  state.editing = null;
  state.dirty = false;
  fillForm(null);
  setFormEnabled(false);
  renderChips();
  setHelp();
  draw();
}

function setFormEnabled(on) {
  for (const node of $$("#zone-form input, #zone-form select, #zone-form button")) {
    if (node.id === "zone-reset") continue;
    node.disabled = !on;
  }
  if (on) updateCategoryBoxes(false);
  $("#form-hint").hidden = on;
}

function startNew() {
  state.editing = { original: null, points: [], closed: false };
  fillForm(null);
  setFormEnabled(true);
  renderChips();
  setHelp();
  draw();
}

function selectZone(name) {
  const zone = state.zones.find((z) => z.name === name);
  if (!zone) return;
  state.editing = {
    original: zone,
    points: zone.polygon.map(([x, y]) => [x, y]),
    closed: true,
  };
  fillForm(zone);
  setFormEnabled(true);
  renderChips();
  setHelp();
  draw();
}

function renderChips() {
  const row = clear($("#zone-chips"));
  const current = state.editing && state.editing.original ? state.editing.original.name : null;
  for (const zone of state.zones) {
    const chip = el("button", {
      type: "button",
      role: "listitem",
      class: `zone-chip${zone.name === current ? " active" : ""}`,
      dataset: { zone: zone.name },
      text: zone.name,
    });
    chip.style.setProperty("--zone-colour", RULE_COLOURS[zone.rule] || "#64748b");
    chip.addEventListener("click", () => selectZone(zone.name));
    row.append(chip);
  }
  if (!state.zones.length) row.append(el("span", { class: "muted", text: t("zones.none") }));
}

// ---------- loading ----------

async function loadZones() {
  state.zones = await api.get(`/api/cameras/${enc(state.camera)}/zones`);
  renderChips();
  draw();
}

function loadPicture(camera) {
  return new Promise((resolve) => {
    const img = new Image();
    img.decoding = "async";
    img.addEventListener("load", () => resolve(img));
    img.addEventListener("error", () => resolve(null));
    img.src = `/api/cameras/${enc(camera)}/snapshot?t=${Date.now()}`;
  });
}

async function pickCamera(name) {
  state.camera = name;
  resetForm();
  const [picture] = await Promise.all([loadPicture(name), loadZones().catch(() => {})]);
  state.picture = picture;
  sizeCanvas();
  draw();
}

async function main() {
  await startPage("zones");
  buildWeekdays();
  setupCanvas();
  $("#zone-rule").addEventListener("change", () => {
    updateCategoryBoxes(true);
    draw();
  });
  $("#zone-name").addEventListener("input", draw);
  $("#zone-form").addEventListener("submit", save);
  $("#zone-reset").addEventListener("click", resetForm);
  $("#zone-delete").addEventListener("click", removeZone);
  $("#new-zone").addEventListener("click", startNew);
  onLanguageChange(() => {
    renderChips();
    setHelp();
    draw();
  });
  window.addEventListener("beforeunload", (event) => {
    if (state.dirty) event.preventDefault();
  });

  const cameras = await api.get("/api/cameras").catch(() => []);
  const select = $("#camera-select");
  for (const camera of cameras) select.append(el("option", { value: camera.name, text: camera.name }));
  select.addEventListener("change", () => pickCamera(select.value));
  const wanted = new URLSearchParams(location.search).get("camera");
  const first = cameras.some((c) => c.name === wanted) ? wanted : cameras[0] && cameras[0].name;
  if (first) {
    select.value = first;
    await pickCamera(first);
  } else {
    resetForm();
  }
}

main();
