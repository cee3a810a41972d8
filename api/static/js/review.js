// Operator review: queue on the left, the selected incident with clip, pictures and
// details on the right. Keys: C confirm, D dismiss (reason form), N next, P previous.
import { api, enc, withQuery } from "./api.js";
import { startPage, toast } from "./app.js";
import { $, clear, el, typingInField } from "./dom.js";
import {
  ago,
  clock,
  dateTime,
  duration,
  evidenceUrl,
  number,
  presenceLabel,
  severityLabel,
  statusLabel,
  typeLabel,
} from "./format.js";
import { onLanguageChange, t } from "./i18n.js";
import { connectLive } from "./live.js";

const PAGE_SIZE = 50;

const state = {
  tab: "new",
  queue: [], // incidents of the current tab, in display order
  cursor: null,
  selected: null, // incident detail
  busy: false,
  teams: [],
  after: null, // id of the queue item that followed the selected one when it left the queue
};
const detailCache = new Map(); // id -> Promise<detail>

// ---------- data ----------

function fetchDetail(id, fresh = false) {
  if (fresh || !detailCache.has(id)) {
    const promise = api.get(`/api/incidents/${enc(id)}`);
    promise.catch(() => detailCache.delete(id));
    detailCache.set(id, promise);
  }
  return detailCache.get(id);
}

function prefetchImages(detail) {
  for (const kind of ["first_seen", "alert_annotated"]) {
    const url = evidenceUrl(detail, kind);
    if (url) {
      const img = new Image();
      img.decoding = "async";
      img.src = url;
    }
  }
}

function prefetchNext() {
  const next = neighbour(1);
  if (!next) return;
  fetchDetail(next.id).then(prefetchImages).catch(() => {});
}

async function loadQueue(more = false) {
  const page = await api.get(
    withQuery("/api/incidents", {
      status: state.tab,
      // Spots suppressed as street furniture or permitted stalls stay out of the review
      // queue unless asked for; they are still stored and counted.
      suppressed: state.tab === "new" && !$("#show-suppressed").checked ? "false" : null,
      limit: PAGE_SIZE,
      cursor: more ? state.cursor : null,
    }),
  );
  const items = page.items || [];
  state.queue = more ? state.queue.concat(items) : items;
  state.cursor = page.next_cursor || null;
  renderQueue();
}

async function loadTeams() {
  try {
    state.teams = await api.get("/api/teams");
  } catch {
    state.teams = [];
  }
}

// ---------- queue ----------

function queueItem(incident) {
  const selected = state.selected && state.selected.id === incident.id;
  const item = el(
    "li",
    {
      class: `queue-item sev-${incident.severity}${selected ? " selected" : ""}`,
      dataset: { id: incident.id },
      tabindex: "0",
      "aria-current": selected ? "true" : null,
    },
    el(
      "div",
      { class: "queue-line" },
      el("span", { class: "queue-type", text: typeLabel(incident.type) }),
      el("span", { class: `chip sev sev-${incident.severity}`, text: severityLabel(incident.severity) }),
    ),
    el(
      "div",
      { class: "queue-line muted" },
      el("span", { class: "queue-place", text: `${incident.camera} · ${incident.zone}` }),
      el("span", { class: "queue-age", text: ago(incident.alert_at) }),
    ),
  );
  item.addEventListener("click", () => select(incident.id));
  item.addEventListener("keydown", (event) => {
    if (event.key === "Enter") select(incident.id);
  });
  return item;
}

function renderQueue() {
  const list = $("#queue-list");
  clear(list);
  for (const incident of state.queue) list.append(queueItem(incident));
  $("#queue-count").textContent = String(state.queue.length) + (state.cursor ? "+" : "");
  $("#queue-empty").hidden = state.queue.length > 0;
  $("#queue-more").hidden = !state.cursor;
}

function markSelectedInQueue() {
  for (const node of document.querySelectorAll(".queue-item")) {
    const on = Boolean(state.selected && node.dataset.id === state.selected.id);
    node.classList.toggle("selected", on);
    if (on) {
      node.setAttribute("aria-current", "true");
      node.scrollIntoView({ block: "nearest" });
    } else node.removeAttribute("aria-current");
  }
}

function indexOfSelected() {
  if (!state.selected) return -1;
  return state.queue.findIndex((i) => i.id === state.selected.id);
}

/** The queue item `step` places from the selected one (or the first). */
function neighbour(step) {
  if (!state.queue.length) return null;
  let index = indexOfSelected();
  if (index < 0) {
    // The selected incident has left the queue (decided): continue where it was.
    const at = state.queue.findIndex((i) => i.id === state.after);
    if (at < 0) return state.queue[0] || null;
    index = at - (step > 0 ? 1 : 0);
  }
  return state.queue[index + step] || null;
}

function dropFromQueue(id) {
  const index = state.queue.findIndex((i) => i.id === id);
  if (index >= 0) {
    if (state.selected && state.selected.id === id) {
      const next = state.queue[index + 1] || state.queue[index - 1];
      state.after = next ? next.id : null;
    }
    state.queue.splice(index, 1);
  }
  const node = document.querySelector(`.queue-item[data-id="${CSS.escape(id)}"]`);
  if (node) node.remove();
  $("#queue-count").textContent = String(state.queue.length) + (state.cursor ? "+" : "");
  $("#queue-empty").hidden = state.queue.length > 0;
}

// ---------- detail ----------

function fact(label, value) {
  return [el("dt", { text: label }), el("dd", { text: value === "" ? "—" : value })];
}

function renderDetail() {
  const d = state.selected;
  $("#detail-empty").hidden = Boolean(d);
  $("#detail-body").hidden = !d;
  if (!d) return;

  $("#d-title").textContent = `${typeLabel(d.type)} · ${d.camera} / ${d.zone}`;
  $("#d-sub").textContent = `${dateTime(d.alert_at)} (${ago(d.alert_at)})`;

  const chips = clear($("#d-chips"));
  chips.append(
    ...[
    el("span", { class: `chip sev sev-${d.severity}`, text: severityLabel(d.severity) }),
    el("span", { class: `chip status status-${d.status}`, id: "d-status", dataset: { status: d.status }, text: statusLabel(d.status) }),
    el("span", { class: `chip presence presence-${d.presence}`, text: presenceLabel(d.presence) }),
    d.repeat_count
      ? el("span", { class: "chip repeat", text: t("common.repeatCount", { n: d.repeat_count }) })
      : null,
    d.suppressed ? el("span", { class: "chip suppressed", text: t("review.suppressedChip") }) : null,
    d.source === "reported" ? el("span", { class: "chip reported", text: t("review.reportedChip") }) : null,
    ].filter(Boolean),
  );

  // Evidence.
  const video = $("#d-video");
  const clip = evidenceUrl(d, "clip");
  $("#d-video-missing").hidden = Boolean(clip);
  video.hidden = !clip;
  if (clip && video.getAttribute("src") !== clip) {
    video.src = clip;
    video.play().catch(() => {});
  } else if (!clip) {
    video.removeAttribute("src");
    video.load();
  }
  setPicture($("#d-first"), evidenceUrl(d, "first_seen"), t("evidence.first_seen"));
  setPicture(
    $("#d-alert"),
    evidenceUrl(d, "alert_annotated") || evidenceUrl(d, "alert_clean"),
    t("evidence.alert_annotated"),
  );
  const after = evidenceUrl(d, "after");
  $("#d-after-figure").hidden = !after;
  if (after) setPicture($("#d-after"), after, t("evidence.after"));

  // Facts.
  const facts = clear($("#d-facts"));
  const dwell = Number(d.alert_s) - Number(d.first_seen_s);
  facts.append(
    ...fact(t("field.camera"), d.camera),
    ...fact(t("field.zone"), d.zone),
    ...fact(t("field.type"), typeLabel(d.type)),
    ...fact(t("field.firstSeen"), dateTime(d.first_seen_at)),
    ...fact(t("field.alertAt"), dateTime(d.alert_at)),
    ...fact(t("field.lastSeen"), dateTime(d.last_seen_at)),
    ...fact(t("field.dwell"), Number.isFinite(dwell) ? duration(dwell) : "—"),
    ...fact(t("field.confidence"), number((d.confidence || 0) * 100, 0) + " %"),
    ...fact(t("field.objects"), (d.object_classes || []).join(", ")),
    ...fact(t("field.team"), d.team || "—"),
    ...fact(t("field.repeatOf"), d.repeat_of || "—"),
    ...fact(t("field.id"), d.id),
  );
  // Evidence hashes, so a printout can be checked against the files.
  const hashes = clear($("#d-hashes"));
  for (const item of d.evidence || []) {
    if (!item.sha256) continue;
    const key = `evidence.${item.kind}`;
    hashes.append(
      el("dt", { text: t(key) === key ? item.kind : t(key) }),
      el("dd", { class: "hash", title: item.sha256, text: `${item.sha256.slice(0, 16)}…` }),
    );
  }

  // History: workflow steps in full; evidence viewings folded into one line.
  const audit = clear($("#d-audit"));
  const entries = d.audit || [];
  const views = entries.filter((e) => e.action === "evidence.view");
  for (const entry of entries) {
    if (entry.action === "evidence.view") continue;
    audit.append(auditLine(entry));
  }
  if (views.length) {
    const lastView = views[views.length - 1];
    audit.append(
      el(
        "li",
        { class: "muted" },
        t("review.viewed", { n: views.length, who: lastView.actor, time: clock(lastView.at) }),
      ),
    );
  }
  if (!entries.length) audit.append(el("li", { class: "muted", text: t("review.noHistory") }));

  renderActions();
}

function auditLine(entry) {
  const key = `audit.${entry.action}`;
  const label = t(key) === key ? entry.action : t(key);
  const detail = entry.detail || {};
  const bits = [];
  if (detail.to) bits.push(statusLabel(detail.to));
  if (detail.team) bits.push(detail.team);
  if (detail.review_reason) {
    const reasonKey = `reason.${detail.review_reason}`;
    bits.push(t(reasonKey) === reasonKey ? detail.review_reason : t(reasonKey));
  }
  for (const name of ["review_note", "resolution_note"]) if (detail[name]) bits.push(`“${detail[name]}”`);
  return el(
    "li",
    null,
    el("time", { datetime: entry.at, text: clock(entry.at) }),
    " ",
    el("strong", { text: entry.actor || "—" }),
    " ",
    el("span", { text: label }),
    bits.length ? el("span", { class: "muted", text: ` — ${bits.join(" · ")}` }) : null,
  );
}

function setPicture(img, url, label) {
  img.alt = label;
  if (url) {
    if (img.getAttribute("src") !== url) img.src = url;
    img.hidden = false;
  } else {
    img.removeAttribute("src");
    img.hidden = true;
  }
}

function teamFor(detail) {
  if (detail.team) return detail.team;
  const match = state.teams.find((team) =>
    (team.zones || []).some((z) => z.camera === detail.camera && z.zone === detail.zone),
  );
  return match ? match.name : "";
}

function renderActions() {
  const d = state.selected;
  const isNew = d.status === "new";
  $("#btn-confirm").hidden = !isNew;
  $("#btn-dismiss").hidden = !isNew;
  $("#btn-confirm").disabled = state.busy;
  $("#btn-dismiss").disabled = state.busy;
  $("#btn-next").disabled = state.busy;
  if (!isNew) hideForm("#dismiss-form");

  $("#btn-suppress").hidden = d.suppressed || d.source === "reported" || !["new", "dismissed"].includes(d.status);
  if ($("#btn-suppress").hidden) hideForm("#suppress-form");
  const dispatch = $("#dispatch-form");
  if (d.status !== "confirmed" && d.status !== "reopened") hideForm("#dispatch-form");
  else dispatch.hidden = false;
  if (!dispatch.hidden) {
    const select = $("#dispatch-team");
    const keep = select.value;
    clear(select);
    select.append(el("option", { value: "", text: t("review.pickTeam") }));
    // Only teams whose area holds the zone can take it (the server refuses the others).
    const covering = state.teams.filter((team) =>
      (team.zones || []).some((z) => z.camera === d.camera && z.zone === d.zone),
    );
    for (const team of covering.length ? covering : state.teams) {
      select.append(el("option", { value: team.name, text: team.name }));
    }
    select.value = keep && d.id === select.dataset.for ? keep : teamFor(d);
    select.dataset.for = d.id;
  }
  const stateText = $("#action-state");
  stateText.textContent = isNew ? "" : t("review.alreadyStatus", { status: statusLabel(d.status) });
}

/** Hides an inline form; focus inside it goes back to the page so shortcuts work again. */
function hideForm(selector) {
  const form = $(selector);
  if (form.contains(document.activeElement)) document.activeElement.blur();
  form.hidden = true;
}

function showError(err) {
  const box = $("#action-error");
  if (!err) {
    box.hidden = true;
    return;
  }
  box.textContent =
    err.status === 409 ? t("error.conflict") : err.message || t("error.network");
  box.hidden = false;
}

async function select(id, { fresh = false } = {}) {
  showError(null);
  hideForm("#dismiss-form");
  try {
    const detail = await fetchDetail(id, fresh);
    state.selected = detail;
  } catch (err) {
    toast(err.message || t("error.network"), "error");
    return;
  }
  const url = new URL(location.href);
  url.searchParams.set("id", id);
  history.replaceState(null, "", url);
  renderDetail();
  markSelectedInQueue();
  prefetchNext();
}

function goNext(step = 1) {
  const target = neighbour(step);
  if (target) select(target.id);
  else if (step > 0) {
    state.selected = null;
    renderDetail();
    markSelectedInQueue();
  }
}

// ---------- actions ----------

async function act(path, body, after) {
  if (state.busy || !state.selected) return;
  state.busy = true;
  renderActions();
  showError(null);
  const id = state.selected.id;
  try {
    const updated = await api.post(`/api/incidents/${enc(id)}/${path}`, body);
    detailCache.set(id, Promise.resolve(updated));
    state.busy = false;
    after(updated);
  } catch (err) {
    state.busy = false;
    showError(err);
    if (err.status === 409) {
      // Someone else changed it: show the current state.
      fetchDetail(id, true)
        .then((detail) => {
          if (state.selected && state.selected.id === id) {
            state.selected = detail;
            renderDetail();
          }
        })
        .catch(() => {});
    }
    if (state.selected) renderActions();
  }
}

function confirmSelected() {
  if (!state.selected || state.selected.status !== "new") return;
  const nextUp = neighbour(1);
  act("review", { decision: "confirm" }, (updated) => {
    toast(t("review.confirmed"), "ok", 2500);
    if (state.tab === "new") dropFromQueue(updated.id);
    state.selected = updated;
    renderDetail();
    if (nextUp) fetchDetail(nextUp.id).then(prefetchImages).catch(() => {});
    $("#dispatch-team").focus();
  });
}

function submitSuppress() {
  const reason = $("#suppress-reason").value.trim();
  if (!reason || !state.selected) return;
  const id = state.selected.id;
  act("suppress-spot", { reason }, () => {
    hideForm("#suppress-form");
    $("#suppress-reason").value = "";
    toast(t("review.suppressed"), "ok", 2500);
    detailCache.delete(id);
    if (state.tab === "new" && !$("#show-suppressed").checked) {
      // Everything at that spot leaves the queue, not just this incident.
      loadQueue().then(() => goNext(1)).catch(() => {});
    } else {
      fetchDetail(id, true).then((detail) => {
        state.selected = detail;
        renderDetail();
      }).catch(() => {});
    }
  });
}

function openDismiss() {
  if (!state.selected || state.selected.status !== "new") return;
  const form = $("#dismiss-form");
  form.hidden = false;
  $("#dismiss-reason").focus();
}

function submitDismiss() {
  const reason = $("#dismiss-reason").value;
  const note = $("#dismiss-note").value.trim();
  const nextUp = neighbour(1);
  act("review", { decision: "dismiss", reason, note: note || null }, (updated) => {
    hideForm("#dismiss-form");
    $("#dismiss-note").value = "";
    toast(t("review.dismissed"), "ok", 2500);
    dropFromQueue(updated.id);
    if (nextUp) select(nextUp.id);
    else {
      state.selected = updated;
      renderDetail();
    }
  });
}

function submitDispatch() {
  const team = $("#dispatch-team").value;
  if (!team) {
    showError({ message: t("review.pickTeam") });
    return;
  }
  const nextUp = neighbour(1);
  act("dispatch", { team }, (updated) => {
    toast(t("review.dispatched", { team }), "ok", 2500);
    dropFromQueue(updated.id);
    if (nextUp && nextUp.id !== updated.id) select(nextUp.id);
    else {
      state.selected = updated;
      renderDetail();
    }
  });
}

// ---------- wiring ----------

function setupKeys() {
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      hideForm("#dismiss-form");
      return;
    }
    if (typingInField(event)) return;
    const key = event.key.toLowerCase();
    if (key === "c") {
      event.preventDefault();
      confirmSelected();
    } else if (key === "d") {
      event.preventDefault();
      openDismiss();
    } else if (key === "n" || key === "j") {
      event.preventDefault();
      goNext(1);
    } else if (key === "p" || key === "k") {
      event.preventDefault();
      goNext(-1);
    }
  });
  // Enter in the reason select submits too (a select does not submit a form by itself).
  $("#dismiss-reason").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      submitDismiss();
    }
  });
  $("#dispatch-team").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      submitDispatch();
    } else if (event.key.toLowerCase() === "n" && !event.ctrlKey && !event.metaKey) {
      // Leave it for later: it stays in the "To dispatch" list.
      event.preventDefault();
      goNext(1);
    }
  });
}

function setupButtons() {
  $("#btn-confirm").addEventListener("click", confirmSelected);
  $("#btn-dismiss").addEventListener("click", openDismiss);
  $("#btn-next").addEventListener("click", () => goNext(1));
  $("#dismiss-cancel").addEventListener("click", () => {
    hideForm("#dismiss-form");
  });
  $("#dismiss-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitDismiss();
  });
  $("#dispatch-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitDispatch();
  });
  $("#btn-suppress").addEventListener("click", () => {
    $("#suppress-form").hidden = false;
    $("#suppress-reason").focus();
  });
  $("#suppress-cancel").addEventListener("click", () => hideForm("#suppress-form"));
  $("#suppress-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitSuppress();
  });
  $("#show-suppressed").addEventListener("change", async () => {
    await loadQueue().catch(() => {});
    markSelectedInQueue();
  });
  $("#queue-more").addEventListener("click", () => loadQueue(true).catch(() => {}));
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", async () => {
      state.tab = tab.dataset.status;
      for (const other of document.querySelectorAll(".tab")) {
        other.classList.toggle("active", other === tab);
        other.setAttribute("aria-selected", String(other === tab));
      }
      await loadQueue().catch(() => {});
      if (!state.selected || state.selected.status !== state.tab) goNext(1);
      else markSelectedInQueue();
    });
  }
}

function onLive(message) {
  const incident = message.incident;
  if (!incident) return;
  if (message.type === "incident.opened" && state.tab === "new" && incident.status === "new") {
    if (!state.queue.some((i) => i.id === incident.id)) {
      state.queue.unshift(incident);
      renderQueue();
      markSelectedInQueue();
      if (!state.selected) select(incident.id);
    }
  } else if (message.type === "incident.updated") {
    detailCache.delete(incident.id);
    const queued = state.queue.find((i) => i.id === incident.id);
    if (queued && incident.status !== state.tab) dropFromQueue(incident.id);
    if (state.selected && state.selected.id === incident.id && !state.busy) {
      fetchDetail(incident.id, true)
        .then((detail) => {
          if (state.selected && state.selected.id === detail.id) {
            state.selected = detail;
            renderDetail();
          }
        })
        .catch(() => {});
    }
  }
}

async function main() {
  await startPage("review");
  setupButtons();
  setupKeys();
  onLanguageChange(() => {
    renderQueue();
    markSelectedInQueue();
    if (state.selected) renderDetail();
  });
  await Promise.all([loadQueue().catch(() => renderQueue()), loadTeams()]);
  const wanted = new URLSearchParams(location.search).get("id");
  if (wanted) await select(wanted);
  else goNext(1);
  let connectedBefore = false;
  connectLive(onLive, (status) => {
    if (status !== "live") return;
    // After a reconnect, catch up on what arrived while the connection was down.
    if (connectedBefore) {
      loadQueue()
        .then(markSelectedInQueue)
        .catch(() => {});
    }
    connectedBefore = true;
  });
}

main();
