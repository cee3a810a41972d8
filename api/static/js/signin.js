import { api, getCsrf, setCsrf } from "./api.js";
import { homeFor, languageSelect } from "./app.js";
import { $ } from "./dom.js";
import { isLanguage, rememberLanguage, setLanguage, storedLanguage, t } from "./i18n.js";

/** Only a page of this app may be the target after sign-in (no open redirects). */
function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "";
  return /^[a-z]+\.html(\?[\w=&%.-]*)?$/.test(next) && next !== "index.html" ? next : null;
}

let picked = null; // a language chosen on this page before signing in

async function submit(event) {
  event.preventDefault();
  const error = $("#signin-error");
  const button = $("#signin-submit");
  error.hidden = true;
  const username = $("#username").value.trim();
  const password = $("#password").value;
  if (!username || !password) {
    error.textContent = t("signin.missing");
    error.hidden = false;
    return;
  }
  button.disabled = true;
  try {
    const session = await api.post(
      "/api/auth/login",
      { username, password },
      { redirectOn401: false },
    );
    setCsrf(session.csrf_token);
    const lang = session.user && session.user.language;
    if (picked && picked !== lang) {
      // Chosen on this page just now: that choice wins and is saved for the user.
      await api.put("/api/auth/me/language", { language: picked }).catch(() => {});
    } else if (isLanguage(lang)) {
      rememberLanguage(lang);
    }
    location.assign(nextPage() || homeFor(session.user.role));
  } catch (err) {
    error.textContent =
      err.status >= 400 && err.status < 500 ? t("signin.failed") : t("error.network");
    if (err.status === 429) error.textContent = err.message;
    error.hidden = false;
    button.disabled = false;
  }
}

async function main() {
  // The handler goes on first: a submit must never fall through to a native form post.
  $("#signin-form").addEventListener("submit", submit);
  await setLanguage(storedLanguage());
  $("#lang-slot").append(
    languageSelect((code) => {
      picked = code;
    }),
  );

  try {
    const me = await api.get("/api/auth/me", { redirectOn401: false });
    setCsrf(me.csrf_token);
    // Without a CSRF token this tab could not change anything: sign in again to get one.
    if (getCsrf()) {
      location.replace(nextPage() || homeFor(me.role));
      return;
    }
  } catch {
    // Not signed in: show the form.
  }
  document.body.classList.add("ready");
  $("#username").focus();
}

main();
