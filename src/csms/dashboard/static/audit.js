// The audit log (admins): every state-changing API request, newest first, with who made it
// (account, and whether by session or API token) and how csms answered.
import { api, session, el, when, flash } from "./app.js";
import { isAdmin, isoOf, adminsOnly } from "./kit.js";

const PAGE = 50;
const form = document.getElementById("filters");
const rows = document.getElementById("entries");
let cursors = [null];

function row(e) {
  const kind = e.status >= 400 ? "bad" : "ok";
  return el("tr", { "data-entry": e.id },
    el("td", {}, when(e.at)),
    el("th", { scope: "row" }, e.actor, " ", el("span", { class: "meta" }, `(${e.auth_kind})`)),
    el("td", { class: "mono" }, `${e.method} ${e.path}`),
    el("td", {}, e.station_id ? el("a", { href: `/stations/${encodeURIComponent(e.station_id)}` }, e.station_id) : "–"),
    el("td", {}, el("span", { class: `badge ${kind}`, text: String(e.status) })),
    el("td", { class: "mono" }, e.client || "–"));
}

async function load() {
  const params = new URLSearchParams({ limit: PAGE });
  for (const name of ["actor", "path_prefix", "station"]) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  for (const name of ["since", "until"]) if (form.elements[name].value) params.set(name, isoOf(form.elements[name].value));
  const cursor = cursors[cursors.length - 1];
  if (cursor) params.set("cursor", cursor);
  try {
    const page = await api(`/audit?${params}`);
    rows.replaceChildren(...page.items.map(row));
    if (!page.items.length) rows.append(el("tr", {}, el("td", { colspan: 6, text: "No entry matches." })));
    const first = (cursors.length - 1) * PAGE;
    document.getElementById("page-info").textContent =
      `${page.items.length ? first + 1 : 0}–${first + page.items.length} of ${page.total} requests`;
    const next = document.getElementById("next");
    next.disabled = !page.next_cursor;
    next.dataset.cursor = page.next_cursor || "";
    document.getElementById("first").disabled = cursors.length === 1;
  } catch (e) {
    if (e.status === 403) adminsOnly(document.getElementById("content"), "the audit log");
    else if (e.status !== 401) flash(`Could not load the audit log: ${e.message}`, "bad");
  }
}

form.addEventListener("submit", (event) => { event.preventDefault(); cursors = [null]; load(); });
document.getElementById("next").addEventListener("click", (event) => { cursors.push(event.target.dataset.cursor); load(); });
document.getElementById("first").addEventListener("click", () => { cursors = [null]; load(); });

const me = await session();
if (isAdmin(me)) await load();
else adminsOnly(document.getElementById("content"), "the audit log");
