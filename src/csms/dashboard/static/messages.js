// Station page, OCPP message log: the station's exchanges newest first (GET
// /stations/{id}/messages) filtered by action, direction and errors, with older pages on demand.
// The live tail asks for what is newer than the newest row shown (``since`` its time) when the
// event stream says something happened at the station, and every few seconds (a Heartbeat
// publishes no event), while the tab is visible: a few rows per read, not the whole page again.
import { api, el, when, throttle } from "./app.js";

const TAIL_POLL_MS = 3000;
const PAGE = 50;
const MAX_ROWS = 200;  // past this many rows the tail starts over with one page

function outcomeText(m) {
  if (m.outcome === "error") return `error${m.error_code ? ` (${m.error_code})` : ""}`;
  if (m.outcome === "unanswered") return "unanswered";
  if (m.outcome === "result") return "answered";
  return m.message_type;
}

function payload(m) {
  const doc = { request: m.request.payload, ...(m.response ? { response: m.response.payload } : {}) };
  return el("details", { class: "payload" }, el("summary", {}, `${m.request.size} B`),
    el("pre", {}, JSON.stringify(doc, null, 2)));
}

function row(m) {
  const bad = m.outcome === "error" || m.outcome === "unanswered" || m.message_type === "INVALID";
  return el("tr", { "data-message": m.id, "data-action": m.action || "", class: bad ? "error" : null },
    el("td", {}, when(m.at)),
    el("td", {}, m.direction === "in" ? "station → csms" : "csms → station"),
    el("th", { scope: "row", class: "mono" }, m.action || m.message_type),
    el("td", { class: bad ? "bad" : null }, outcomeText(m)),
    el("td", {}, m.latency_ms === null ? "–" : `${m.latency_ms.toFixed(1)} ms`),
    el("td", {}, payload(m)));
}

export function messages({ base }) {
  const list = document.getElementById("messages-list");
  const form = document.getElementById("messages-filters");
  const info = document.getElementById("messages-info");
  const older = document.getElementById("messages-older");
  const tail = document.getElementById("messages-tail");
  let next = null;
  let newest = null;  // the newest exchange shown: the tail asks for what came after it

  function query(cursor) {
    const q = new URLSearchParams({ limit: String(PAGE) });
    const action = form.elements.action.value.trim();
    if (action) q.set("action", action);
    if (form.elements.direction.value) q.set("direction", form.elements.direction.value);
    if (form.elements.errors.checked) q.set("errors", "true");
    if (cursor) q.set("cursor", cursor);
    return q;
  }

  async function load() {
    try {
      const page = await api(`${base}/messages?${query(null)}`);
      const open = new Set([...list.querySelectorAll("details[open]")].map((d) => d.closest("tr").dataset.message));
      list.replaceChildren(...page.items.map(row));
      for (const id of open) {  // keep what the reader opened
        const d = list.querySelector(`tr[data-message="${id}"] details`);
        if (d) d.open = true;
      }
      if (!page.items.length) list.append(el("tr", {}, el("td", { colspan: 6, text: "No message matches." })));
      next = page.next_cursor;
      newest = page.items[0] || null;
      older.hidden = !next;
      info.textContent = `${page.items.length}${next ? "+" : ""} exchanges, newest first` + (tail.checked ? " · live tail" : "");
    } catch (e) {
      if (e.status === 404) info.textContent = "The message log is off on this csms.";
      else if (e.status !== 401) info.textContent = e.message;
    }
  }

  async function more() {
    if (!next) return;
    try {
      const page = await api(`${base}/messages?${query(next)}`);
      list.append(...page.items.map(row));
      next = page.next_cursor;
      older.hidden = !next;
    } catch (e) {
      if (e.status !== 401) info.textContent = e.message;
    }
  }

  async function tailNew() {
    if (!newest) return load();
    try {
      const q = query(null);
      q.set("since", newest.at);
      const page = await api(`${base}/messages?${q}`);
      if (page.next_cursor) return load();  // more than a page arrived: start over
      const fresh = page.items.filter((m) => m.id > newest.id);
      if (!fresh.length) return;
      if (!list.querySelector("tr[data-message]")) list.replaceChildren();
      list.prepend(...fresh.map(row));
      newest = fresh[0];
      if (list.rows.length > MAX_ROWS) load();
    } catch (e) {
      if (e.status !== 401) info.textContent = e.message;
    }
  }

  const refresh = throttle(() => { if (tail.checked && !document.hidden) tailNew(); }, 1000);
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  tail.addEventListener("change", load);
  older.addEventListener("click", more);
  setInterval(refresh, TAIL_POLL_MS);
  return { load, onEvent: refresh };
}
