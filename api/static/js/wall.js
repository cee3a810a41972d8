// Live wall for the monitoring center: newest alerts as cards, camera health tiles,
// a flash and a beep for every new alert and for a camera going offline.
import { api, withQuery } from "./api.js";
import { mayUse, startPage } from "./app.js";
import { $, clear, el } from "./dom.js";
import {
  ago,
  alertPicture,
  clock,
  duration,
  number,
  severityLabel,
  stateLabel,
  statusLabel,
  typeLabel,
} from "./format.js";
import { onLanguageChange, t } from "./i18n.js";
import { connectLive } from "./live.js";
import { beep, soundReady, unlock } from "./sound.js";

const MAX_CARDS = 30;
const CAMERA_POLL_MS = 5000;

const incidents = new Map(); // id -> incident, newest first by insertion order of `order`
let order = []; // ids, newest first
const cameras = new Map(); // name -> camera
let user = null;
const fresh = new Set(); // ids that arrived live in the last few seconds (highlighted)

function flash(kind) {
  const overlay = $("#flash");
  overlay.dataset.kind = kind;
  overlay.classList.remove("on");
  void overlay.offsetWidth; // restart the animation
  overlay.classList.add("on");
  beep(kind);
}

function alertCard(incident, highlight) {
  const picture = alertPicture(incident);
  const canReview = mayUse(user.role, "review");
  const media = picture
    ? el("img", { src: picture, alt: t("wall.alertPicture"), loading: "lazy", decoding: "async" })
    : el("div", { class: "no-picture", text: t("common.noPicture") });
  const card = el(
    canReview ? "a" : "article",
    {
      class: `alert-card sev-${incident.severity}${highlight ? " fresh" : ""}`,
      href: canReview ? `review.html?id=${encodeURIComponent(incident.id)}` : null,
      dataset: { id: incident.id, severity: incident.severity },
    },
    el("div", { class: "alert-media" }, media),
    el(
      "div",
      { class: "alert-body" },
      el(
        "div",
        { class: "alert-top" },
        el("span", { class: `chip sev sev-${incident.severity}`, text: severityLabel(incident.severity) }),
        el("span", { class: `chip status status-${incident.status}`, text: statusLabel(incident.status) }),
        incident.repeat_count
          ? el("span", { class: "chip repeat", text: t("common.repeatCount", { n: incident.repeat_count }) })
          : null,
      ),
      el("div", { class: "alert-type", text: typeLabel(incident.type) }),
      el("div", { class: "alert-place", text: `${incident.camera} · ${incident.zone}` }),
      el(
        "div",
        { class: "alert-time" },
        el("time", { datetime: incident.alert_at, text: clock(incident.alert_at) }),
        el("span", { class: "muted age", dataset: { at: incident.alert_at }, text: ago(incident.alert_at) }),
      ),
    ),
  );
  return card;
}

function renderAlerts() {
  const list = $("#alert-list");
  clear(list);
  for (const id of order) list.append(alertCard(incidents.get(id), fresh.has(id)));
  $("#alerts-empty").hidden = order.length > 0;
}

function addIncident(incident, isFresh) {
  if (!incident || !incident.id) return;
  const known = incidents.has(incident.id);
  incidents.set(incident.id, incident);
  const list = $("#alert-list");
  if (known) {
    const old = list.querySelector(`[data-id="${CSS.escape(incident.id)}"]`);
    if (old) old.replaceWith(alertCard(incident, fresh.has(incident.id)));
    return;
  }
  order.unshift(incident.id);
  if (isFresh) {
    fresh.add(incident.id);
    setTimeout(() => fresh.delete(incident.id), 10000);
  }
  list.prepend(alertCard(incident, isFresh));
  while (order.length > MAX_CARDS) {
    const dropped = order.pop();
    incidents.delete(dropped);
    const node = list.querySelector(`[data-id="${CSS.escape(dropped)}"]`);
    if (node) node.remove();
  }
  $("#alerts-empty").hidden = true;
}

function cameraTile(camera) {
  const lag = camera.lag_s === null || camera.lag_s === undefined ? "—" : duration(camera.lag_s);
  return el(
    "div",
    { class: `camera-tile state-${camera.state}`, dataset: { camera: camera.name, state: camera.state } },
    el(
      "div",
      { class: "camera-head" },
      el("span", { class: "camera-name", text: camera.name }),
      el("span", { class: `chip state state-${camera.state}`, text: stateLabel(camera.state) }),
    ),
    el(
      "dl",
      { class: "camera-stats" },
      el("dt", { text: t("camera.lastFrame") }),
      el("dd", { class: "age", dataset: { at: camera.last_frame_at || "" }, text: ago(camera.last_frame_at) }),
      el("dt", { text: t("camera.lag") }),
      el("dd", { text: lag }),
      el("dt", { text: t("camera.fps") }),
      el("dd", { text: number(camera.detect_fps, 1) }),
      el("dt", { text: t("camera.dropped") }),
      el("dd", { text: number(camera.frames_dropped) }),
    ),
  );
}

function renderCameras() {
  const list = $("#camera-list");
  clear(list);
  const sorted = [...cameras.values()].sort((a, b) => {
    const bad = (c) => (c.state === "online" ? 1 : 0);
    return bad(a) - bad(b) || a.name.localeCompare(b.name);
  });
  for (const camera of sorted) list.append(cameraTile(camera));
  const online = sorted.filter((c) => c.state === "online").length;
  $("#camera-summary").textContent = t("wall.camerasOnline", { online, total: sorted.length });
}

function updateCamera(camera, alarm) {
  if (!camera || !camera.name) return;
  const before = cameras.get(camera.name);
  cameras.set(camera.name, { ...(before || {}), ...camera });
  if (alarm && camera.state === "offline" && (!before || before.state !== "offline")) {
    flash("offline");
  }
}

async function loadCameras(alarm) {
  try {
    const list = await api.get("/api/cameras");
    for (const camera of list) updateCamera(camera, alarm);
    renderCameras();
  } catch {
    // Shown as stale ages; the next poll tries again.
  }
}

async function loadAlerts() {
  const page = await api.get(withQuery("/api/incidents", { limit: MAX_CARDS }));
  // Merge, never replace: a live event may have arrived while this request was out.
  for (const incident of page.items || []) incidents.set(incident.id, incident);
  const time = (id) => new Date(incidents.get(id).alert_at).getTime();
  order = [...incidents.keys()].sort((a, b) => time(b) - time(a)).slice(0, MAX_CARDS);
  for (const id of [...incidents.keys()]) if (!order.includes(id)) incidents.delete(id);
  renderAlerts();
}

function onLive(message) {
  if (message.type === "incident.opened" && message.incident) {
    const isNew = !incidents.has(message.incident.id);
    addIncident(message.incident, true);
    if (isNew) flash("alert");
  } else if (message.type === "incident.updated" && message.incident) {
    if (incidents.has(message.incident.id)) addIncident(message.incident, false);
  } else if (message.type === "camera.status" && message.camera) {
    updateCamera(message.camera, true);
    renderCameras();
  }
}

function setLiveState(state) {
  $("#live-status").dataset.state = state;
  const label = $("#live-label");
  label.dataset.i18n = `live.${state}`;
  label.textContent = t(`live.${state}`);
  // Catch up on anything missed while the connection was down.
  if (state === "live") loadAlerts().catch(() => {});
}

function tick() {
  $("#wall-clock").textContent = clock(new Date());
  for (const node of document.querySelectorAll(".age[data-at]")) {
    node.textContent = ago(node.dataset.at || null);
  }
}

function setupSound() {
  const button = $("#sound-toggle");
  const refresh = () => {
    const key = soundReady() ? "wall.soundOn" : "wall.enableSound";
    button.dataset.i18n = key;
    button.textContent = t(key);
    button.classList.toggle("on", soundReady());
  };
  button.addEventListener("click", async () => {
    await unlock();
    refresh();
    beep("alert");
  });
  // Any click or key on the wall also unlocks audio.
  const unlockOnce = async () => {
    await unlock();
    refresh();
  };
  document.addEventListener("pointerdown", unlockOnce, { once: true });
  document.addEventListener("keydown", unlockOnce, { once: true });
  unlock().then(refresh).catch(refresh);
}

async function main() {
  user = await startPage("wall");
  setupSound();
  onLanguageChange(() => {
    renderAlerts();
    renderCameras();
    tick();
  });
  await Promise.all([loadAlerts().catch(() => renderAlerts()), loadCameras(false)]);
  connectLive(onLive, setLiveState);
  setInterval(() => loadCameras(true), CAMERA_POLL_MS);
  setInterval(tick, 1000);
  tick();
}

main();
