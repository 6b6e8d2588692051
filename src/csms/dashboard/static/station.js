// Station page: identity, EVSEs with their running transaction, a live power chart and the
// typed commands (operators and admins only; the API refuses viewers anyway); its other sections
// (charging profiles, reservations, firmware and logs, message log, security events and
// connections) are one module each, loaded here and told of the station's live events.
import { api, session, mayAct, live, throttle, el, ago, when, energy, power, statusBadge,
  onlineBadge, outcomeOf, flash } from "./app.js";
import { timeChart, pointsOf } from "./chart.js";
import { configuration } from "./configuration.js";
import { profiles } from "./profiles.js";
import { reservations } from "./reservations.js";
import { transfers } from "./transfers.js";
import { messages } from "./messages.js";
import { history } from "./history.js";

const id = document.getElementById("station").dataset.station;
const base = `/stations/${encodeURIComponent(id)}`;
const WINDOW_S = 3600;  // the power chart shows the last hour
let detail = null;

function facts(s) {
  const list = document.getElementById("identity");
  const items = [
    ["Vendor", s.vendor_name], ["Model", s.model], ["Serial number", s.serial_number],
    ["Firmware", s.firmware_version], ["OCPP", s.ocpp_version], ["Registration", s.registration_status],
    ["Last seen", ago(s.last_seen_at)], ["Connected", when(s.connected_at)], ["Last boot", when(s.last_boot_at)],
  ];
  list.replaceChildren(...items.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v || "–" })]));
  document.getElementById("online-badge").replaceChildren(onlineBadge(s.online));
}

function evses(s) {
  const body = document.getElementById("evses");
  body.replaceChildren(...s.evses.map((e) => {
    const tx = e.transaction;
    return el("tr", { "data-evse": e.evse_id },
      el("th", { scope: "row" }, `EVSE ${e.evse_id}`),
      el("td", {}, statusBadge(e.status || (e.connectors[0] && e.connectors[0].status))),
      el("td", {}, e.connectors.map((c) => `${c.connector_id}: ${c.status}`).join(", ")),
      el("td", {}, tx ? el("a", { href: `/transactions/${encodeURIComponent(tx.id)}` }, tx.id) : "none"),
      el("td", {}, tx ? energy(tx.energy_wh) : "–"));
  }));
  if (!s.evses.length) body.append(el("tr", {}, el("td", { colspan: 5, text: "No EVSE reported yet." })));
  const select = document.getElementById("power-evse");
  const chosen = select.value;
  select.replaceChildren(...s.evses.map((e) => el("option", { value: e.evse_id, text: `EVSE ${e.evse_id}` })));
  if (chosen && s.evses.some((e) => String(e.evse_id) === chosen)) select.value = chosen;
  else {
    const running = s.evses.find((e) => e.transaction);
    if (running) select.value = running.evse_id;
  }
  const stop = document.getElementById("stop-tx");
  const open = s.evses.filter((e) => e.transaction);
  stop.replaceChildren(...open.map((e) => el("option", { value: e.transaction.transaction_id,
    text: `${e.transaction.id} on EVSE ${e.evse_id}` })));
  if (!open.length) stop.append(el("option", { value: "", text: "no transaction running" }));
}

async function loadDetail() {
  try {
    detail = await api(base);
    facts(detail);
    evses(detail);
  } catch (e) {
    if (e.status === 404) flash(`There is no station ${id}.`, "bad");
    else if (e.status !== 401) flash(`Could not load the station: ${e.message}`, "bad");
  }
}

const chart = timeChart(document.getElementById("power-chart"), { label: "Power", unit: "W" });
// The chart's points (time → W). A refresh reads only what came since the newest (with a minute
// of overlap for samples stored late), not the whole hour again: reading and downsampling
// the hour cost csms a read of every sample of it, every 5 s, per open page. The hour is read
// again (downsampled) when the EVSE changes, when the points pile up, or every 5 minutes.
const OVERLAP_MS = 60_000, FULL_EVERY_MS = 300_000, MAX_POINTS = 900;
let read = { evse: null, points: new Map(), fullAt: 0 };
async function loadPower() {
  const evse = document.getElementById("power-evse").value;
  if (!evse) return;
  const now = Date.now();
  const full = read.evse !== evse || !read.points.size || read.points.size > MAX_POINTS
    || now - read.fullAt > FULL_EVERY_MS;
  // From the newest sample's own time (the station's clock, not this browser's), less the overlap.
  const from = full ? now - WINDOW_S * 1000 : Math.max(...read.points.keys()) * 1000 - OVERLAP_MS;
  const query = new URLSearchParams({ measurand: "Power.Active.Import", from: new Date(from).toISOString() });
  if (full) query.set("points", "300");
  try {
    const series = await api(`${base}/evses/${evse}/meter-values?${query}`);
    if (full) read = { evse, points: new Map(), fullAt: now };
    for (const p of pointsOf(series.items, "Power.Active.Import")) read.points.set(p.t, p.v);
    const since = (now - WINDOW_S * 1000) / 1000;
    for (const t of read.points.keys()) if (t < since) read.points.delete(t);
    const points = [...read.points.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }));
    chart.set(points);
    const last = points[points.length - 1];
    document.getElementById("power-info").textContent = last
      ? `now ${power(last.v)} · ${points.length} readings in the last hour` : "no reading in the last hour";
  } catch (e) {
    if (e.status !== 401) document.getElementById("power-info").textContent = e.message;
  }
}

function commandBody(form) {
  const body = {};
  for (const input of form.querySelectorAll("input, select")) {
    if (input.value === "") continue;
    body[input.name] = input.type === "number" ? Number(input.value) : input.value;
  }
  return body;
}

function wireCommands() {
  const outcome = document.getElementById("outcome");
  for (const form of document.querySelectorAll("form.command")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const intent = form.dataset.intent;
      const button = form.querySelector("button");
      button.disabled = true;
      outcome.textContent = `${intent}: sending…`;
      outcome.className = "outcome";
      let result = null, error = null;
      try {
        result = await api(`${base}/commands/${intent}`, { method: "POST", body: commandBody(form) });
      } catch (e) {
        error = e;
      }
      const { text, kind } = outcomeOf(error, result);
      outcome.textContent = `${intent}: ${text}`;
      outcome.className = `outcome ${kind}`;
      button.disabled = false;
      refresh();
    });
  }
}

const refresh = throttle(async () => { await loadDetail(); await loadPower(); }, 1000);
// Live: a change of state (connection, status, a transaction starting or ending) redraws the
// detail within a second; readings (transaction.updated, meter.*: every MeterValues) redraw the
// detail's energy and the power chart (an hour of readings, read again in full) at most every
// 5 s, whatever the station's event rate (each open page reading the station on every MeterValues
// cost csms a quarter more CPU per MeterValues with 5 dashboards open).
const refreshDetail = throttle(loadDetail, 1000);
const refreshPower = throttle(loadPower, 5000);
const refreshReadings = throttle(async () => { await loadDetail(); await loadPower(); }, 5000);
const STATE = /^(station\.|transaction\.(started|ended)|events\.lost)/;

const me = await session();
if (mayAct(me)) {
  document.getElementById("commands").hidden = false;
  wireCommands();
}
document.getElementById("power-evse").addEventListener("change", loadPower);
await loadDetail();
await loadPower();
const settings = configuration({
  base, version: () => detail && detail.ocpp_version, canEdit: mayAct(me), outcomeOf,
});
await settings.load();
const canEdit = mayAct(me);
const sections = [profiles({ base, canEdit }), reservations({ base, canEdit }),
  transfers({ base, canEdit }), messages({ base }), history({ id, base })];
await Promise.all(sections.map((section) => section.load()));
const DETAIL = /^(station\.|transaction\.|meter\.|events\.lost)/;  // what the top of the page shows
live({
  stations: [id],
  label: document.getElementById("live"),
  onTick: () => { refresh(); for (const section of sections) section.load(); },
  onEvent: (ev) => {
    if (STATE.test(ev.type)) { refreshDetail(); refreshPower(); }
    else if (DETAIL.test(ev.type)) refreshReadings();
    for (const section of sections) section.onEvent(ev);
  },
});
