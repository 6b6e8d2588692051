// Shared by every page: API calls with the session cookie and CSRF header, the signed-in
// account, live events (Server-Sent Events, polling when the stream is unavailable), formatting.
const API = document.body.dataset.api;

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

export function signInAgain() {
  const next = location.pathname + location.search;
  location.assign(`/login?expired=1&next=${encodeURIComponent(next)}`);
}

// Calls /api/v1; a 401 (no session, or it expired) sends the browser to the sign-in page.
export async function api(path, { method = "GET", body, redirect = true } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-CSRF-Token"] = cookie("csms_csrf") || "";
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(API + path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? (method === "GET" ? undefined : "{}") : JSON.stringify(body),
  });
  if (response.status === 401 && redirect) {
    signInAgain();
    throw new ApiError(401, { title: "Signed out" });
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const apiUrl = (path) => API + path;

const RANK = { viewer: 0, operator: 1, admin: 2 };
export const mayAct = (me) => me && RANK[me.role] >= RANK.operator;

// The account signed in (shown in the header); wires the sign-out button.
export async function session() {
  const me = await api("/auth/me");
  const who = document.getElementById("who");
  if (who) who.textContent = `${me.name} (${me.role})`;
  // Admin-only links (audit log, users) are shown to admins only; the API refuses others anyway.
  for (const link of document.querySelectorAll("[data-admin]")) link.hidden = me.role !== "admin";
  const out = document.getElementById("sign-out");
  if (out) {
    out.addEventListener("click", async () => {
      try { await api("/auth/logout", { method: "POST", redirect: false }); } catch (_) { /* gone */ }
      location.assign("/login");
    });
  }
  return me;
}

export function flash(message, kind = "info") {
  const box = document.getElementById("flash");
  if (!box) return;
  box.textContent = message;
  box.className = `flash ${kind}`;
  box.hidden = !message;
}

// Live updates: the API's event stream, filtered by station and type prefix. When the stream is
// not available (an older csms, or too many streams) it falls back to calling `onTick` every
// `pollSeconds`. `onEvent` gets the parsed event document {id, type, station_id, time, data}.
export function live({ stations = [], types = [], onEvent, onTick, pollSeconds = 5, label }) {
  const show = (text, state) => {
    if (label) { label.textContent = text; label.dataset.state = state; }
  };
  let timer = null;
  const poll = () => {
    if (timer) return;
    show(`refreshing every ${pollSeconds} s`, "polling");
    timer = setInterval(onTick, pollSeconds * 1000);
  };
  if (!("EventSource" in window)) { poll(); return; }
  const params = new URLSearchParams();
  for (const s of stations) params.append("station", s);
  for (const t of types) params.append("type", t);
  const source = new EventSource(`${API}/events?${params}`);
  source.onopen = () => show("live", "live");
  source.onmessage = (m) => onEvent(JSON.parse(m.data));
  const kinds = ["station.connected", "station.disconnected", "station.boot", "station.status",
    "station.registration", "transaction.started", "transaction.updated", "transaction.ended",
    "meter.values", "events.lost",
    "security.event", "firmware.status", "log.status", "command.result"];  // the station page's sections
  for (const kind of kinds) source.addEventListener(kind, (m) => onEvent(JSON.parse(m.data)));
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {  // refused (404, 401, 503): poll instead
      poll();
    } else {
      show("reconnecting…", "reconnecting");
    }
  };
}

// Run `fn` at most once per `ms`, with the latest call honoured.
export function throttle(fn, ms) {
  let last = 0, pending = null;
  return () => {
    const wait = last + ms - Date.now();
    if (wait <= 0) { last = Date.now(); fn(); return; }
    if (!pending) pending = setTimeout(() => { pending = null; last = Date.now(); fn(); }, wait);
  };
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function ago(iso) {
  if (!iso) return "never";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");
export const power = (w) => (w === null || w === undefined ? "–"
  : Math.abs(w) >= 1000 ? `${(w / 1000).toFixed(2)} kW` : `${Math.round(w)} W`);
export const energy = (wh) => (wh === null || wh === undefined ? "–"
  : Math.abs(wh) >= 1000 ? `${(wh / 1000).toFixed(2)} kWh` : `${Math.round(wh)} Wh`);
export function duration(s) {
  if (s === null || s === undefined) return "–";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
  return h ? `${h} h ${m} min` : m ? `${m} min ${sec} s` : `${sec} s`;
}

// A status word with a class for its colour (and the word itself, never colour alone).
export function statusBadge(status) {
  const s = (status || "unknown");
  const kind = /fault|blocked|invalid|expired|rejected/i.test(s) ? "bad" : /unavailable|inoperative/i.test(s) ? "off"
    : /charging|occupied|preparing|suspended|finishing/i.test(s) ? "busy" : "ok";
  return el("span", { class: `badge ${kind}`, text: s });
}

export function onlineBadge(online) {
  return el("span", { class: `badge ${online ? "ok" : "off"}`, text: online ? "online" : "offline" });
}

// The outcome of a typed command in words: accepted, rejected, station offline, timeout...
export function outcomeOf(error, result) {
  if (!error) {
    const status = result && result.status;
    if (!status || /^accepted$/i.test(status)) return { text: "Accepted by the station", kind: "ok" };
    if (/scheduled/i.test(status)) return { text: `Accepted (${status})`, kind: "ok" };
    return { text: `Rejected by the station (${status})`, kind: "bad" };
  }
  const type = (error.problem.type || "").split(":").pop();
  if (type === "station-not-connected") return { text: "Station offline: nothing was sent", kind: "bad" };
  if (type === "call-timeout") return { text: "Timeout: the station did not answer in time", kind: "bad" };
  if (type === "forbidden") return { text: "Not allowed: your role cannot send commands", kind: "bad" };
  if (type === "call-failed") return { text: `Refused by the station: ${error.message}`, kind: "bad" };
  return { text: error.message, kind: "bad" };
}
