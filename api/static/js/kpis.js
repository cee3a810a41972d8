// Dashboard part for supervisors: KPI tables (by team, by zone, total), the hot-spot /
// repeat-offender ledger, and links to the exports and monthly reports of the chosen period.
import { api, withQuery } from "./api.js";
import { $, clear, el } from "./dom.js";
import { dateTime, duration, number } from "./format.js";
import { locale, onLanguageChange, t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const UNASSIGNED = "(unassigned)";
const LEDGER_MIN = 2;
const LEDGER_LIMIT = 20;

let data = null; // {period, team, zone, all, ledger}

/** [start, end) of "week" | "month" | "lastMonth" in the browser's local time. */
export function periodRange(kind, now = new Date()) {
  if (kind === "week") {
    const start = new Date(now.getFullYear(), now.getMonth(), now.getDate());
    start.setDate(start.getDate() - ((start.getDay() + 6) % 7)); // back to Monday
    const end = new Date(start);
    end.setDate(start.getDate() + 7);
    return { start, end };
  }
  const shift = kind === "lastMonth" ? -1 : 0;
  const start = new Date(now.getFullYear(), now.getMonth() + shift, 1);
  const end = new Date(now.getFullYear(), now.getMonth() + shift + 1, 1);
  return { start, end };
}

function monthOf(date) {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}`;
}

function percent(value) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 0 }).format(
    value,
  );
}

function times(median, p90) {
  return `${duration(median)} / ${duration(p90)}`;
}

const COLUMNS = [
  ["discovered", (r) => number(r.discovered)],
  ["reported", (r) => number(r.reported)],
  ["confirmed", (r) => number(r.confirmed)],
  ["dismissed", (r) => number(r.dismissed)],
  ["precision", (r) => percent(r.review_precision)],
  ["resolved", (r) => number(r.resolved)],
  ["disposal", (r) => percent(r.disposal_rate)],
  ["rectified", (r) => number(r.rectified)],
  ["rectification", (r) => percent(r.rectification_rate)],
  ["review", (r) => times(r.review_median_s, r.review_p90_s)],
  ["dispatch", (r) => times(r.dispatch_median_s, r.dispatch_p90_s)],
  ["resolve", (r) => times(r.resolve_median_s, r.resolve_p90_s)],
];

function kpiCells(tag, row, label) {
  return el(
    "tr",
    { dataset: { group: row.group } },
    el(tag, { class: "group", scope: tag === "th" ? "row" : null, text: label }),
    COLUMNS.map(([key, cell]) => el("td", { class: `num col-${key}`, text: cell(row) })),
  );
}

function kpiTable(table, rows, total, groupKey) {
  clear(table);
  table.append(
    el(
      "thead",
      null,
      el(
        "tr",
        null,
        el("th", { scope: "col", text: t(groupKey) }),
        COLUMNS.map(([key]) => el("th", { scope: "col", class: "num", text: t(`kpi.col.${key}`) })),
      ),
    ),
  );
  const body = el("tbody");
  for (const row of rows) {
    body.append(kpiCells("th", row, row.group === UNASSIGNED ? t("kpi.unassigned") : row.group));
  }
  if (!rows.length) {
    body.append(el("tr", null, el("td", { colspan: COLUMNS.length + 1, class: "empty", text: t("kpi.noData") })));
  }
  table.append(body);
  if (total) table.append(el("tfoot", null, kpiCells("th", total, t("kpi.total"))));
}

/** Small bar chart: one bar per value, labels as tooltips (and for screen readers). */
function miniBars(values, labels, className) {
  const max = Math.max(...values, 1);
  const barW = 8;
  const gap = 2;
  const height = 28;
  const width = values.length * (barW + gap);
  const summary = values.map((v, i) => `${labels[i]}: ${v}`).join(", ");
  const chart = document.createElementNS(SVG, "svg");
  for (const [key, value] of Object.entries({
    class: `mini-bars ${className}`,
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": summary,
  })) {
    chart.setAttribute(key, String(value));
  }
  values.forEach((value, i) => {
    const h = value ? Math.max(2, (value / max) * (height - 2)) : 1;
    const bar = document.createElementNS(SVG, "rect");
    bar.setAttribute("x", String(i * (barW + gap)));
    bar.setAttribute("y", String(height - h));
    bar.setAttribute("width", String(barW));
    bar.setAttribute("height", String(h));
    bar.setAttribute("class", value ? "bar" : "bar zero");
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${labels[i]}: ${value}`;
    bar.append(title);
    chart.append(bar);
  });
  return chart;
}

function hourLabel(hour) {
  return `${String(hour).padStart(2, "0")}:00`;
}

function peak(spot) {
  const days = WEEKDAYS.map((day) => spot.by_weekday[day] || 0);
  const day = WEEKDAYS[days.indexOf(Math.max(...days))];
  const hour = spot.by_hour.indexOf(Math.max(...spot.by_hour));
  return t("ledger.peakAt", {
    day: t(`weekday.${day}`),
    from: hourLabel(hour),
    to: hourLabel((hour + 1) % 24),
  });
}

function ledgerTable(table, spots) {
  clear(table);
  const heads = ["spot", "violations", "repeats", "afterRectified", "weekdays", "hours", "peak", "last"];
  table.append(
    el("thead", null, el("tr", null, heads.map((key) => el("th", { scope: "col", text: t(`ledger.col.${key}`) })))),
  );
  const body = el("tbody");
  const dayNames = WEEKDAYS.map((day) => t(`weekday.${day}`));
  const hourNames = Array.from({ length: 24 }, (_, h) => hourLabel(h));
  for (const spot of spots) {
    body.append(
      el(
        "tr",
        { class: "spot-row", dataset: { camera: spot.camera, zone: spot.zone } },
        el("th", { scope: "row", class: "group", text: `${spot.camera} / ${spot.zone}` }),
        el("td", { class: "num", text: number(spot.violations) }),
        el("td", { class: "num", text: number(spot.repeats) }),
        el("td", { class: "num", text: number(spot.after_rectification) }),
        el("td", null, miniBars(WEEKDAYS.map((d) => spot.by_weekday[d] || 0), dayNames, "days")),
        el("td", null, miniBars(spot.by_hour, hourNames, "hours")),
        el("td", { text: peak(spot) }),
        el("td", { text: dateTime(spot.last_at) }),
      ),
    );
  }
  if (!spots.length) {
    body.append(el("tr", null, el("td", { colspan: heads.length, class: "empty", text: t("ledger.none") })));
  }
  table.append(body);
}

function renderLinks(period) {
  const range = { start: period.start.toISOString(), end: period.end.toISOString() };
  $("#export-csv").href = withQuery("/api/export/incidents.csv", range);
  $("#export-geojson").href = withQuery("/api/export/incidents.geojson", range);
  const month = monthOf(period.start);
  const report = (variant) => withQuery("/api/reports/monthly.pdf", { month, variant });
  $("#report-internal").href = report("internal");
  $("#report-public").href = report("public");
  $("#report-internal").textContent = t("kpi.reportInternal", { month });
  $("#report-public").textContent = t("kpi.reportPublic", { month });
}

function render() {
  if (!data) return;
  const fmt = new Intl.DateTimeFormat(locale(), { dateStyle: "medium" });
  const last = new Date(data.period.end.getTime() - 1);
  $("#kpi-range").textContent = t("kpi.range", {
    from: fmt.format(data.period.start),
    to: fmt.format(last),
  });
  kpiTable($("#kpi-team"), data.team.rows, null, "kpi.col.team");
  kpiTable($("#kpi-zone"), data.zone.rows, data.all.rows[0], "kpi.col.zone");
  ledgerTable($("#ledger-table"), data.ledger.spots);
  renderLinks(data.period);
}

async function load() {
  const period = periodRange($("#kpi-period").value);
  const source = $("#kpi-source").value;
  const range = { start: period.start.toISOString(), end: period.end.toISOString() };
  const error = $("#kpi-error");
  error.hidden = true;
  renderLinks(period);
  try {
    const [team, zone, all, ledger] = await Promise.all([
      api.get(withQuery("/api/kpis", { ...range, by: "team", source })),
      api.get(withQuery("/api/kpis", { ...range, by: "zone", source })),
      api.get(withQuery("/api/kpis", { ...range, by: "all", source })),
      api.get(withQuery("/api/ledger", { ...range, min_violations: LEDGER_MIN, limit: LEDGER_LIMIT })),
    ]);
    data = { period, team, zone, all, ledger };
    render();
  } catch (err) {
    error.textContent = err.message || t("error.network");
    error.hidden = false;
  }
}

/** Wires the controls and loads the tables; call after `startPage`. */
export async function startKpis() {
  $("#kpi-period").addEventListener("change", load);
  $("#kpi-source").addEventListener("change", load);
  onLanguageChange(render);
  await load();
}
