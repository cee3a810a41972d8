// Dates, ages, durations and labels in the chosen language.
import { locale, t } from "./i18n.js";

export const SEVERITY_RANK = { critical: 4, high: 3, medium: 2, low: 1 };

function toDate(value) {
  if (!value) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function dateTime(value) {
  const date = toDate(value);
  if (!date) return "—";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "medium" }).format(
    date,
  );
}

export function clock(value) {
  const date = toDate(value);
  if (!date) return "—";
  return new Intl.DateTimeFormat(locale(), {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).format(date);
}

/** "5 minutes ago" style, in the chosen language. */
export function ago(value, now = Date.now()) {
  const date = toDate(value);
  if (!date) return "—";
  const seconds = Math.round((date.getTime() - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: "auto" });
  const abs = Math.abs(seconds);
  if (abs < 60) return rtf.format(seconds, "second");
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), "hour");
  return rtf.format(Math.round(seconds / 86400), "day");
}

/** Seconds as "42 s", "3 min 5 s", "2 h 10 min" (units translated). */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return "—";
  let s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return t("unit.s", { n: s });
  if (s < 3600) {
    const m = Math.floor(s / 60);
    s %= 60;
    return s ? `${t("unit.min", { n: m })} ${t("unit.s", { n: s })}` : t("unit.min", { n: m });
  }
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return m ? `${t("unit.h", { n: h })} ${t("unit.min", { n: m })}` : t("unit.h", { n: h });
}

export function number(value, digits = 0) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(value);
}

export const typeLabel = (type) => t(`type.${type}`);
export const statusLabel = (status) => t(`status.${status}`);
export const severityLabel = (severity) => t(`severity.${severity}`);
export const stateLabel = (state) => t(`camera.state.${state}`);

export function evidenceUrl(incident, kind) {
  const item = (incident.evidence || []).find((e) => e.kind === kind);
  return item ? item.url : null;
}

/** Best picture for a card: the annotated alert frame, else any still. */
export function alertPicture(incident) {
  return (
    evidenceUrl(incident, "alert_annotated") ||
    evidenceUrl(incident, "alert_clean") ||
    evidenceUrl(incident, "first_seen")
  );
}

export const presenceLabel = (presence) => t(`presence.${presence}`);
