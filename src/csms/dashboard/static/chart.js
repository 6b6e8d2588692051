// Time-series charts on uPlot (vendored): a time axis, a unit axis and a legend showing the
// value under the cursor (the tooltip).
import { power, energy } from "./app.js";

const UNITS = { W: power, Wh: energy };

export function timeChart(container, { label, unit, color = "#1565c0" }) {
  const format = UNITS[unit] || ((v) => `${v} ${unit}`);
  const opts = {
    width: Math.max(320, container.clientWidth || 720),
    height: 260,
    scales: { x: { time: true } },
    series: [
      { label: "Time", value: (u, v) => (v === null ? "–" : new Date(v * 1000).toLocaleString()) },
      { label, stroke: color, width: 2, fill: `${color}22`, value: (u, v) => (v === null ? "–" : format(v)) },
    ],
    axes: [
      {},
      { label: unit === "W" ? "Power" : "Energy", size: 80,
        values: (u, ticks) => ticks.map((v) => format(v)) },
    ],
  };
  const plot = new window.uPlot(opts, [[], []], container);
  const fit = () => plot.setSize({ width: Math.max(320, container.clientWidth), height: 260 });
  window.addEventListener("resize", fit);
  return {
    set(points) {  // points: [{t: seconds, v: value}] in time order
      plot.setData([points.map((p) => p.t), points.map((p) => p.v)]);
      container.dataset.points = String(points.length);
    },
  };
}

// Meter samples of one measurand as chart points (values converted to W or Wh).
export function pointsOf(items, measurand) {
  const scale = (unit) => (unit && unit.startsWith("k") ? 1000 : 1);
  const byTime = new Map();
  for (const s of items) {
    if (s.measurand !== measurand || s.value === null) continue;
    const t = Date.parse(s.timestamp) / 1000;
    const v = s.value * scale(s.unit);
    byTime.set(t, s.phase ? (byTime.get(t) || 0) + v : v);  // phases add up
  }
  return [...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }));
}
