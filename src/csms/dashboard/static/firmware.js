// Firmware: upload images, roll one out to chosen stations (the typed update-firmware intent
// as one fan-out job), and follow each station's FirmwareStatusNotifications live.
import { api, session, mayAct, el, when, statusBadge, flash } from "./app.js";
import { upload, stream, say, isoOf, localInput, bytes } from "./kit.js";

const images = new Map();  // firmware id -> image
const selected = new Set();  // station ids chosen for the rollout
const watched = new Map();  // station id -> {image, answer, steps: [status], at}
const statusRows = document.getElementById("status");
let filterTimer = null;

async function loadImages() {
  const found = await api("/firmware");
  images.clear();
  for (const image of found) images.set(image.id, image);
  const body = document.getElementById("images");
  body.replaceChildren(...found.map((i) => el("tr", { "data-image": i.filename },
    el("th", { scope: "row" }, i.filename), el("td", {}, bytes(i.size)),
    el("td", { class: "mono", title: i.sha256 }, `${i.sha256.slice(0, 16)}…`), el("td", {}, when(i.created_at)))));
  if (!found.length) body.append(el("tr", {}, el("td", { colspan: 4, text: "No image uploaded yet." })));
  const choice = document.getElementById("rollout-image");
  choice.replaceChildren(...found.map((i) => el("option", { value: i.id }, `${i.filename} (${when(i.created_at)})`)));
}

function countSelected() {
  const n = selected.size;
  document.getElementById("selected-count").textContent = `${n} station${n === 1 ? "" : "s"} selected`;
}

async function loadStations() {
  const params = new URLSearchParams({ limit: 50 });
  const q = document.getElementById("station-filter").value.trim();
  if (q) params.set("q", q);
  if (document.getElementById("online-only").checked) params.set("online", "true");
  const page = await api(`/stations?${params}`);
  const list = document.getElementById("station-list");
  list.replaceChildren(...page.items.map((s) => {
    const id = `pick-${s.id}`;
    const box = el("input", { type: "checkbox", id, value: s.id, checked: selected.has(s.id) });
    box.addEventListener("change", () => { if (box.checked) selected.add(s.id); else selected.delete(s.id); countSelected(); });
    return el("li", {}, box, el("label", { for: id }, `${s.id} `,
      el("span", { class: "meta" }, `${s.ocpp_version || "?"}, ${s.online ? "online" : "offline"}`)));
  }));
  if (!page.items.length) list.append(el("li", { class: "meta" }, "No station matches."));
  else if (page.total > page.items.length) list.append(el("li", { class: "meta" }, `first ${page.items.length} of ${page.total}: narrow the filter`));
}

function render(stationId) {
  const w = watched.get(stationId);
  const last = w.steps[w.steps.length - 1];
  const row = el("tr", { "data-station": stationId },
    el("th", { scope: "row" }, el("a", { href: `/stations/${encodeURIComponent(stationId)}` }, stationId)),
    el("td", {}, w.image || "–"),
    el("td", { class: "answer" }, w.answer ? statusBadge(w.answer) : "waiting…"),
    el("td", { class: "fw-status" }, last ? statusBadge(last) : "–"),
    el("td", { class: "steps" }, w.steps.join(" → ") || "–"),
    el("td", {}, when(w.at)));
  const old = statusRows.querySelector(`tr[data-station="${CSS.escape(stationId)}"]`);
  if (old) old.replaceWith(row); else statusRows.append(row);
}

function watch(stationId, image) {
  watched.set(stationId, { image, answer: null, steps: [], at: null });
  render(stationId);
}

// The answer of each station to UpdateFirmware, from the job (polled until every one answered).
async function follow(job) {
  for (let i = 0; i < 120; i++) {
    for (const r of job.results) {
      const w = watched.get(r.station_id);
      if (!w || r.outcome === "pending") continue;
      w.answer = r.outcome === "ok" ? (r.result && r.result.status) || "Accepted"
        : r.outcome === "offline" ? "offline" : (r.problem && (r.problem.detail || r.problem.title)) || r.outcome;
      w.at = w.at || r.finished_at;
      render(r.station_id);
    }
    if (job.state === "done" || job.state === "failed") return;
    await new Promise((resolve) => setTimeout(resolve, 500));
    job = await api(`/jobs/${encodeURIComponent(job.id)}`);
  }
}

// Each watched station's statuses from its latest firmware request (its stored history).
async function fromRequests() {
  await Promise.all([...watched.keys()].slice(0, 100).map(async (stationId) => {
    const requests = await api(`/stations/${encodeURIComponent(stationId)}/file-requests`);
    const latest = requests.find((q) => q.kind === "firmware");
    if (!latest) return;
    const detail = await api(`/file-requests/${latest.id}`);
    const w = watched.get(stationId);
    if (!w) return;
    w.steps = detail.history.map((h) => h.status);
    w.at = detail.updated_at;
    render(stationId);
  }));
}

// After a reload: the stations of the latest rollout with the status history of their request.
async function latestRollout() {
  const jobs = await api("/jobs?limit=50");
  const job = jobs.items.find((j) => j.intent === "update-firmware");
  if (!job) return;
  const image = images.get(job.params.firmware_id);
  for (const r of job.results.slice(0, 100)) watch(r.station_id, image ? image.filename : job.params.firmware_id);
  await follow(job);
  await fromRequests();
}

document.getElementById("upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = event.target.file.files[0];
  const out = document.getElementById("upload-outcome");
  if (!file) return;
  say(out, `Uploading ${file.name}…`, "");
  try {
    const image = await upload(`/firmware?filename=${encodeURIComponent(file.name)}`, file, "application/octet-stream");
    say(out, `${image.filename}: uploaded (${bytes(image.size)})`, "ok");
    event.target.reset();
    await loadImages();
    document.getElementById("rollout-image").value = image.id;
  } catch (e) {
    say(out, `${file.name}: ${e.message}`, "bad");
  }
});

document.getElementById("rollout-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target;
  const out = document.getElementById("rollout-outcome");
  if (!selected.size) { say(out, "Choose at least one station", "bad"); return; }
  const params = { firmware_id: f.firmware_id.value, retrieve_date: isoOf(f.retrieve_date.value) };
  if (f.install_date.value) params.install_date = isoOf(f.install_date.value);
  const stations = [...selected];
  // Watched before the job starts: a fast station's first status may beat the job's answer.
  statusRows.replaceChildren();
  watched.clear();
  const image = images.get(params.firmware_id);
  for (const s of stations) watch(s, image ? image.filename : params.firmware_id);
  try {
    const job = await api("/commands/update-firmware", { method: "POST", body: { stations, params } });
    say(out, `Rolling out to ${stations.length} station${stations.length === 1 ? "" : "s"}`, "ok");
    await follow(job);
  } catch (e) {
    say(out, `Not sent: ${e.message}`, "bad");
  }
});

document.getElementById("station-filter").addEventListener("input", () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(loadStations, 250);
});
document.getElementById("online-only").addEventListener("change", loadStations);
document.getElementById("select-shown").addEventListener("click", () => {
  for (const box of document.querySelectorAll("#station-list input")) { box.checked = true; selected.add(box.value); }
  countSelected();
});
document.getElementById("select-none").addEventListener("click", () => {
  selected.clear();
  for (const box of document.querySelectorAll("#station-list input")) box.checked = false;
  countSelected();
});

const me = await session();
const acting = mayAct(me);
document.getElementById("upload").hidden = !acting;
document.getElementById("rollout").hidden = !acting;
document.getElementById("retrieve").value = localInput(new Date());
stream(["firmware.status"], (event) => {
  const w = watched.get(event.station_id);
  if (!w) return;
  w.steps.push(event.data.status);
  w.at = event.time;
  render(event.station_id);
}, document.getElementById("live"), () => setInterval(() => fromRequests().catch(() => {}), 5000));
try {
  await loadImages();
  if (acting) await loadStations();
  await latestRollout();
} catch (e) {
  if (e.status !== 401) flash(`Could not load the firmware page: ${e.message}`, "bad");
}
