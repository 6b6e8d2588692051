// Fleet overview: counters, filters, one page of stations at a time (server-side cursor pages,
// so 10,000 stations cost one page), kept live by the event stream.
import { api, session, live, throttle, el, ago, statusBadge, onlineBadge, flash } from "./app.js";

const PAGE = 50;
const rows = document.getElementById("stations");
const form = document.getElementById("filters");
let cursors = [null];  // cursor of each page shown so far
let visible = new Set();
let total = 0;

function filters() {
  const params = new URLSearchParams();
  for (const name of ["q", "online", "ocpp_version", "status"]) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

async function counters() {
  const count = async (query) => (await api(`/stations?limit=1&${query}`)).total;
  // Charging: open transactions (1.6 says Charging, 2.x only Occupied: the transaction is the
  // one version-neutral sign of a car charging).
  const open = async () => (await api("/transactions?state=open&limit=1&total=true")).total;
  const [online, charging, faulted, offline] = await Promise.all([
    count("online=true"), open(), count("status=Faulted"), count("online=false"),
  ]);
  for (const [id, n] of [["online", online], ["charging", charging], ["faulted", faulted], ["offline", offline]]) {
    document.getElementById(`count-${id}`).textContent = n;
  }
}

function row(s) {
  const connectors = el("span", { class: "connectors" });
  for (const c of (s.connectors || []).filter((c) => c.evse_id > 0)) {
    const badge = statusBadge(c.status);
    badge.title = `EVSE ${c.evse_id} connector ${c.connector_id}`;
    badge.prepend(`${c.evse_id}/${c.connector_id} `);
    connectors.append(badge, " ");
  }
  return el("tr", { "data-station": s.id },
    el("th", { scope: "row" }, el("a", { href: `/stations/${encodeURIComponent(s.id)}` }, s.id)),
    el("td", {}, onlineBadge(s.online)),
    el("td", {}, s.ocpp_version || "–"),
    el("td", {}, connectors),
    el("td", {}, [s.vendor_name, s.model].filter(Boolean).join(" ") || "–"),
    el("td", { title: s.last_seen_at || "" }, ago(s.last_seen_at)));
}

async function load() {
  const params = filters();
  params.set("limit", PAGE);
  params.set("with_connectors", "true");
  const cursor = cursors[cursors.length - 1];
  if (cursor) params.set("cursor", cursor);
  try {
    const page = await api(`/stations?${params}`);
    rows.replaceChildren(...page.items.map(row));
    if (!page.items.length) rows.append(el("tr", {}, el("td", { colspan: 6, text: "No station matches." })));
    visible = new Set(page.items.map((s) => s.id));
    total = page.total;
    const first = (cursors.length - 1) * PAGE;
    document.getElementById("page-info").textContent =
      `${page.items.length ? first + 1 : 0}–${first + page.items.length} of ${total} stations`;
    document.getElementById("next").disabled = !page.next_cursor;
    document.getElementById("next").dataset.cursor = page.next_cursor || "";
    document.getElementById("first").disabled = cursors.length === 1;
  } catch (e) {
    if (e.status !== 401) flash(`Could not load the stations: ${e.message}`, "bad");
  }
}

const refreshRows = throttle(load, 1000);
const refreshCounters = throttle(() => counters().catch(() => {}), 2000);
const COUNTED = new Set(["station.connected", "station.disconnected", "station.status",
  "transaction.started", "transaction.ended", "events.lost"]);

form.addEventListener("submit", (event) => { event.preventDefault(); cursors = [null]; load(); });
document.getElementById("next").addEventListener("click", (event) => {
  cursors.push(event.target.dataset.cursor); load();
});
document.getElementById("first").addEventListener("click", () => { cursors = [null]; load(); });

await session();
await Promise.all([load(), counters()]);
live({
  types: ["station.", "transaction.started", "transaction.ended"],
  label: document.getElementById("live"),
  onTick: () => { load(); counters(); },
  // A change to a station on this page reloads the page (at most once a second, whatever the
  // event rate); one that may move the counters recounts them (at most every 2 s).
  onEvent: (event) => {
    if (event.type === "events.lost" || visible.has(event.station_id)) refreshRows();
    if (COUNTED.has(event.type)) refreshCounters();
  },
});
setInterval(() => {  // keep "last seen" ages honest between events
  for (const cell of rows.querySelectorAll("td[title]")) if (cell.title) cell.textContent = ago(cell.title);
}, 10000);
