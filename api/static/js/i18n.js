// Translations: every visible string comes from i18n/<lang>.json.
// Static markup uses data-i18n="key" (text), data-i18n-placeholder, data-i18n-title and
// data-i18n-aria-label; code calls t("key", {var: value}).

export const LANGUAGES = [
  { code: "en", label: "English" },
  { code: "vi", label: "Tiếng Việt" },
  { code: "zh", label: "简体中文" },
];
const LANG_KEY = "sw.lang";
const LOCALES = { en: "en-GB", vi: "vi-VN", zh: "zh-CN" };

let current = "en";
let strings = {};
let fallback = {};
const listeners = new Set();

async function loadTable(code) {
  const url = new URL(`../i18n/${code}.json`, import.meta.url);
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`cannot load ${code}.json`);
  return response.json();
}

export function isLanguage(code) {
  return LANGUAGES.some((lang) => lang.code === code);
}

/** The language remembered in this browser, else the browser's own, else English. */
export function storedLanguage() {
  const saved = localStorage.getItem(LANG_KEY);
  if (isLanguage(saved)) return saved;
  const browser = (navigator.language || "en").slice(0, 2).toLowerCase();
  return isLanguage(browser) ? browser : "en";
}

export function rememberLanguage(code) {
  if (isLanguage(code)) localStorage.setItem(LANG_KEY, code);
}

export function language() {
  return current;
}

export function locale() {
  return LOCALES[current] || "en-GB";
}

export async function setLanguage(code) {
  if (!isLanguage(code)) code = "en";
  if (!Object.keys(fallback).length) fallback = await loadTable("en");
  strings = code === "en" ? fallback : await loadTable(code);
  current = code;
  document.documentElement.lang = code === "zh" ? "zh-Hans" : code;
  applyTranslations(document);
  for (const listener of listeners) listener(code);
}

/** Calls `listener(code)` after every language change (to re-render dynamic content). */
export function onLanguageChange(listener) {
  listeners.add(listener);
}

export function t(key, vars) {
  let text = strings[key] ?? fallback[key] ?? key;
  if (vars) {
    text = text.replace(/\{(\w+)\}/g, (match, name) =>
      vars[name] === undefined ? match : String(vars[name]),
    );
  }
  return text;
}

const ATTRS = [
  ["data-i18n-placeholder", "placeholder"],
  ["data-i18n-title", "title"],
  ["data-i18n-aria-label", "aria-label"],
];

export function applyTranslations(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const [data, attr] of ATTRS) {
    for (const el of root.querySelectorAll(`[${data}]`)) {
      el.setAttribute(attr, t(el.getAttribute(data)));
    }
  }
}
