// Shared by the fleet-level and admin pages (firmware, security events, audit log, users, id
// tokens): raw-body uploads, an event stream of any event types, role checks, outcome lines.
import { ApiError, apiUrl, signInAgain } from "./app.js";

function csrf() {
  const found = document.cookie.split(";").map((c) => c.trim()).find((c) => c.startsWith("csms_csrf="));
  return found ? decodeURIComponent(found.slice("csms_csrf=".length)) : "";
}

// POST a file's bytes as they are (firmware images, token imports) with the CSRF header.
export async function upload(path, file, contentType) {
  const response = await fetch(apiUrl(path), {
    method: "POST",
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": contentType, "X-CSRF-Token": csrf() },
    body: file,
  });
  if (response.status === 401) {
    signInAgain();
    throw new ApiError(401, { title: "Signed out" });
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// The API's event stream for `types` (type prefixes); `label` says whether it is open. When the
// API refuses it (503 too many streams, 401), `onClosed` is called once (the page may poll).
export function stream(types, onEvent, label, onClosed = null) {
  const params = new URLSearchParams();
  for (const t of types) params.append("type", t);
  const source = new EventSource(apiUrl(`/events?${params}`));
  const show = (text, state) => { if (label) { label.textContent = text; label.dataset.state = state; } };
  source.onopen = () => show("live", "live");
  source.onerror = () => {
    if (source.readyState !== EventSource.CLOSED) { show("reconnecting…", "reconnecting"); return; }
    if (onClosed) { show("refreshing every 5 s", "polling"); onClosed(); } else show("not live: reload the page", "closed");
  };
  for (const t of types) source.addEventListener(t, (m) => onEvent(JSON.parse(m.data)));
  return source;
}

export const isAdmin = (me) => Boolean(me) && me.role === "admin";

export function say(node, text, kind) {
  node.textContent = text;
  node.className = `outcome ${kind}`;
}

// A datetime-local input's value as ISO 8601 with the zone (the API wants one), or null.
export const isoOf = (value) => (value ? new Date(value).toISOString() : null);

// A timestamp for a datetime-local input (local time, minutes).
export function localInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// What a refused admin page says instead of its content.
export function adminsOnly(main, what) {
  main.replaceChildren();
  const p = document.createElement("p");
  p.className = "notice";
  p.id = "admins-only";
  p.textContent = `Only admins see ${what}.`;
  main.append(p);
}

export function bytes(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}
