// Page shell shared by every signed-in page: session check, header with the pages the
// role may use, language switcher, sign-out, and a small toast area.
import { api, clearCsrf, goToSignIn, setCsrf } from "./api.js";
import { el } from "./dom.js";
import {
  LANGUAGES,
  applyTranslations,
  language,
  rememberLanguage,
  setLanguage,
  storedLanguage,
  t,
} from "./i18n.js";

export const PAGES = [
  { id: "wall", href: "wall.html", roles: ["admin", "supervisor", "monitor", "operator"] },
  { id: "review", href: "review.html", roles: ["admin", "supervisor", "operator"] },
  { id: "patrol", href: "patrol.html", roles: ["admin", "supervisor", "patrol"] },
  { id: "zones", href: "zones.html", roles: ["admin", "supervisor"] },
  { id: "dashboard", href: "dashboard.html", roles: ["admin", "supervisor"] },
];

const HOME = {
  monitor: "wall.html",
  operator: "review.html",
  patrol: "patrol.html",
  supervisor: "dashboard.html",
  admin: "dashboard.html",
};

export function homeFor(role) {
  return HOME[role] || "wall.html";
}

export function mayUse(role, pageId) {
  const page = PAGES.find((p) => p.id === pageId);
  return Boolean(page && page.roles.includes(role));
}

/** Language picker; `onPick(code)` runs after the page has switched. */
export function languageSelect(onPick) {
  const select = el("select", {
    class: "lang-select",
    id: "lang-select",
    "data-i18n-aria-label": "nav.language",
    "aria-label": t("nav.language"),
  });
  for (const lang of LANGUAGES) {
    select.append(el("option", { value: lang.code, text: lang.label }));
  }
  select.value = language();
  select.addEventListener("change", async () => {
    const code = select.value;
    rememberLanguage(code);
    await setLanguage(code);
    if (onPick) onPick(code);
  });
  return select;
}

function buildHeader(user, pageId) {
  const nav = el("nav", { class: "nav", "aria-label": "main" });
  for (const page of PAGES) {
    if (!page.roles.includes(user.role)) continue;
    nav.append(
      el("a", {
        href: page.href,
        class: page.id === pageId ? "nav-link active" : "nav-link",
        "aria-current": page.id === pageId ? "page" : null,
        "data-i18n": `nav.${page.id}`,
        dataset: { page: page.id },
        text: t(`nav.${page.id}`),
      }),
    );
  }
  const signOut = el("button", {
    type: "button",
    class: "btn btn-ghost btn-small",
    id: "sign-out",
    "data-i18n": "nav.signOut",
    text: t("nav.signOut"),
  });
  signOut.addEventListener("click", async () => {
    try {
      await api.post("/api/auth/logout", {}, { redirectOn401: false });
    } catch {
      // Signed out already: nothing to undo.
    }
    clearCsrf();
    location.assign("index.html");
  });
  const who = el(
    "span",
    { class: "who" },
    el("span", { class: "who-name", text: user.username }),
    el("span", { class: "who-role", "data-i18n": `role.${user.role}`, text: t(`role.${user.role}`) }),
    user.team ? el("span", { class: "who-team", text: user.team }) : null,
  );
  const langPick = languageSelect((code) => {
    api.put("/api/auth/me/language", { language: code }).catch(() => {});
  });
  return el(
    "header",
    { class: "topbar" },
    el(
      "a",
      { class: "brand", href: homeFor(user.role) },
      el("span", { class: "brand-mark", "aria-hidden": "true" }),
      el("span", { "data-i18n": "app.name", text: t("app.name") }),
    ),
    nav,
    el("div", { class: "topbar-right" }, who, langPick, signOut),
  );
}

/**
 * Every signed-in page starts with `const user = await startPage("review")`.
 * Sends the browser to sign-in when there is no session, or home when the role may not
 * use this page.
 */
export async function startPage(pageId) {
  const booting = setLanguage(storedLanguage());
  let user;
  try {
    user = await api.get("/api/auth/me");
  } catch (err) {
    if (err.status !== 401) goToSignIn();
    await new Promise(() => {}); // the browser is leaving this page
  }
  setCsrf(user.csrf_token);
  await booting;
  if (!mayUse(user.role, pageId)) {
    location.replace(homeFor(user.role));
    await new Promise(() => {});
  }
  document.body.prepend(buildHeader(user, pageId));
  applyTranslations(document);
  document.body.classList.add("ready");
  return user;
}

let toastArea = null;

/** A short message at the bottom of the screen; kind: "info" | "ok" | "error". */
export function toast(message, kind = "info", ms = 4000) {
  if (!toastArea) {
    toastArea = el("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(toastArea);
  }
  const item = el("div", { class: `toast toast-${kind}`, text: message });
  toastArea.append(item);
  setTimeout(() => item.remove(), ms);
}
