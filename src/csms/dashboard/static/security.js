// Security events of the whole fleet (SecurityEventNotification, 1.6 security extension and
// 2.x A04), newest first, filtered by station, type and time; new ones appear live.
import { api, session, el, when, flash, throttle } from "./app.js";
import { stream, isoOf } from "./kit.js";

const PAGE = 50;
const form = document.getElementById("filters");
const rows = document.getElementById("events");
let before = [null];  // the "older than" id of each page shown so far

function query() {
  const params = new URLSearchParams({ limit: PAGE + 1 });
  const station = form.station_id.value.trim(), type = form.type.value.trim();
  if (station) params.set("station_id", station);
  if (type) params.set("type", type);
  if (form.since.value) params.set("since", isoOf(form.since.value));
  if (form.until.value) params.set("until", isoOf(form.until.value));
  if (form.critical.checked) params.set("critical", "true");
  return params;
}

function row(e) {
  return el("tr", { "data-event": e.id, "data-type": e.type },
    el("td", {}, when(e.timestamp)),
    el("th", { scope: "row" }, el("a", { href: `/stations/${encodeURIComponent(e.station_id)}` }, e.station_id)),
    el("td", { class: "type" }, e.type),
    el("td", {}, e.critical ? el("span", { class: "badge bad", text: "critical" }) : "–"),
    el("td", { class: "mono" }, e.tech_info || "–"),
    el("td", {}, when(e.received_at)));
}

async function load() {
  const params = query();
  const cursor = before[before.length - 1];
  if (cursor) params.set("before", cursor);
  try {
    const found = await api(`/security-events?${params}`);
    const page = found.slice(0, PAGE);
    rows.replaceChildren(...page.map(row));
    if (!page.length) rows.append(el("tr", {}, el("td", { colspan: 6, text: "No security event matches." })));
    const first = (before.length - 1) * PAGE;
    document.getElementById("page-info").textContent = page.length
      ? `events ${first + 1}–${first + page.length}, newest first` : "";
    const next = document.getElementById("next");
    next.disabled = found.length <= PAGE;
    next.dataset.before = page.length ? page[page.length - 1].id : "";
    document.getElementById("first").disabled = before.length === 1;
  } catch (e) {
    if (e.status !== 401) flash(`Could not load the security events: ${e.message}`, "bad");
  }
}

// A new event is shown at the top when the first page is shown and it passes the filters (a
// burst of events reloads the page at most once a second).
const reload = throttle(load, 1000);
function arrived(event) {
  if (before.length !== 1) return;
  const d = event.data;
  const station = form.station_id.value.trim(), type = form.type.value.trim();
  if ((station && event.station_id !== station) || (type && d.type !== type)) return;
  if (form.critical.checked && !d.critical) return;
  if (form.since.value || form.until.value) return;  // a time window: Apply shows what is in it
  reload();
}

form.addEventListener("submit", (event) => { event.preventDefault(); before = [null]; load(); });
document.getElementById("next").addEventListener("click", (event) => { before.push(event.target.dataset.before); load(); });
document.getElementById("first").addEventListener("click", () => { before = [null]; load(); });

await session();
stream(["security.event"], arrived, document.getElementById("live"),
  () => setInterval(() => { if (before.length === 1) load(); }, 5000));
await load();
