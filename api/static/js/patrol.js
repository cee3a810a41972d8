// Patrol queue (phone first): the team's dispatched and acknowledged incidents, most
// urgent first; Acknowledge on arrival, Resolve with a note and an optional photo.
import { api, enc, request, withQuery } from "./api.js";
import { startPage, toast } from "./app.js";
import { $, clear, el } from "./dom.js";
import {
  SEVERITY_RANK,
  ago,
  alertPicture,
  severityLabel,
  statusLabel,
  typeLabel,
} from "./format.js";
import { onLanguageChange, t } from "./i18n.js";
import { connectLive } from "./live.js";

const STATUSES = ["dispatched", "acknowledged"];
const MAX_PHOTO = 5 * 1024 * 1024;
const POLL_MS = 30000;

let team = "";
let items = [];
let openResolve = null; // id of the card whose resolve form is open

function priority(a, b) {
  // The server's priority weighs severity, repeats and age (pipeline/store/priority.py).
  const score = (b.priority || 0) - (a.priority || 0);
  if (score) return score;
  const rank = (SEVERITY_RANK[b.severity] || 0) - (SEVERITY_RANK[a.severity] || 0);
  if (rank) return rank;
  return new Date(a.alert_at).getTime() - new Date(b.alert_at).getTime(); // older first
}

async function submitReport(event) {
  event.preventDefault();
  const form = $("#report-form");
  const body = new FormData(form);
  const photo = $("#report-photo").files[0];
  if (!photo) body.delete("photo");
  else if (photo.size > MAX_PHOTO) {
    toast(t("patrol.photoTooBig"), "error");
    return;
  }
  try {
    await request("POST", "/api/incidents/report", body);
    form.reset();
    $("#report-box").open = false;
    toast(t("report.sent"), "ok", 3000);
  } catch (err) {
    toast(err.message || t("error.network"), "error");
  }
}

async function load() {
  if (!team) {
    items = [];
    render();
    return;
  }
  const pages = await Promise.all(
    STATUSES.map((status) =>
      api.get(withQuery("/api/incidents", { team, status, limit: 200 })),
    ),
  );
  const seen = new Set();
  items = [];
  for (const page of pages) {
    for (const incident of page.items || []) {
      if (!seen.has(incident.id)) {
        seen.add(incident.id);
        items.push(incident);
      }
    }
  }
  items.sort(priority);
  render();
}

function resolveForm(incident) {
  const note = el("textarea", {
    id: `note-${incident.id}`,
    class: "resolve-note",
    name: "note",
    rows: "3",
    required: true,
    placeholder: t("patrol.notePlaceholder"),
  });
  const photo = el("input", {
    type: "file",
    name: "photo",
    class: "resolve-photo",
    accept: "image/*",
    capture: "environment",
  });
  const error = el("p", { class: "form-error", role: "alert", hidden: true });
  const submit = el("button", { type: "submit", class: "btn btn-ok btn-block", text: t("patrol.resolveSubmit") });
  const cancel = el("button", { type: "button", class: "btn btn-ghost btn-block", text: t("common.cancel") });
  const form = el(
    "form",
    { class: "resolve-form" },
    el("label", { class: "field" }, el("span", { text: t("patrol.note") }), note),
    el("label", { class: "field" }, el("span", { text: t("patrol.photo") }), photo),
    error,
    el("div", { class: "button-row" }, cancel, submit),
  );
  cancel.addEventListener("click", () => {
    openResolve = null;
    render();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const text = note.value.trim();
    if (!text) {
      error.textContent = t("patrol.noteRequired");
      error.hidden = false;
      note.focus();
      return;
    }
    const file = photo.files && photo.files[0];
    if (file && file.size > MAX_PHOTO) {
      error.textContent = t("patrol.photoTooBig");
      error.hidden = false;
      return;
    }
    const body = new FormData();
    body.append("note", text);
    if (file) body.append("photo", file, file.name);
    submit.disabled = true;
    try {
      await request("POST", `/api/incidents/${enc(incident.id)}/resolve`, body);
      toast(t("patrol.resolved"), "ok");
      openResolve = null;
      items = items.filter((i) => i.id !== incident.id);
      render();
    } catch (err) {
      error.textContent = err.status === 409 ? t("error.conflict") : err.message;
      error.hidden = false;
      submit.disabled = false;
    }
  });
  return form;
}

async function acknowledge(incident, button) {
  button.disabled = true;
  try {
    const updated = await api.post(`/api/incidents/${enc(incident.id)}/acknowledge`, {});
    toast(t("patrol.acknowledged"), "ok", 2500);
    replace(updated);
  } catch (err) {
    toast(err.status === 409 ? t("error.conflict") : err.message, "error");
    button.disabled = false;
    if (err.status === 409) load().catch(() => {});
  }
}

function replace(incident) {
  const index = items.findIndex((i) => i.id === incident.id);
  if (!STATUSES.includes(incident.status) || (incident.team && incident.team !== team)) {
    if (index >= 0) items.splice(index, 1);
  } else if (index >= 0) items[index] = { ...items[index], ...incident };
  else items.push(incident);
  items.sort(priority);
  render();
}

function card(incident) {
  const picture = alertPicture(incident);
  const actions = el("div", { class: "button-row" });
  if (incident.status === "dispatched") {
    const ack = el("button", { type: "button", class: "btn btn-primary btn-block act-ack", text: t("patrol.acknowledge") });
    ack.addEventListener("click", () => acknowledge(incident, ack));
    actions.append(ack);
  }
  const resolve = el("button", {
    type: "button",
    class: `btn btn-block act-resolve ${incident.status === "acknowledged" ? "btn-ok" : ""}`,
    text: t("patrol.resolve"),
  });
  resolve.addEventListener("click", () => {
    openResolve = incident.id;
    render();
    const note = document.getElementById(`note-${incident.id}`);
    if (note) note.focus();
  });
  actions.append(resolve);

  return el(
    "li",
    { class: `patrol-card sev-${incident.severity}`, dataset: { id: incident.id, status: incident.status } },
    picture
      ? el("img", { class: "patrol-picture", src: picture, alt: t("wall.alertPicture"), loading: "lazy" })
      : el("div", { class: "no-picture patrol-picture", text: t("common.noPicture") }),
    el(
      "div",
      { class: "patrol-body" },
      el(
        "div",
        { class: "chips" },
        el("span", { class: `chip sev sev-${incident.severity}`, text: severityLabel(incident.severity) }),
        el("span", { class: `chip status status-${incident.status}`, text: statusLabel(incident.status) }),
        incident.repeat_count
          ? el("span", { class: "chip repeat", text: t("common.repeatCount", { n: incident.repeat_count }) })
          : null,
      ),
      el("div", { class: "patrol-type", text: typeLabel(incident.type) }),
      el("div", { class: "patrol-place", text: `${incident.camera} · ${incident.zone}` }),
      el("div", { class: "muted", text: t("patrol.age", { age: ago(incident.alert_at) }) }),
      openResolve === incident.id ? resolveForm(incident) : actions,
    ),
  );
}

function render() {
  const list = $("#patrol-list");
  // Keep a half-typed note when the list re-renders under it.
  const typing = openResolve ? document.getElementById(`note-${openResolve}`) : null;
  const draft = typing ? typing.value : "";
  clear(list);
  for (const incident of items) list.append(card(incident));
  if (draft) {
    const again = document.getElementById(`note-${openResolve}`);
    if (again) again.value = draft;
  }
  $("#patrol-empty").hidden = items.length > 0 || !team;
  $("#patrol-team").textContent = team ? t("patrol.team", { team }) : t("patrol.noTeam");
  $("#patrol-count").textContent = t("patrol.count", { n: items.length });
}

async function setupTeamPicker(user) {
  if (user.team) {
    team = user.team;
    return;
  }
  // Supervisors and admins have no team of their own: let them look at any team's queue.
  const teams = await api.get("/api/teams").catch(() => []);
  const select = $("#team-select");
  for (const item of teams) select.append(el("option", { value: item.name, text: item.name }));
  $("#team-pick").hidden = false;
  const saved = sessionStorage.getItem("sw.patrolTeam");
  team = teams.some((x) => x.name === saved) ? saved : teams[0] ? teams[0].name : "";
  select.value = team;
  select.addEventListener("change", () => {
    team = select.value;
    sessionStorage.setItem("sw.patrolTeam", team);
    load().catch(() => {});
  });
}

function onLive(message) {
  const incident = message.incident;
  if (!incident || (message.type !== "incident.updated" && message.type !== "incident.opened")) {
    return;
  }
  if (incident.team === team || items.some((i) => i.id === incident.id)) replace(incident);
}

async function main() {
  const user = await startPage("patrol");
  await setupTeamPicker(user);
  $("#refresh").addEventListener("click", () => load().catch((err) => toast(err.message, "error")));
  $("#report-form").addEventListener("submit", submitReport);
  onLanguageChange(render);
  await load().catch(() => render());
  connectLive(onLive);
  setInterval(() => {
    if (!openResolve) load().catch(() => {});
  }, POLL_MS);
}

main();
