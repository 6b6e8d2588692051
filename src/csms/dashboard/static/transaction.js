// One transaction: its facts and warnings, power and energy charts from its meter values, CSV.
import { api, apiUrl, session, live, throttle, el, when, duration, energy, flash } from "./app.js";
import { timeChart, pointsOf } from "./chart.js";

const id = document.getElementById("transaction").dataset.transaction;
const base = `/transactions/${encodeURIComponent(id)}`;
const powerChart = timeChart(document.getElementById("power-chart"), { label: "Power", unit: "W" });
const energyChart = timeChart(document.getElementById("energy-chart"),
  { label: "Energy delivered", unit: "Wh", color: "#2e7d32" });

function facts(t) {
  const items = [
    ["Station", el("a", { href: `/stations/${encodeURIComponent(t.station_id)}` }, t.station_id)],
    ["OCPP", t.ocpp_version], ["Transaction id", t.transaction_id], ["EVSE", t.evse_id],
    ["Connector", t.connector_id], ["Id token", t.id_token], ["Started", when(t.started_at)],
    ["Ended", t.open ? "running" : when(t.ended_at)], ["Duration", duration(t.duration_s)],
    ["Energy", energy(t.energy_wh)], ["Stop reason", t.stopped_reason], ["Closed by", t.closed_by],
  ];
  document.getElementById("facts").replaceChildren(...items.flatMap(([k, v]) =>
    [el("dt", { text: k }), el("dd", {}, v ?? "–")]));
  const warnings = document.getElementById("warnings");
  warnings.replaceChildren(...(t.warnings || []).map((w) => el("p", { class: "notice", text: w })));
  if (t.started_at) {  // the CSV of the listing, narrowed to this transaction
    const start = new Date(t.started_at);
    const params = new URLSearchParams({ station: t.station_id, started_from: start.toISOString(),
      started_to: new Date(start.getTime() + 1).toISOString() });
    if (t.evse_id) params.set("evse", t.evse_id);
    document.getElementById("csv").href = apiUrl(`/transactions.csv?${params}`);
  }
}

async function load() {
  try {
    const t = await api(base);
    facts(t);
    const series = await api(`${base}/meter-values?points=500`);
    powerChart.set(pointsOf(series.items, "Power.Active.Import"));
    const register = pointsOf(series.items, "Energy.Active.Import.Register");
    const start = t.meter_start_wh ?? (register[0] ? register[0].v : 0);
    energyChart.set(register.map((p) => ({ t: p.t, v: Math.max(0, p.v - start) })));
    return t;
  } catch (e) {
    if (e.status === 404) flash(`There is no transaction ${id}.`, "bad");
    else if (e.status !== 401) flash(`Could not load the transaction: ${e.message}`, "bad");
    return null;
  }
}

await session();
const t = await load();
if (t && t.open) {
  live({ stations: [t.station_id], types: ["transaction.", "meter."], onTick: load,
    onEvent: throttle(load, 1000) });
}
