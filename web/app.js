// The page: pickers, map, pointer readout and downloads. All fetching and
// decoding happens in worker.js.
import { drawColourBar, drawField, drawOverlay, formatValue, layout } from "./map.js";

const $ = (id) => document.getElementById(id);
const ui = {
  form: $("open-form"), url: $("refs-url"), variable: $("variable"), level: $("level"),
  member: $("member"), step: $("step"), time: $("time"), timeLabel: $("time-label"),
  status: $("status"), map: $("map"), field: $("field"), overlay: $("overlay"),
  readout: $("readout"), title: $("field-title"), colorbar: $("colorbar"),
  downloadField: $("download-field"), downloadMember: $("download-member"),
  params: $("params"), allowMissing: $("allow-missing"),
};

// What the end-to-end test (and a curious person in the console) can look at.
const gik = (window.gik = { timings: [], field: null, geo: null, variables: [], ready: false, busy: false });

// ---- the worker -------------------------------------------------------------

let worker = null;
let nextId = 1;
const pending = new Map();
let opened = null; // the references the worker holds, reopened after a restart

function startWorker() {
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onmessage = (e) => {
    const { id, result, error, progress } = e.data;
    const p = pending.get(id);
    if (!p) return;
    if (progress) return p.onProgress?.(progress);
    pending.delete(id);
    if (error) {
      const err = new Error(error.message);
      err.kind = error.kind;
      if (error.kind === "crashed") restartWorker(err);
      p.reject(err);
    } else p.resolve(result);
  };
  // An uncaught error in the worker: before it ever answered, it did not
  // start; after, it trapped where no promise could carry the error (a panic
  // inside a wasm-bindgen future aborts in the microtask that polls it).
  let answered = false;
  worker.addEventListener("message", () => { answered = true; }, { once: true });
  worker.onerror = (e) => {
    e.preventDefault();
    if (!answered) return setStatus(`The decoder failed to start: ${e.message ?? "see the console"}`, true);
    restartWorker(Object.assign(new Error(e.message ?? "the decoder stopped"), { kind: "crashed" }));
  };
}

/** The worker stopped after a WebAssembly trap: fail what it was doing,
 * start a fresh one and reopen the references it held. */
function restartWorker(err) {
  worker.terminate();
  for (const [id, p] of pending) {
    pending.delete(id);
    p.reject(err);
  }
  gik.restarts = (gik.restarts ?? 0) + 1;
  startWorker();
  if (opened) call("open", { url: opened }).catch(() => { opened = null; });
}

function call(op, args = {}, onProgress) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
    worker.postMessage({ id, op, ...args });
  });
}

startWorker();

// ---- messages ---------------------------------------------------------------

function setStatus(text, isError = false) {
  ui.status.textContent = text;
  ui.status.classList.toggle("error", isError);
  ui.status.dataset.kind = isError ? "error" : "info";
}

/** Words a failure for a person, by its kind. */
function explain(err, what) {
  const m = err.message;
  // Opened without gik serve's token: its files and proxy are closed to this page.
  if (gik.denied && ["network", "unreachable", "http"].includes(err.kind)) {
    return `Could not read ${what}: ${m}. gik serve refused this page its local files and proxy: ${gik.denied}`;
  }
  switch (err.kind) {
    case "network":
      return `Could not read ${what}: the server refused this page's request (it sends no CORS headers) or cannot be reached. ` +
        (gik.proxy
          ? "Even gik serve's range proxy could not read it; check the url and the network."
          : "Open the page through `gik serve`: its range proxy reads such servers and adds CORS headers.");
    case "notFound":
      return `Not found: ${m}`;
    case "badRefs":
      return `These are not references gik can read: ${m}`;
    case "missingData":
      return `Missing data: ${m}`;
    case "unreachable":
      return `Cannot fetch: ${m}`;
    case "decode":
      return `Could not decode the field: ${m}`;
    case "crashed":
      return `The decoder stopped on data it cannot handle (corrupt or unsupported input: ${m}); it has been restarted.`;
    default:
      return `${what}: ${m}`;
  }
}

// ---- pickers ----------------------------------------------------------------

function fillSelect(sel, items, keep) {
  const prev = keep ? sel.value : null;
  sel.replaceChildren(
    ...items.map(([value, label]) => {
      const o = document.createElement("option");
      o.value = String(value);
      o.textContent = label;
      return o;
    }),
  );
  if (prev !== null && items.some(([v]) => String(v) === prev)) sel.value = prev;
  sel.disabled = items.length <= 1;
}

const fmtTime = (t) => new Date(t * 1000).toISOString().slice(0, 13).replace("T", " ") + "z";

function currentVariable() {
  return gik.variables.find((v) => v.path === ui.variable.value);
}

function updateAxes() {
  const v = currentVariable();
  if (!v) return;
  const unit = v.levelName === "isobaricInhPa" ? " hPa" : "";
  fillSelect(ui.level, v.levels.length ? v.levels.map((l) => [l, `${l}${unit}${v.levels.length === 1 ? ` (${v.levelName})` : ""}`]) : [["", "—"]], true);
  fillSelect(ui.member, v.members.length ? v.members.map((m) => [m, m === 0 ? "0 (control)" : String(m)]) : [["", "—"]], true);
  fillSelect(ui.step, v.steps.length ? v.steps.map((s) => [s, `${s} h`]) : [["", "—"]], true);
  fillSelect(ui.time, v.times.map((t) => [t, fmtTime(t)]), true);
  ui.timeLabel.hidden = v.times.length <= 1;
}

function selection() {
  const num = (sel) => (sel.value === "" ? undefined : Number(sel.value));
  return {
    variable: ui.variable.value,
    level: num(ui.level),
    member: num(ui.member),
    step: num(ui.step),
    time: num(ui.time),
  };
}

// ---- opening references -------------------------------------------------------

async function openRefs(url) {
  setStatus(`Opening ${url} …`);
  gik.ready = false;
  for (const b of [ui.downloadField, ui.downloadMember]) b.disabled = true;
  try {
    const t0 = performance.now();
    const { variables, location } = await call("open", { url });
    opened = url;
    gik.variables = variables;
    if (!variables.length) throw Object.assign(new Error(`${location} holds no data variables`), { kind: "badRefs" });
    fillSelect(ui.variable, variables.map((v) => [v.path, `${v.shortName || v.name} — ${v.longName} (${v.typeOfLevel})`]), false);
    ui.variable.disabled = false;
    updateAxes();
    setStatus(`${variables.length} variables in ${location} (${(performance.now() - t0).toFixed(0)} ms)`);
    const u = new URL(window.location.href);
    u.searchParams.set("refs", url);
    history.replaceState(null, "", u);
    await show("open");
  } catch (err) {
    gik.variables = [];
    gik.field = null;
    gik.geo = null;
    for (const s of [ui.variable, ui.level, ui.member, ui.step, ui.time]) { s.replaceChildren(); s.disabled = true; }
    ui.timeLabel.hidden = true;
    for (const c of [ui.field, ui.overlay, ui.colorbar]) c.getContext("2d").clearRect(0, 0, c.width, c.height);
    ui.title.textContent = "";
    setStatus(explain(err, url), true);
    gik.ready = true;
  }
}

// ---- showing a field ------------------------------------------------------------

let showing = 0;
async function show(trigger, t0 = performance.now()) {
  const ticket = ++showing;
  const sel = selection();
  gik.busy = true;
  gik.ready = false;
  setStatus(`Reading ${sel.variable} …`);
  try {
    const field = await call("read", { selection: sel });
    if (ticket !== showing) return;
    if (field.shape.length !== 2 || !field.latitudes) {
      throw Object.assign(new Error(`${field.gridType} grids cannot be drawn as a map here (values: ${field.values.length})`), { kind: "decode" });
    }
    const geo = layout(field);
    drawField(ui.field, field, geo);
    gik.field = field;
    gik.geo = geo;
    drawOverlay(ui.overlay, geo, await coastlines);
    drawColourBar(ui.colorbar, field.min, field.max, field.units);
    const when = field.validTime != null ? `valid ${fmtTime(field.validTime)}` : "";
    const v = currentVariable();
    const lev = field.level != null && (v?.levels.length > 1 || field.level !== 0) ? ` · ${field.level}${v?.levelName === "isobaricInhPa" ? " hPa" : ` (${v?.levelName})`}` : "";
    const mem = field.member != null ? ` · member ${field.member}` : "";
    ui.title.textContent = `${field.name} (${field.shortName})${lev}${mem} · ${when} · units: ${field.units}`;
    await new Promise((r) => requestAnimationFrame(() => r()));
    const ms = performance.now() - t0;
    gik.timings.push({ trigger, variable: sel.variable, shownMs: ms, fetchMs: field.fetchMs, decodeMs: field.decodeMs, bytes: field.bytes, packing: field.packingType, points: field.values.length });
    setStatus(
      `${field.shortName}: ${(field.bytes / 1024).toFixed(0)} kB ${field.packingType} fetched in ${field.fetchMs.toFixed(0)} ms, ` +
      `decoded in ${field.decodeMs.toFixed(0)} ms, shown ${ms.toFixed(0)} ms after choosing · min ${formatValue(field.min)}, max ${formatValue(field.max)}` +
      (field.missing ? ` · ${field.missing} missing points` : ""),
    );
    for (const b of [ui.downloadField, ui.downloadMember]) b.disabled = false;
  } catch (err) {
    if (ticket !== showing) return;
    setStatus(explain(err, sel.variable), true);
  } finally {
    if (ticket === showing) {
      gik.busy = false;
      gik.ready = true;
    }
  }
}

// ---- coastlines ------------------------------------------------------------------

const coastlines = fetch(new URL("./coastlines-110m.json", import.meta.url))
  .then((r) => (r.ok ? r.json() : null))
  .catch(() => null);

// ---- pointer readout ----------------------------------------------------------------

function pointAt(clientX, clientY) {
  const f = gik.field;
  const g = gik.geo;
  if (!f || !g) return null;
  const rect = ui.field.getBoundingClientRect();
  const x = Math.floor(((clientX - rect.left) / rect.width) * g.nlon);
  const y = Math.floor(((clientY - rect.top) / rect.height) * g.nlat);
  if (x < 0 || y < 0 || x >= g.nlon || y >= g.nlat) return null;
  const col = g.cols[x];
  const row = g.rows[y];
  return { x, y, col, row, lat: f.latitudes[row], lon: f.longitudes[col], value: f.values[row * g.nlon + col] };
}

const fmtLat = (l) => `${Math.abs(l).toFixed(2)}°${l >= 0 ? "N" : "S"}`;
const fmtLon = (l) => {
  const w = ((((l + 180) % 360) + 360) % 360) - 180;
  return `${Math.abs(w).toFixed(2)}°${w >= 0 ? "E" : "W"}`;
};

ui.map.addEventListener("pointermove", (e) => {
  const p = pointAt(e.clientX, e.clientY);
  if (!p) {
    ui.readout.hidden = true;
    return;
  }
  ui.readout.hidden = false;
  ui.readout.textContent = `${fmtLat(p.lat)} ${fmtLon(p.lon)}  ${formatValue(p.value)} ${gik.field.units}`;
  Object.assign(ui.readout.dataset, { lat: p.lat, lon: p.lon, value: p.value, row: p.row, col: p.col });
  const box = ui.map.getBoundingClientRect();
  const left = e.clientX - box.left + 14;
  ui.readout.style.left = `${Math.min(left, box.width - ui.readout.offsetWidth - 4)}px`;
  ui.readout.style.top = `${Math.max(4, e.clientY - box.top - 30)}px`;
});
ui.map.addEventListener("pointerleave", () => { ui.readout.hidden = true; });

// ---- downloads -------------------------------------------------------------------------

function save(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

ui.downloadField.addEventListener("click", async () => {
  const sel = selection();
  const f = gik.field;
  setStatus("Building the pickle of this field …");
  try {
    const bytes = await call("fieldPickle", { selection: sel });
    const parts = [f.shortName, f.level != null && currentVariable()?.levels.length > 1 ? f.level : null, `m${f.member ?? 0}`, `s${f.step ?? 0}`];
    save(bytes, `${parts.filter((p) => p !== null).join("_")}.pkl`);
    setStatus(`Saved the pickle of ${f.shortName} (${(bytes.length / 1e6).toFixed(1)} MB), as \`gik extract\` writes it.`);
  } catch (err) {
    setStatus(explain(err, "the field's pickle"), true);
  }
});

ui.downloadMember.addEventListener("click", async () => {
  const sel = selection();
  const member = sel.member ?? 0;
  const options = { member: sel.member, params: ui.params.value.trim() || "aifs-ens", allowMissing: ui.allowMissing.checked };
  if (sel.step !== undefined) options.step = sel.step;
  ui.downloadMember.disabled = true;
  setStatus(`Building member ${member}'s input state …`);
  try {
    const bytes = await call("memberPickle", { options }, ({ done, total, name }) =>
      setStatus(`Building member ${member}'s input state: ${done}/${total} fields (${name}) …`));
    save(bytes, `input_state_member_${String(member).padStart(3, "0")}.pkl`);
    setStatus(`Saved member ${member}'s input state (${(bytes.length / 1e6).toFixed(1)} MB).`);
  } catch (err) {
    setStatus(explain(err, `member ${member}'s input state`), true);
  } finally {
    ui.downloadMember.disabled = false;
  }
});

// ---- wiring ------------------------------------------------------------------------------

ui.form.addEventListener("submit", (e) => {
  e.preventDefault();
  openRefs(ui.url.value.trim());
});
ui.variable.addEventListener("change", () => {
  const t0 = performance.now();
  updateAxes();
  show("variable", t0);
});
for (const s of [ui.level, ui.member, ui.step, ui.time]) s.addEventListener("change", () => show(s.id, performance.now()));
new ResizeObserver(() => {
  if (gik.field) {
    drawOverlay(ui.overlay, gik.geo, null);
    coastlines.then((c) => drawOverlay(ui.overlay, gik.geo, c));
    drawColourBar(ui.colorbar, gik.field.min, gik.field.max, gik.field.units);
  }
}).observe(ui.map);

(async () => {
  try {
    const hello = await call("hello");
    gik.version = hello.version;
    gik.proxy = hello.proxy;
    gik.denied = hello.denied;
    // `gik serve` keeps the token in a cookie: take it out of the address bar.
    const here = new URL(window.location.href);
    if (here.searchParams.has("token")) {
      here.searchParams.delete("token");
      history.replaceState(null, "", here);
    }
  } catch (err) {
    setStatus(`The WebAssembly decoder did not load: ${err.message}. Build it with scripts/build_wasm.sh.`, true);
    gik.ready = true;
    return;
  }
  const fromQuery = new URLSearchParams(window.location.search).get("refs");
  if (fromQuery) ui.url.value = fromQuery;
  openRefs(ui.url.value.trim());
})();
