// Station page, reservations: the station's reservations (GET /stations/{id}/reservations,
// expiry applied when read), reserved (typed ReserveNow) and cancelled (CancelReservation).
import { api, el, when, statusBadge, outcomeOf, throttle } from "./app.js";

const ACTIVE = /^(requested|accepted)$/i;

// A datetime-local value (the browser's zone) one hour from now.
function inAnHour() {
  const d = new Date(Date.now() + 3600 * 1000);
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 16);
}

export function reservations({ base, canEdit }) {
  const list = document.getElementById("reservations-list");
  const form = document.getElementById("reserve-form");
  const outcome = document.getElementById("reservations-outcome");
  const show = (text, kind) => { outcome.textContent = text; outcome.className = `outcome ${kind}`; };

  async function cancel(id) {
    show(`reservation ${id}: cancelling…`, "");
    try {
      const r = await api(`${base}/commands/cancel-reservation`, { method: "POST", body: { reservation_id: id } });
      const o = outcomeOf(null, r);
      show(`reservation ${id}: ${o.text}`, o.kind);
    } catch (e) {
      const o = outcomeOf(e, null);
      show(`reservation ${id}: ${o.text}`, o.kind);
    }
    await load();
  }

  async function load() {
    try {
      const page = await api(`${base}/reservations?limit=50`);
      list.replaceChildren(...page.items.map((r) => {
        const button = canEdit && ACTIVE.test(r.status) ? el("button", { type: "button", class: "secondary",
          "aria-label": `Cancel reservation ${r.reservation_id}` }, "Cancel") : null;
        if (button) button.addEventListener("click", () => cancel(r.reservation_id));
        return el("tr", { "data-reservation": r.reservation_id },
          el("th", { scope: "row" }, String(r.reservation_id)),
          el("td", {}, r.connector_id === 0 ? "any" : `EVSE ${r.connector_id}`),
          el("td", { class: "mono" }, r.id_token), el("td", {}, when(r.expiry_date)),
          el("td", { class: "status" }, statusBadge(r.status)),
          el("td", {}, r.transaction_id ? el("a", { href: `/transactions/${encodeURIComponent(r.transaction_id)}` }, r.transaction_id) : "–"),
          el("td", {}, button));
      }));
      if (!page.items.length) list.append(el("tr", {}, el("td", { colspan: 7, text: "No reservation." })));
    } catch (e) {
      if (e.status !== 401) show(e.message, "bad");
    }
  }

  async function reserve(event) {
    event.preventDefault();
    const token = form.elements.id_token.value.trim();
    const body = { evse_id: Number(form.elements.evse_id.value), id_token: token,
      expiry_date: new Date(form.elements.expiry_date.value).toISOString() };
    show(`${token}: reserving…`, "");
    try {
      const r = await api(`${base}/commands/reserve`, { method: "POST", body });
      const o = outcomeOf(null, r);
      show(`reservation ${r.reservation_id} for ${token}: ${o.text}`, o.kind);
    } catch (e) {
      const o = outcomeOf(e, null);
      show(`${token}: ${o.text}`, o.kind);
    }
    await load();
  }

  if (canEdit) {
    form.hidden = false;
    form.elements.expiry_date.value = inAnHour();
    form.addEventListener("submit", reserve);
  }
  // A transaction's start (or end) may use a reservation, a command may make or cancel one; every
  // transaction.updated (each MeterValues) reloading the list cost csms a query per event per page.
  const reload = throttle(load, 1000);
  const RELOAD = new Set(["transaction.started", "transaction.ended", "command.result"]);
  return {
    load,
    onEvent(ev) {
      if (RELOAD.has(ev.type)) reload();
    },
  };
}
