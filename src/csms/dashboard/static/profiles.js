// Station page, charging profiles: the profiles csms believes are in force (GET
// /stations/{id}/charging-profiles), cleared one by one, and the composite schedule of an EVSE
// charted as steps (uPlot: time axis, limit in W or A, the value under the cursor in the legend),
// asked for with the typed GetCompositeSchedule intent; the last answer is shown until then.
import { api, el, ago, when, power, outcomeOf } from "./app.js";

const fmtLimit = (unit) => (v) => (v === null || v === undefined ? "no limit"
  : unit === "W" ? power(v) : `${Number(v).toFixed(1)} A`);

function periodsText(schedule) {
  const unit = schedule.charging_rate_unit;
  return schedule.periods.map((p) => `+${p.start_period} s: ${fmtLimit(unit)(p.limit)}`).join(", ");
}

// The schedule as step points: each period's limit from its start, held until the end.
export function stepPoints(schedule) {
  const start = Date.parse(schedule.start) / 1000;
  const pts = schedule.periods.map((p) => ({ t: start + p.start_period, v: p.limit }));
  if (pts.length) pts.push({ t: start + schedule.duration, v: pts[pts.length - 1].v });
  return pts;
}

function compositeChart(container) {
  let plot = null, unit = null;
  const make = (u) => {
    const format = fmtLimit(u);
    const series = (label, stroke, dash) => ({
      label, stroke, width: 2, dash, paths: window.uPlot.paths.stepped({ align: 1 }),
      value: (_, v) => (v === null ? "–" : format(v)),
    });
    const opts = {
      width: Math.max(320, container.clientWidth || 720), height: 240,
      scales: { x: { time: true } },
      series: [
        { label: "Time", value: (_, v) => (v === null ? "–" : new Date(v * 1000).toLocaleString()) },
        series(`Limit reported (${u})`, "#2e7d32"),
        series(`Limit expected by csms (${u})`, "#6a1b9a", [6, 4]),
      ],
      axes: [{}, { label: u === "W" ? "Power limit" : "Current limit", size: 80,
        values: (_, ticks) => ticks.map((v) => format(v)) }],
    };
    container.replaceChildren();
    plot = new window.uPlot(opts, [[], [], []], container);
    unit = u;
  };
  return {
    set(reported, expected) {
      const u = (reported || expected).charging_rate_unit;
      if (!plot || unit !== u) make(u);
      const a = reported ? stepPoints(reported) : [], b = expected ? stepPoints(expected) : [];
      const times = [...new Set([...a, ...b].map((p) => p.t))].sort((x, y) => x - y);
      const at = (pts, t) => { let v = null; for (const p of pts) if (p.t <= t) v = p.v; return pts.length ? v : null; };
      plot.setData([times, times.map((t) => at(a, t)), times.map((t) => at(b, t))]);
      container.dataset.points = String(times.length);
      container.dataset.unit = u;
    },
  };
}

export function profiles({ base, canEdit }) {
  const list = document.getElementById("profiles-list");
  const info = document.getElementById("profiles-info");
  const outcome = document.getElementById("profiles-outcome");
  const form = document.getElementById("composite-form");
  const said = document.getElementById("composite-outcome");
  const chart = compositeChart(document.getElementById("composite-chart"));
  const show = (node, { text, kind }) => { node.textContent = text; node.className = `outcome ${kind}`; };
  let shown = false;  // a fresh answer was charted: the stored one no longer replaces it

  async function clear(profileId) {
    show(outcome, { text: `profile ${profileId}: clearing…`, kind: "" });
    try {
      const r = await api(`${base}/commands/clear-charging-profile`, { method: "POST", body: { profile_id: profileId } });
      const o = outcomeOf(null, r);
      show(outcome, { text: `profile ${profileId}: ${o.text}`, kind: o.kind });
    } catch (e) {
      const o = outcomeOf(e, null);
      show(outcome, { text: `profile ${profileId}: ${o.text}`, kind: o.kind });
    }
    await load();
  }

  async function load() {
    try {
      const data = await api(`${base}/charging-profiles`);
      list.replaceChildren(...data.installed.map((p) => {
        const button = canEdit ? el("button", { type: "button", class: "secondary",
          "aria-label": `Clear profile ${p.profile.id}` }, "Clear") : null;
        if (button) button.addEventListener("click", () => clear(p.profile.id));
        return el("tr", { "data-profile": p.profile.id },
          el("th", { scope: "row" }, String(p.profile.id)),
          el("td", {}, p.evse_id === 0 ? "station" : `EVSE ${p.evse_id}`),
          el("td", {}, p.profile.purpose), el("td", {}, String(p.profile.stack_level)),
          el("td", {}, periodsText(p.profile.schedule)),
          el("td", {}, p.status || "no answer"), el("td", {}, ago(p.sent_at)), el("td", {}, button));
      }));
      if (!data.installed.length) list.append(el("tr", {}, el("td", { colspan: 8, text: "No profile in force." })));
      const sent = data.desired.length;
      info.textContent = `${data.installed.length} in force · ${sent} sent (newest ${sent ? ago(data.desired[0].sent_at) : "never"})`
        + (data.reported.length ? ` · ${data.reported.length} reports from the station` : "");
      const evse = Number(form.elements.evse_id.value);
      const last = data.composite.find((c) => c.evse_id === evse);
      if (!shown && last && last.schedule) {
        chart.set(last.schedule, null);
        show(said, { text: `EVSE ${evse}: last answer ${when(last.received_at)} (${last.status})`, kind: "" });
      }
    } catch (e) {
      if (e.status !== 401) info.textContent = e.message;
    }
  }

  async function composite(event) {
    event.preventDefault();
    const body = { evse_id: Number(form.elements.evse_id.value), duration: Number(form.elements.duration.value),
      charging_rate_unit: form.elements.charging_rate_unit.value };
    show(said, { text: "asking the station…", kind: "" });
    try {
      const r = await api(`${base}/commands/get-composite-schedule`, { method: "POST", body });
      if (r.reported || r.expected) { chart.set(r.reported, r.expected); shown = true; }
      const match = r.comparison ? (!r.comparison.differences.length ? " · matches what csms expects" : " · differs from what csms expects") : "";
      const o = outcomeOf(null, r);
      show(said, { text: `EVSE ${body.evse_id}: ${o.text}${match}`, kind: o.kind });
    } catch (e) {
      show(said, outcomeOf(e, null));
    }
  }

  if (canEdit) form.addEventListener("submit", composite);
  else form.hidden = true;
  return { load, onEvent: () => {} };
}
