// Thin wrapper around fetch for the /api endpoints: cookie session, CSRF header on
// state-changing requests, JSON in and out, 401 -> sign-in page.

const CSRF_KEY = "sw.csrf";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export class ApiError extends Error {
  constructor(status, detail, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

export function setCsrf(token) {
  if (token) sessionStorage.setItem(CSRF_KEY, token);
}

export function clearCsrf() {
  sessionStorage.removeItem(CSRF_KEY);
}

export function getCsrf() {
  return sessionStorage.getItem(CSRF_KEY);
}

export function goToSignIn() {
  clearCsrf();
  const here = location.pathname.split("/").pop() || "index.html";
  if (here !== "index.html") {
    const next = encodeURIComponent(here + location.search);
    location.assign(`index.html?next=${next}`);
  }
}

/** Turns a FastAPI error body into a list of readable lines. */
export function errorLines(detail) {
  if (detail == null) return [];
  if (typeof detail === "string") return [detail];
  if (Array.isArray(detail)) {
    return detail.map((item) => {
      if (item && typeof item === "object") {
        const loc = Array.isArray(item.loc)
          ? item.loc.filter((part) => part !== "body").join(" → ")
          : "";
        const msg = item.msg || JSON.stringify(item);
        return loc ? `${loc}: ${msg}` : msg;
      }
      return String(item);
    });
  }
  if (typeof detail === "object" && detail.detail !== undefined) return errorLines(detail.detail);
  return [JSON.stringify(detail)];
}

/**
 * request("GET", "/api/cameras") -> parsed JSON (or null for 204).
 * body: plain object (sent as JSON) or FormData (sent as multipart).
 */
export async function request(method, path, body, { redirectOn401 = true } = {}) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (UNSAFE.has(method)) {
    const csrf = getCsrf();
    if (csrf) headers["X-CSRF-Token"] = csrf;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, null, err && err.message ? err.message : "network error");
  }
  if (response.status === 401 && redirectOn401) {
    goToSignIn();
    throw new ApiError(401, null, "signed out");
  }
  if (response.status === 403 && UNSAFE.has(method) && !getCsrf() && redirectOn401) {
    // The session has no CSRF token in this tab (opened without signing in here).
    goToSignIn();
    throw new ApiError(403, null, "signed out");
  }
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    const detail = data && data.detail !== undefined ? data.detail : data;
    const lines = errorLines(detail);
    throw new ApiError(response.status, detail, lines.join("; ") || `HTTP ${response.status}`);
  }
  return data;
}

export const api = {
  get: (path, opts) => request("GET", path, undefined, opts),
  post: (path, body, opts) => request("POST", path, body === undefined ? {} : body, opts),
  put: (path, body, opts) => request("PUT", path, body, opts),
  del: (path, opts) => request("DELETE", path, undefined, opts),
};

/** Builds "/api/x?a=1&b=2", leaving out empty values. */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export const enc = encodeURIComponent;
