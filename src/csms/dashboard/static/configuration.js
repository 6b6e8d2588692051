// The station page's configuration: 1.6 keys or 2.x variables, reported beside what csms sent
// (GET /stations/{id}/configuration), read and set through the typed commands.
import { api, el, ago } from "./app.js";

// A 2.x variable's device-model path: EVSE[2].Connector[1]/Component[inst]/Variable[inst]@Type
const PATH = /^(?:EVSE\[(\d+)\](?:\.Connector\[(\d+)\])?\/)?([^/[\]]+)(?:\[([^\]]*)\])?\/([^/[\]@]+)(?:\[([^\]]*)\])?(?:@(\w+))?$/;

export function variableRef(path) {
  const m = PATH.exec(path.trim());
  if (!m) return null;
  const ref = { component: m[3], variable: m[5] };
  if (m[1]) ref.evse_id = Number(m[1]);
  if (m[2]) ref.connector_id = Number(m[2]);
  if (m[4]) ref.component_instance = m[4];
  if (m[6]) ref.variable_instance = m[6];
  if (m[7]) ref.attribute_type = m[7];
  return ref;
}

function said(status, name) {
  if (/^accepted$/i.test(status)) return { text: `${name}: accepted by the station`, kind: "ok" };
  if (/rebootrequired/i.test(status)) return { text: `${name}: accepted, takes effect after a reboot`, kind: "ok" };
  return { text: `${name}: refused by the station (${status})`, kind: "bad" };
}

export function configuration({ base, version, canEdit, outcomeOf }) {
  const v16 = () => version() === "1.6";
  const body = document.getElementById("settings");
  const info = document.getElementById("configuration-info");
  const outcome = document.getElementById("configuration-outcome");
  const form = document.getElementById("configuration-form");
  const show = ({ text, kind }) => { outcome.textContent = text; outcome.className = `outcome ${kind}`; };

  async function load() {
    try {
      const config = await api(`${base}/configuration`);
      const settings = v16() ? config.keys : config.variables;
      body.replaceChildren(...settings.map((s) => {
        const edit = canEdit
          ? el("button", { type: "button", class: "secondary", "aria-label": `Edit ${s.name}` }, "Edit")
          : null;
        if (edit) {
          edit.addEventListener("click", () => {
            form.elements.name.value = s.name;
            form.elements.value.value = (s.reported && s.reported.value) || "";
            form.elements.value.focus();
          });
        }
        const reported = s.reported
          ? `${s.reported.value ?? "–"}${s.reported.readonly ? " (read-only)" : ""}` : "–";
        const sent = s.desired
          ? `${s.desired.value} (${s.desired.status || "no answer"}, ${ago(s.desired.sent_at)})` : "–";
        return el("tr", { "data-setting": s.name },
          el("th", { scope: "row", class: "mono" }, s.name),
          el("td", { class: "reported" }, reported),
          el("td", { class: "desired" }, sent),
          el("td", {}, edit));
      }));
      info.textContent = settings.length
        ? `${settings.length} ${v16() ? "keys" : "variables"}`
        : "Nothing read yet." + (canEdit ? " Read it from the station." : "");
    } catch (e) {
      if (e.status !== 401) info.textContent = e.message;
    }
  }

  async function read() {
    show({ text: "reading…", kind: "" });
    try {
      if (v16()) {
        await api(`${base}/commands/get-configuration`, { method: "POST", body: {} });
      } else {  // the station answers with NotifyReport messages, shortly after
        await api(`${base}/commands/get-base-report`, {
          method: "POST",
          body: { request_id: Math.floor(Math.random() * 1e9), report_base: "ConfigurationInventory" },
        });
      }
      show({ text: "read from the station", kind: "ok" });
    } catch (e) {
      show(outcomeOf(e, null));
    }
    await load();
    if (!v16()) setTimeout(load, 1500);
  }

  async function set(event) {
    event.preventDefault();
    const name = form.elements.name.value.trim();
    const value = form.elements.value.value;
    let payload;
    if (v16()) {
      payload = { key: name, value };
    } else {
      const ref = variableRef(name);
      if (!ref) {
        show({ text: `${name}: not a variable path (Component/Variable, optionally EVSE[n]/ first)`, kind: "bad" });
        return;
      }
      payload = { variables: [{ ref, value }] };
    }
    try {
      const result = await api(`${base}/commands/set-configuration`, { method: "POST", body: payload });
      show(said(v16() ? result.status : result.variables[0].status, name));
    } catch (e) {
      show(outcomeOf(e, null));
    }
    await load();
  }

  if (canEdit) {
    document.getElementById("configuration-edit").hidden = false;
    document.getElementById("configuration-read").addEventListener("click", read);
    form.addEventListener("submit", set);
  }
  return { load };
}
