// Id tokens: list with filters, register one, block and unblock (operators and admins).
import { api, session, mayAct, el, when, statusBadge, flash } from "./app.js";

const PAGE = 50;
const form = document.getElementById("filters");
const rows = document.getElementById("tokens");
const outcome = document.getElementById("outcome");
let cursors = [null];
let acting = false;

function say(text, kind) {
  outcome.textContent = text;
  outcome.className = `outcome ${kind}`;
}

async function setStatus(token, status) {
  try {
    await api(token.href.replace(/^\/api\/v1/, ""), { method: "PATCH", body: { status } });
    say(`${token.id_token}: ${status === "Blocked" ? "blocked" : "unblocked"}`, "ok");
  } catch (e) {
    say(`${token.id_token}: ${e.message}`, "bad");
  }
  await load();
}

function row(t) {
  const blocked = t.status === "Blocked";
  const action = acting
    ? el("button", { type: "button", class: "secondary" }, blocked ? "Unblock" : "Block")
    : null;
  if (action) {
    action.setAttribute("aria-label", `${blocked ? "Unblock" : "Block"} ${t.id_token}`);
    action.addEventListener("click", () => setStatus(t, blocked ? "Accepted" : "Blocked"));
  }
  return el("tr", { "data-token": t.id_token },
    el("th", { scope: "row", class: "mono" }, t.id_token),
    el("td", {}, t.type || "idTag"),
    el("td", { class: "status" }, statusBadge(t.effective_status)),
    el("td", {}, when(t.expiry_date)),
    el("td", {}, t.group_id_token || "–"),
    el("td", {}, action));
}

async function load() {
  const params = new URLSearchParams({ limit: PAGE });
  for (const name of ["search", "status", "group"]) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  const cursor = cursors[cursors.length - 1];
  if (cursor) params.set("cursor", cursor);
  try {
    const page = await api(`/tokens?${params}`);
    rows.replaceChildren(...page.items.map(row));
    if (!page.items.length) rows.append(el("tr", {}, el("td", { colspan: 6, text: "No token matches." })));
    const first = (cursors.length - 1) * PAGE;
    document.getElementById("page-info").textContent =
      `${page.items.length ? first + 1 : 0}–${first + page.items.length} of ${page.total} tokens`;
    const next = document.getElementById("next");
    next.disabled = !page.next_cursor;
    next.dataset.cursor = page.next_cursor || "";
    document.getElementById("first").disabled = cursors.length === 1;
  } catch (e) {
    if (e.status !== 401) flash(`Could not load the tokens: ${e.message}`, "bad");
  }
}

document.getElementById("create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target;
  const body = { id_token: f.id_token.value.trim() };
  if (f.type.value) body.type = f.type.value;
  if (f.group_id_token.value.trim()) body.group_id_token = f.group_id_token.value.trim();
  if (f.expiry_date.value) body.expiry_date = new Date(f.expiry_date.value).toISOString();
  try {
    await api("/tokens", { method: "POST", body });
    say(`${body.id_token}: registered`, "ok");
    f.reset();
  } catch (e) {
    say(`${body.id_token}: ${e.message}`, "bad");
  }
  await load();
});
form.addEventListener("submit", (event) => { event.preventDefault(); cursors = [null]; load(); });
document.getElementById("next").addEventListener("click", (event) => {
  cursors.push(event.target.dataset.cursor); load();
});
document.getElementById("first").addEventListener("click", () => { cursors = [null]; load(); });

const me = await session();
acting = mayAct(me);
document.getElementById("create").hidden = !acting;
await load();
