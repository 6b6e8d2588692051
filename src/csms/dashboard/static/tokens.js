// Id tokens: list with filters, register one, block and unblock, edit its expiry, group and
// language, bulk import a CSV or JSON file (operators and admins).
import { api, session, mayAct, el, when, statusBadge, flash, apiUrl } from "./app.js";
import { upload, say as sayIn, isoOf, localInput } from "./kit.js";

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
  const edit = acting ? el("button", { type: "button", class: "secondary" }, "Edit") : null;
  if (action) {
    action.setAttribute("aria-label", `${blocked ? "Unblock" : "Block"} ${t.id_token}`);
    action.addEventListener("click", () => setStatus(t, blocked ? "Accepted" : "Blocked"));
    edit.setAttribute("aria-label", `Edit ${t.id_token}`);
    edit.addEventListener("click", () => openEdit(t));
  }
  return el("tr", { "data-token": t.id_token },
    el("th", { scope: "row", class: "mono" }, t.id_token),
    el("td", {}, t.type || "idTag"),
    el("td", { class: "status" }, statusBadge(t.effective_status)),
    el("td", { class: "expiry" }, when(t.expiry_date)),
    el("td", { class: "group" }, t.group_id_token || "–"),
    el("td", { class: "language" }, t.language || "–"),
    el("td", {}, action, " ", edit));
}

// Edit: status, expiry, group (parent) and language; an empty field clears the member.
let editing = null;
const dialog = document.getElementById("edit");

function openEdit(t) {
  editing = t;
  const f = document.getElementById("edit-form");
  document.getElementById("edit-title").textContent = `Edit ${t.id_token} (${t.type || "idTag"})`;
  f.status.value = t.status;
  f.expiry_date.value = t.expiry_date ? localInput(new Date(t.expiry_date)) : "";
  f.group_id_token.value = t.group_id_token || "";
  f.language.value = t.language || "";
  dialog.returnValue = "";  // Escape keeps the last value: a cancel must not save
  dialog.showModal();
}

dialog.addEventListener("close", async () => {
  if (dialog.returnValue !== "save" || !editing) return;
  const f = document.getElementById("edit-form");
  const t = editing;
  const body = {
    status: f.status.value,
    expiry_date: isoOf(f.expiry_date.value),
    group_id_token: f.group_id_token.value.trim() || null,
    language: f.language.value.trim() || null,
  };
  try {
    await api(t.href.replace(/^\/api\/v1/, ""), { method: "PATCH", body });
    say(`${t.id_token}: saved`, "ok");
  } catch (e) {
    say(`${t.id_token}: ${e.message}`, "bad");
  }
  await load();
});

// Bulk import: the file goes to the API as it is; the rows it refuses are listed.
function importErrors(errors) {
  const table = document.getElementById("import-errors");
  table.tBodies[0].replaceChildren(...errors.map((e) => el("tr", { "data-row": e.row },
    el("th", { scope: "row" }, String(e.row)), el("td", {}, e.field || "–"), el("td", {}, e.message))));
  table.hidden = !errors.length;
}

document.getElementById("import-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target;
  const file = f.file.files[0];
  const out = document.getElementById("import-outcome");
  if (!file) return;
  const json = /\.json$/i.test(file.name) || file.type === "application/json";
  importErrors([]);
  try {
    const done = await upload(`/tokens/import?mode=${f.mode.value}`, file, json ? "application/json" : "text/csv");
    sayIn(out, `${file.name}: ${done.created} new, ${done.updated} updated, ${done.rejected} rejected`,
      done.rejected ? "bad" : "ok");
    importErrors(done.errors);
  } catch (e) {
    sayIn(out, `${file.name}: ${e.message}`, "bad");
    importErrors(e.problem.errors || []);
  }
  await load();
});

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
    if (!page.items.length) rows.append(el("tr", {}, el("td", { colspan: 7, text: "No token matches." })));
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
  if (f.language.value.trim()) body.language = f.language.value.trim();
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
document.getElementById("import").hidden = !acting;
document.getElementById("export").href = apiUrl("/tokens/export?format=csv");
await load();
