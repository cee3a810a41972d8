// Supervisor dashboard: KPI tiles and bar charts (inline SVG, no chart library).
import { api, withQuery } from "./api.js";
import { startPage } from "./app.js";
import { $, clear, el } from "./dom.js";
import { duration, number, typeLabel } from "./format.js";
import { locale, onLanguageChange, t } from "./i18n.js";
import { startKpis } from "./kpis.js";

const SVG = "http://www.w3.org/2000/svg";
let stats = null;

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const child of children) {
    if (child) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function isoDay(date) {
  const y = date.getFullYear();
  const m = String(date.getMonth() + 1).padStart(2, "0");
  const d = String(date.getDate()).padStart(2, "0");
  return `${y}-${m}-${d}`;
}

function parseDay(text) {
  const [y, m, d] = text.split("-").map(Number);
  return new Date(y, m - 1, d);
}

function setRange(days) {
  const until = new Date();
  const since = new Date();
  since.setDate(until.getDate() - (days - 1));
  $("#since").value = isoDay(since);
  $("#until").value = isoDay(until);
}

// ---------- charts ----------

function emptyChart(box) {
  box.append(el("p", { class: "empty", text: t("dashboard.noData") }));
}

/** Horizontal bars: rows of [label, value]. */
function hbars(box, rows, className) {
  clear(box);
  if (!rows.length || rows.every(([, v]) => !v)) return emptyChart(box);
  const max = Math.max(...rows.map(([, v]) => v), 1);
  const rowH = 32;
  // Drawn at the box's real width so text keeps its size whatever the column width.
  const width = Math.max(320, Math.round(box.clientWidth || 640));
  const labelW = Math.min(240, Math.round(width * 0.38));
  const barMax = width - labelW - 48;
  const chart = svg("svg", {
    class: `hbar ${className}`,
    viewBox: `0 0 ${width} ${rows.length * rowH + 8}`,
    role: "img",
    width,
    height: rows.length * rowH + 8,
  });
  rows.forEach(([label, value], i) => {
    const y = i * rowH + 4;
    const w = Math.max(2, (value / max) * barMax);
    chart.append(
      svg("text", { x: labelW - 8, y: y + rowH / 2 + 1, class: "bar-label", "text-anchor": "end", "dominant-baseline": "middle" }, label, svg("title", null, label)),
      svg("rect", { x: labelW, y: y + 4, width: w, height: rowH - 10, rx: 3, class: "bar" }, svg("title", null, `${label}: ${value}`)),
      svg("text", { x: labelW + w + 6, y: y + rowH / 2 + 1, class: "bar-value", "dominant-baseline": "middle" }, number(value)),
    );
  });
  box.append(chart);
  // Shorten labels that do not fit their column (measured, so any script works).
  for (const text of chart.querySelectorAll(".bar-label")) {
    const node = text.firstChild;
    const full = node.data;
    let keep = full.length;
    while (keep > 1 && text.getComputedTextLength() > labelW - 14) {
      keep -= 1;
      node.data = `${full.slice(0, keep)}…`;
    }
  }
}

/** Vertical bars per day, every day of the range shown (zero days too). */
function dayBars(box, byDay, since, until) {
  clear(box);
  const days = [];
  for (let d = parseDay(since); d <= parseDay(until); d.setDate(d.getDate() + 1)) {
    days.push(isoDay(d));
    if (days.length > 400) break;
  }
  const values = days.map((day) => Number(byDay[day] || 0));
  if (!values.some(Boolean)) return emptyChart(box);
  const max = niceMax(Math.max(...values, 1));
  const width = Math.max(320, Math.round(box.clientWidth || 720));
  const height = 240;
  const left = 36;
  const bottom = 28;
  const plotW = width - left - 8;
  const plotH = height - bottom - 12;
  const step = plotW / days.length;
  const barW = Math.max(1, step * 0.7);
  const chart = svg("svg", { class: "vbar", viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  // Horizontal grid lines at 0, 50 % (when a whole number) and 100 % of the maximum.
  for (const frac of max % 2 ? [0, 1] : [0, 0.5, 1]) {
    const y = 12 + plotH * (1 - frac);
    chart.append(
      svg("line", { x1: left, x2: width - 8, y1: y, y2: y, class: "grid" }),
      svg("text", { x: left - 6, y, class: "axis", "text-anchor": "end", "dominant-baseline": "middle" }, number(Math.round(max * frac))),
    );
  }
  const fmt = new Intl.DateTimeFormat(locale(), { day: "numeric", month: "short" });
  const labelEvery = Math.ceil(days.length / Math.max(2, Math.floor(plotW / 64)));
  days.forEach((day, i) => {
    const h = (values[i] / max) * plotH;
    const x = left + i * step + (step - barW) / 2;
    if (values[i]) {
      chart.append(
        svg(
          "rect",
          { x, y: 12 + plotH - h, width: barW, height: Math.max(h, 1), class: "bar", rx: 2 },
          svg("title", null, `${day}: ${values[i]}`),
        ),
      );
    }
    if (i % labelEvery === 0) {
      chart.append(
        svg("text", { x: x + barW / 2, y: height - 8, class: "axis", "text-anchor": "middle" }, fmt.format(parseDay(day))),
      );
    }
  });
  box.append(chart);
}

/** The smallest of 1, 2, 5, 10, 20, 50, ... that is at least `value`. */
function niceMax(value) {
  let base = 1;
  for (;;) {
    for (const step of [1, 2, 5]) if (step * base >= value) return step * base;
    base *= 10;
  }
}

function kpi(label, value, sub) {
  return el(
    "div",
    { class: "kpi card" },
    el("div", { class: "kpi-label", text: label }),
    el("div", { class: "kpi-value", text: value }),
    sub ? el("div", { class: "kpi-sub muted", text: sub }) : null,
  );
}

function render() {
  if (!stats) return;
  const byType = stats.by_type || {};
  const total = Object.values(byType).reduce((a, b) => a + Number(b || 0), 0);
  const review = stats.review_seconds || {};
  const resolve = stats.resolve_seconds || {};
  const zones = Object.entries(stats.by_zone || {}).sort((a, b) => b[1] - a[1]);
  clear($("#kpis")).append(
    kpi(t("dashboard.total"), number(total)),
    kpi(t("dashboard.hotSpots"), number(zones.length), zones[0] ? t("dashboard.top", { name: zones[0][0] }) : null),
    kpi(t("dashboard.reviewMedian"), duration(review.median), t("dashboard.p90", { value: duration(review.p90) })),
    kpi(t("dashboard.resolveMedian"), duration(resolve.median), t("dashboard.p90", { value: duration(resolve.p90) })),
  );
  hbars(
    $("#chart-type"),
    Object.entries(byType).sort((a, b) => b[1] - a[1]).map(([type, n]) => [typeLabel(type), Number(n)]),
    "by-type",
  );
  hbars($("#chart-zone"), zones.slice(0, 12).map(([zone, n]) => [zone, Number(n)]), "by-zone");
  dayBars($("#chart-day"), stats.by_day || {}, $("#since").value, $("#until").value);
}

async function load() {
  const since = parseDay($("#since").value);
  const until = parseDay($("#until").value);
  until.setDate(until.getDate() + 1); // through the end of the last day
  const error = $("#dash-error");
  error.hidden = true;
  try {
    stats = await api.get(
      withQuery("/api/stats", { since: since.toISOString(), until: until.toISOString() }),
    );
    render();
  } catch (err) {
    error.textContent = err.message || t("error.network");
    error.hidden = false;
  }
}

async function main() {
  await startPage("dashboard");
  setRange(30);
  $("#range-form").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  for (const button of document.querySelectorAll("[data-days]")) {
    button.addEventListener("click", () => {
      setRange(Number(button.dataset.days));
      load();
    });
  }
  onLanguageChange(render);
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(render, 150);
  });
  startKpis();
  await load();
}

main();
