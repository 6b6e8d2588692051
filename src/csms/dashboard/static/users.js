// Users and API tokens (admins): accounts with their role, created and disabled here; API
// tokens created for an account (the secret is shown once) and revoked.
import { api, session, el, when, flash } from "./app.js";
import { isAdmin, say, adminsOnly } from "./kit.js";

const outcome = document.getElementById("outcome");

async function all(path) {
  const items = [];
  let cursor = null;
  do {
    const page = await api(`${path}?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < 2000);
  return items;
}

async function setEnabled(user, enabled) {
  try {
    await api(`/users/${encodeURIComponent(user.name)}`, { method: "PATCH", body: { enabled } });
    say(outcome, `${user.name}: ${enabled ? "enabled" : "disabled (its sessions and tokens stop now)"}`, "ok");
  } catch (e) {
    say(outcome, `${user.name}: ${e.message}`, "bad");
  }
  await load();
}

function userRow(u, me) {
  const action = el("button", { type: "button", class: "secondary" }, u.enabled ? "Disable" : "Enable");
  action.setAttribute("aria-label", `${u.enabled ? "Disable" : "Enable"} ${u.name}`);
  action.disabled = u.name === me.name;  // an admin does not lock themself out here
  action.addEventListener("click", () => setEnabled(u, !u.enabled));
  return el("tr", { "data-user": u.name },
    el("th", { scope: "row" }, u.name),
    el("td", { class: "role" }, u.role),
    el("td", { class: "state" }, el("span", { class: `badge ${u.enabled ? "ok" : "off"}`, text: u.enabled ? "enabled" : "disabled" })),
    el("td", {}, when(u.created_at)),
    el("td", {}, action));
}

async function revoke(token) {
  try {
    await api(`/api-tokens/${token.id}`, { method: "DELETE" });
    say(outcome, `${token.name}: revoked`, "ok");
  } catch (e) {
    say(outcome, `${token.name}: ${e.message}`, "bad");
  }
  await load();
}

function tokenRow(t) {
  const expired = t.expires_at && Date.parse(t.expires_at) < Date.now();
  const state = t.revoked_at ? "revoked" : expired ? "expired" : "active";
  let action = null;
  if (!t.revoked_at) {
    action = el("button", { type: "button", class: "secondary" }, "Revoke");
    action.setAttribute("aria-label", `Revoke ${t.name}`);
    action.addEventListener("click", () => revoke(t));
  }
  return el("tr", { "data-api-token": t.name },
    el("th", { scope: "row" }, t.name),
    el("td", {}, t.account), el("td", {}, t.role), el("td", {}, when(t.created_at)),
    el("td", {}, t.expires_at ? when(t.expires_at) : "never"), el("td", {}, when(t.last_used_at)),
    el("td", { class: "state" }, el("span", { class: `badge ${state === "active" ? "ok" : "off"}`, text: state })),
    el("td", {}, action));
}

let me = null;

async function load() {
  try {
    const [users, tokens] = await Promise.all([all("/users"), all("/api-tokens")]);
    document.getElementById("users").replaceChildren(...users.map((u) => userRow(u, me)));
    document.getElementById("api-tokens").replaceChildren(...tokens.map(tokenRow));
    if (!tokens.length) document.getElementById("api-tokens").append(el("tr", {}, el("td", { colspan: 8, text: "No API token." })));
    const account = document.getElementById("token-account");
    const chosen = account.value || me.name;
    account.replaceChildren(...users.filter((u) => u.enabled).map((u) => el("option", { value: u.name, selected: u.name === chosen }, u.name)));
  } catch (e) {
    if (e.status === 403) adminsOnly(document.getElementById("content"), "the accounts and API tokens");
    else if (e.status !== 401) flash(`Could not load the accounts: ${e.message}`, "bad");
  }
}

document.getElementById("user-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target;
  const body = { name: f.user_name.value.trim(), role: f.role.value, password: f.password.value };
  try {
    await api("/users", { method: "POST", body });
    say(outcome, `${body.name}: account created (${body.role})`, "ok");
    f.reset();
  } catch (e) {
    say(outcome, `${body.name}: ${e.message}`, "bad");
  }
  await load();
});

document.getElementById("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target;
  const body = { name: f.token_name.value.trim(), account: f.account.value };
  if (f.role.value) body.role = f.role.value;
  if (f.days.value) body.expires_in = Number(f.days.value) * 86400;
  try {
    const created = await api("/api-tokens", { method: "POST", body });
    document.getElementById("secret-value").textContent = created.token;
    document.getElementById("secret").hidden = false;
    document.getElementById("secret-done").focus();
    say(outcome, `${body.name}: token created for ${created.account} (${created.role})`, "ok");
    f.token_name.value = "";
  } catch (e) {
    say(outcome, `${body.name}: ${e.message}`, "bad");
  }
  await load();
});

document.getElementById("secret-done").addEventListener("click", () => {
  document.getElementById("secret-value").textContent = "";  // gone from the page for good
  document.getElementById("secret").hidden = true;
});

me = await session();
if (isAdmin(me)) await load();
else adminsOnly(document.getElementById("content"), "the accounts and API tokens");
