// Transactions: filters, cursor pages, CSV export of the same filters.
import { api, apiUrl, session, el, when, duration, energy, flash } from "./app.js";

const PAGE = 50;
const form = document.getElementById("filters");
const rows = document.getElementById("transactions");
let cursors = [null];

function filters() {
  const params = new URLSearchParams();
  for (const name of ["station", "id_token", "state"]) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  const from = form.elements.started_from.value;
  if (from) params.set("started_from", new Date(from).toISOString());
  return params;
}

function row(t) {
  return el("tr", { "data-transaction": t.id },
    el("th", { scope: "row" }, el("a", { href: `/transactions/${encodeURIComponent(t.id)}` }, t.id)),
    el("td", {}, el("a", { href: `/stations/${encodeURIComponent(t.station_id)}` }, t.station_id)),
    el("td", {}, t.evse_id ?? "–"),
    el("td", {}, t.id_token || "–"),
    el("td", {}, when(t.started_at)),
    el("td", {}, duration(t.duration_s)),
    el("td", { class: "energy" }, energy(t.energy_wh)),
    el("td", {}, t.open ? "running" : `ended${t.stopped_reason ? ` (${t.stopped_reason})` : ""}`));
}

async function load() {
  const params = filters();
  document.getElementById("csv").href = apiUrl(`/transactions.csv?${params}`);
  params.set("limit", PAGE);
  params.set("total", "true");
  const cursor = cursors[cursors.length - 1];
  if (cursor) params.set("cursor", cursor);
  try {
    const page = await api(`/transactions?${params}`);
    rows.replaceChildren(...page.items.map(row));
    if (!page.items.length) rows.append(el("tr", {}, el("td", { colspan: 8, text: "No transaction matches." })));
    const first = (cursors.length - 1) * PAGE;
    document.getElementById("page-info").textContent =
      `${page.items.length ? first + 1 : 0}–${first + page.items.length} of ${page.total ?? "?"} transactions`;
    const next = document.getElementById("next");
    next.disabled = !page.next_cursor;
    next.dataset.cursor = page.next_cursor || "";
    document.getElementById("first").disabled = cursors.length === 1;
  } catch (e) {
    if (e.status !== 401) flash(`Could not load the transactions: ${e.message}`, "bad");
  }
}

const initial = new URLSearchParams(location.search);
for (const name of ["station", "id_token", "state"]) {
  if (initial.get(name)) form.elements[name].value = initial.get(name);
}
form.addEventListener("submit", (event) => { event.preventDefault(); cursors = [null]; load(); });
document.getElementById("next").addEventListener("click", (event) => {
  cursors.push(event.target.dataset.cursor); load();
});
document.getElementById("first").addEventListener("click", () => { cursors = [null]; load(); });

await session();
await load();
