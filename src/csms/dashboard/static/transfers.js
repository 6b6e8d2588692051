// Station page, firmware and logs: UpdateFirmware with a stored image (GET /firmware) and a log
// upload (GetLog; 1.6 without the security extension: GetDiagnostics), and the station's requests
// with each status it reported (Downloading → Installed; Uploading → Uploaded), redrawn live on
// the firmware.status and log.status events.
import { api, el, ago, statusBadge, outcomeOf } from "./app.js";

const HISTORY_OF = 5;  // the newest requests whose status history is shown

export function transfers({ base, canEdit }) {
  const list = document.getElementById("transfers-list");
  const outcome = document.getElementById("transfers-outcome");
  const images = document.getElementById("firmware-image");
  const show = ({ text, kind }) => { outcome.textContent = text; outcome.className = `outcome ${kind}`; };

  async function loadImages() {
    try {
      const found = await api("/firmware");
      images.replaceChildren(...found.map((f) => el("option", { value: f.id, text: `${f.filename} (${f.id.slice(0, 8)})` })));
      if (!found.length) images.append(el("option", { value: "", text: "no image uploaded yet" }));
    } catch (e) {
      if (e.status !== 401) show({ text: e.message, kind: "bad" });
    }
  }

  async function load() {
    try {
      const found = await api(`${base}/file-requests`);
      const details = await Promise.all(found.slice(0, HISTORY_OF).map((r) => api(`/file-requests/${r.id}`).catch(() => null)));
      list.replaceChildren(...found.map((r, i) => {
        const history = details[i] ? details[i].history.map((h) => h.status) : [];
        return el("tr", { "data-request": r.id },
          el("th", { scope: "row" }, String(r.id)),
          el("td", {}, `${r.kind}${r.log_type ? ` (${r.log_type})` : ""}`),
          el("td", { class: "status" }, statusBadge(r.status)),
          el("td", { class: "progress" }, history.length ? history.join(" → ") : r.phase),
          el("td", {}, ago(r.updated_at)));
      }));
      if (!found.length) list.append(el("tr", {}, el("td", { colspan: 5, text: "No firmware update or log upload yet." })));
    } catch (e) {
      if (e.status !== 401) show({ text: e.message, kind: "bad" });
    }
  }

  async function send(event, intent, body, what) {
    event.preventDefault();
    show({ text: `${what}: sending…`, kind: "" });
    try {
      const r = await api(`${base}/commands/${intent}`, { method: "POST", body });
      const o = outcomeOf(null, r);
      show({ text: `${what}: ${o.text}${r.request ? ` (request ${r.request.id})` : ""}`, kind: o.kind });
    } catch (e) {
      const o = outcomeOf(e, null);
      show({ text: `${what}: ${o.text}`, kind: o.kind });
    }
    await load();
  }

  if (canEdit) {
    document.getElementById("transfer-forms").hidden = false;
    document.getElementById("firmware-form").addEventListener("submit", (e) => send(e, "update-firmware",
      { firmware_id: images.value, retrieve_date: new Date().toISOString() }, "firmware update"));
    document.getElementById("log-form").addEventListener("submit", (e) => send(e, "get-log",
      { log_type: document.getElementById("log-type").value }, "log upload"));
    loadImages();
  }
  return {
    load,
    onEvent(ev) {
      if (ev.type === "firmware.status" || ev.type === "log.status") load();
    },
  };
}
