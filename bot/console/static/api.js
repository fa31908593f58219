// Talking to the console's JSON API: same-origin, the CSRF token on every state-changing request,
// a signed-out answer sends the page to the sign-in form. Errors carry the server's message (in the
// server's words, already in Chinese), so screens show them as they are.

const CSRF = document.querySelector('meta[name="csrf-token"]').content;

export class ApiError extends Error {
  constructor(status, body) {
    super(body.message || body.error || String(status));
    this.status = status;
    this.body = body;
  }
}

/** Call ``/console/api<path>``; resolves to the decoded JSON body, rejects with ApiError. */
export async function api(method, path, body) {
  const opts = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET") {
    opts.headers["X-CSRF-Token"] = CSRF;
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body || {});
  }
  const resp = await fetch("/console/api" + path, opts);
  let data = {};
  try { data = await resp.json(); } catch (e) { data = {}; }
  if (resp.status === 401) { window.location.href = "/console/login"; throw new ApiError(401, data); }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

export function csrfToken() { return CSRF; }
