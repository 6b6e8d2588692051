// Station page, its security events (GET /security-events?station_id=, live on security.event)
// and its connection history (GET /stations/{id}/connections: connects with the OCPP version,
// disconnects with the close code in words, live on station.connected/disconnected).
import { api, el, when } from "./app.js";

export function history({ id, base }) {
  const security = document.getElementById("security-list");
  const connections = document.getElementById("connections-list");

  async function loadSecurity() {
    try {
      const found = await api(`/security-events?${new URLSearchParams({ station_id: id, limit: "50" })}`);
      security.replaceChildren(...found.map((e) => el("tr", { "data-security-event": e.id },
        el("td", {}, when(e.timestamp)),
        el("th", { scope: "row", class: "mono" }, e.type),
        el("td", {}, e.critical ? el("span", { class: "badge bad", text: "critical" }) : "no"),
        el("td", {}, e.tech_info || "–"))));
      if (!found.length) security.append(el("tr", {}, el("td", { colspan: 4, text: "No security event." })));
    } catch (e) {
      if (e.status !== 401) security.replaceChildren(el("tr", {}, el("td", { colspan: 4, text: e.message })));
    }
  }

  async function loadConnections() {
    try {
      const page = await api(`${base}/connections?limit=50`);
      connections.replaceChildren(...page.items.map((c) => el("tr", { "data-connection": c.id },
        el("td", {}, when(c.at)),
        el("th", { scope: "row" }, el("span", { class: `badge ${c.event === "connected" ? "ok" : "off"}`, text: c.event })),
        el("td", {}, c.ocpp_version || "–"),
        el("td", { class: "reason" }, c.reason || "–"))));
      if (!page.items.length) connections.append(el("tr", {}, el("td", { colspan: 4, text: "Never connected." })));
    } catch (e) {
      if (e.status !== 401) connections.replaceChildren(el("tr", {}, el("td", { colspan: 4, text: e.message })));
    }
  }

  return {
    async load() { await Promise.all([loadSecurity(), loadConnections()]); },
    onEvent(ev) {
      if (ev.type === "security.event") loadSecurity();
      if (ev.type === "station.connected" || ev.type === "station.disconnected") loadConnections();
    },
  };
}
