// The page: pickers, map (one member's field or an ensemble statistic that
// fills in as members arrive), step animation, zoom and pan, pointer
// readout, the plume at a point, and downloads. All fetching and decoding
// happens in worker.js.
import { drawColourBar, drawField, drawOverlay, drawPlume, formatValue, layout } from "./map.js";
import { checkpointPicker } from "./checkpoint.js";

const $ = (id) => document.getElementById(id);
const ui = {
  form: $("open-form"), url: $("refs-url"), variable: $("variable"), level: $("level"),
  member: $("member"), step: $("step"), time: $("time"), timeLabel: $("time-label"),
  status: $("status"), map: $("map"), field: $("field"), overlay: $("overlay"),
  readout: $("readout"), title: $("field-title"), colorbar: $("colorbar"),
  downloadField: $("download-field"), downloadMember: $("download-member"),
  params: $("params"), allowMissing: $("allow-missing"),
  memberLabel: $("member-label"), modeMember: $("mode-member"), modeEnsemble: $("mode-ensemble"),
  stat: $("stat"), statLabel: $("stat-label"), threshold: $("threshold"), thresholdLabel: $("threshold-label"),
  thresholdUnits: $("threshold-units"), accum: $("accum"), accumLabel: $("accum-label"), play: $("play"), stepLabel: $("step-label"),
  ensProgress: $("ens-progress"), ensBar: $("ens-bar"), ensCount: $("ens-count"),
  zoomIn: $("zoom-in"), zoomOut: $("zoom-out"), zoomReset: $("zoom-reset"),
  plumePanel: $("plume-panel"), plumeTitle: $("plume-title"), plumeStatus: $("plume-status"), plume: $("plume"),
};

// What the end-to-end test (and a curious person in the console) can look at.
// `field`: what the map shows (a member's field or a statistic: `values`,
// `shape`, `latitudes`, `longitudes`, `min`, `max`, `units`); `shown`: every
// map completed (mode, statistic, step); `ensemble`: the running statistic's
// count; `cancelled`: computations stopped because the choice changed;
// `view`: zoom and pan; `plume`: the last plume.
const gik = (window.gik = {
  timings: [], field: null, geo: null, variables: [], ready: false, busy: false,
  shown: [], ensemble: null, cancelled: [], plume: null, view: { k: 1, tx: 0, ty: 0 },
});

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
  if (opened) call("open", opened).catch(() => { opened = null; });
}

/** Runs `op` in the worker; the promise's `id` names it for `cancel`. */
function call(op, args = {}, onProgress) {
  const id = nextId++;
  const p = new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
    worker.postMessage({ id, op, ...args });
  });
  p.id = id;
  return p;
}

/** Stops a running operation at its next progress report (it then rejects with kind "cancelled"). */
function cancel(id) {
  if (pending.has(id)) worker.postMessage({ op: "cancel", target: id });
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

/** The steps of the variable shown (hours); the slider picks one by index. */
const steps = () => currentVariable()?.steps ?? [];
const stepAt = (i) => steps()[i];

function fillSteps() {
  const prev = stepAt(Number(ui.step.value));
  const list = steps();
  ui.step.max = String(Math.max(0, list.length - 1));
  const i = list.indexOf(prev);
  ui.step.value = String(i >= 0 ? i : 0);
  ui.step.disabled = list.length <= 1;
  ui.play.disabled = list.length <= 1;
  if (list.length <= 1) stopPlaying();
  updateStepLabel();
}

function updateStepLabel() {
  const s = stepAt(Number(ui.step.value));
  const text = s === undefined ? "—" : `${s} h`;
  ui.stepLabel.textContent = text;
  ui.step.setAttribute("aria-valuetext", text);
}

function updateAxes() {
  const v = currentVariable();
  if (!v) return;
  const unit = v.levelName === "isobaricInhPa" ? " hPa" : "";
  fillSelect(ui.level, v.levels.length ? v.levels.map((l) => [l, `${l}${unit}${v.levels.length === 1 ? ` (${v.levelName})` : ""}`]) : [["", "—"]], true);
  fillSelect(ui.member, v.members.length ? v.members.map((m) => [m, m === 0 ? "0 (control)" : String(m)]) : [["", "—"]], true);
  fillSteps();
  fillSelect(ui.time, v.times.map((t) => [t, fmtTime(t)]), true);
  ui.timeLabel.hidden = v.times.length <= 1;
  // Statistics need an ensemble.
  ui.modeEnsemble.disabled = v.members.length < 2;
  if (ui.modeEnsemble.disabled) ui.modeMember.checked = true;
  ui.thresholdUnits.textContent = v.units;
  if (thresholdFor !== v.path) ui.threshold.value = "";
  updateMode();
}

const mode = () => (ui.modeEnsemble.checked ? "ensemble" : "member");

function updateMode() {
  const ens = mode() === "ensemble";
  ui.memberLabel.hidden = ens;
  ui.statLabel.hidden = !ens;
  ui.thresholdLabel.hidden = !ens || !isProb(ui.stat.value);
  ui.accumLabel.hidden = !ens || !isAccum(currentVariable());
  ui.ensProgress.hidden = !ens;
}

function selection() {
  const num = (sel) => (sel.value === "" ? undefined : Number(sel.value));
  return {
    variable: ui.variable.value,
    level: num(ui.level),
    member: num(ui.member),
    step: stepAt(Number(ui.step.value)),
    time: num(ui.time),
  };
}

// ---- opening references -------------------------------------------------------

async function openRefs(url, request) {
  const what = request ? "the request" : url;
  setStatus(`Opening ${what} …`);
  gik.ready = false;
  stopPlaying();
  cancelAll();
  statsCache.clear();
  closePlume();
  for (const b of [ui.downloadField, ui.downloadMember]) b.disabled = true;
  try {
    const t0 = performance.now();
    const { variables, location } = await call("open", request ? { request } : { url });
    opened = request ? { request } : { url };
    gik.variables = variables;
    if (!variables.length) throw Object.assign(new Error(`${location} holds no data variables`), { kind: "badRefs" });
    fillSelect(ui.variable, variables.map((v) => [v.path, `${v.shortName || v.name} — ${v.longName} (${v.typeOfLevel})`]), false);
    ui.variable.disabled = false;
    updateAxes();
    setStatus(`${variables.length} variables in ${location} (${(performance.now() - t0).toFixed(0)} ms)`);
    const u = new URL(window.location.href);
    if (url) u.searchParams.set("refs", url);
    history.replaceState(null, "", u);
    await show("open");
  } catch (err) {
    gik.variables = [];
    gik.field = null;
    gik.geo = null;
    for (const s of [ui.variable, ui.level, ui.member, ui.time]) { s.replaceChildren(); s.disabled = true; }
    fillSteps();
    ui.modeEnsemble.disabled = true;
    ui.modeMember.checked = true;
    updateMode();
    ui.timeLabel.hidden = true;
    for (const c of [ui.field, ui.overlay, ui.colorbar]) c.getContext("2d").clearRect(0, 0, c.width, c.height);
    ui.title.textContent = "";
    setStatus(explain(err, what), true);
    gik.ready = true;
  }
}
// the request form (request-form.js)
window.addEventListener("gik:open-request", (e) => openRefs(null, e.detail));

// ---- showing a field or a statistic ----------------------------------------------

/** Draws `field` (values on a regular grid) on the map with its colour bar. */
async function paint(field) {
  if (field.shape.length !== 2 || !field.latitudes) {
    throw Object.assign(new Error(`${field.gridType ?? "these"} grids cannot be drawn as a map here (values: ${field.values.length})`), { kind: "decode" });
  }
  const same = gik.geo && gik.field && gik.field.shape.join() === field.shape.join() && gik.field.latitudes[0] === field.latitudes[0] &&
    gik.field.longitudes[0] === field.longitudes[0];
  const geo = same ? gik.geo : layout(field);
  drawField(ui.field, field, geo);
  gik.field = field;
  gik.geo = geo;
  drawOverlay(ui.overlay, geo, coastlines, gik.view, plumeMarker());
  // When the first map was drawn (ms since 1970): bench_load.mjs counts what was requested before.
  gik.firstDrawnAt ??= Date.now();
  loadCoastlines();
  drawColourBar(ui.colorbar, field.min, field.max, field.units);
}

function finiteRange(values) {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : { min: NaN, max: NaN };
}

let showing = 0;
/** Shows what the pickers say; a later call makes an earlier one's result stale (ignored). */
async function show(trigger, t0 = performance.now()) {
  const ticket = ++showing;
  gik.busy = true;
  gik.ready = false;
  try {
    if (mode() === "ensemble") await showEnsemble(ticket, trigger, t0);
    else await showMember(ticket, trigger, t0);
  } catch (err) {
    if (ticket !== showing) return;
    setStatus(explain(err, selection().variable), true);
  } finally {
    if (ticket === showing) {
      gik.busy = false;
      gik.ready = true;
    }
  }
}

async function showMember(ticket, trigger, t0) {
  const sel = selection();
  cancelAll();
  setStatus(`Reading ${sel.variable} …`);
  const field = await call("read", { selection: sel });
  if (ticket !== showing) return;
  await paint(field);
  const when = field.validTime != null ? `valid ${fmtTime(field.validTime)}` : "";
  const v = currentVariable();
  const lev = field.level != null && (v?.levels.length > 1 || field.level !== 0) ? ` · ${field.level}${v?.levelName === "isobaricInhPa" ? " hPa" : ` (${v?.levelName})`}` : "";
  const mem = field.member != null ? ` · member ${field.member}` : "";
  const step = field.step != null ? ` · step ${field.step} h` : "";
  const accum = accumulation(v, field.step);
  ui.title.textContent = `${field.name} (${field.shortName})${lev}${mem}${step}${accum ? ` · ${accum.text}` : ""} · ${when} · units: ${field.units}`;
  await new Promise((r) => requestAnimationFrame(() => r()));
  const ms = performance.now() - t0;
  gik.timings.push({ trigger, mode: "member", variable: sel.variable, step: sel.step, shownMs: ms, fetchMs: field.fetchMs, decodeMs: field.decodeMs, bytes: field.bytes, packing: field.packingType, points: field.values.length, cached: field.cached });
  gik.shown.push({ mode: "member", variable: sel.variable, member: sel.member, step: sel.step, trigger });
  setStatus(
    field.cached
      ? `${field.shortName}: decoded earlier, shown ${ms.toFixed(0)} ms after choosing · min ${formatValue(field.min)}, max ${formatValue(field.max)}`
      : `${field.shortName}: ${(field.bytes / 1024).toFixed(0)} kB ${field.packingType} fetched in ${field.fetchMs.toFixed(0)} ms, ` +
        `decoded in ${field.decodeMs.toFixed(0)} ms, shown ${ms.toFixed(0)} ms after choosing · min ${formatValue(field.min)}, max ${formatValue(field.max)}` +
        (field.missing ? ` · ${field.missing} missing points` : ""),
  );
  for (const b of [ui.downloadField, ui.downloadMember]) b.disabled = false;
}

// ---- ensemble statistics --------------------------------------------------------------

// Members read at once: the worker decodes one member at a time, so a few
// requests in flight hide the latency; more only pile up fetched messages.
const ENSEMBLE_CONCURRENCY = 4;
// A partial map every this many members.
const PARTIAL_EVERY = 4;
/** Finished statistics, newest last (the animation comes back to them). */
const statsCache = new Map();
const STATS_CACHE = 16;
/** Computations in the worker, by key: {id, promise, last, listeners}. */
const running = new Map();
let thresholdFor = null;

/** A probability statistic: above ("prob") or below ("prob-below") the threshold. */
const isProb = (stat) => stat === "prob" || stat === "prob-below";
const probOp = (stat) => (stat === "prob-below" ? "<" : ">");
/** An accumulation (tp): each step's field holds the total from step 0, as ECMWF publishes it. */
const isAccum = (v) => v?.stepType === "accum";

/** What an accumulation shows at `step`: from step 0, or (`fromStep`) since the previous step. */
function accumulation(v, step) {
  if (!isAccum(v) || step == null) return null;
  const list = v.steps;
  const i = list.indexOf(step);
  const fromStep = mode() === "ensemble" && ui.accum.value === "interval" && i > 0 ? list[i - 1] : undefined;
  return { fromStep, text: `accumulated ${fromStep ?? 0}–${step} h${fromStep === undefined ? "" : ` (the ${step} h field minus the ${fromStep} h field)`}` };
}

function statChoice() {
  const v = currentVariable();
  const sel = selection();
  const stat = ui.stat.value;
  let threshold;
  if (isProb(stat)) {
    threshold = Number(ui.threshold.value);
    if (ui.threshold.value.trim() === "" || !Number.isFinite(threshold)) {
      // A threshold in the middle of the shown values to start with.
      const f = gik.field;
      const r = f && f.units === v.units && !isProb(f.stat) ? finiteRange(f.values) : null;
      threshold = r && Number.isFinite(r.min) ? Number(((r.min + r.max) / 2).toPrecision(3)) : 0;
      ui.threshold.value = String(threshold);
    }
    thresholdFor = v.path;
  }
  const name = isProb(stat) ? `p${probOp(stat)}${threshold}` : stat;
  const accum = accumulation(v, sel.step);
  const options = {
    variable: sel.variable, step: sel.step, fromStep: accum?.fromStep, level: sel.level, time: sel.time,
    stats: [isProb(stat) ? `p${probOp(stat)}` : stat], threshold,
    concurrency: ENSEMBLE_CONCURRENCY, partialEvery: PARTIAL_EVERY,
  };
  for (const k of Object.keys(options)) if (options[k] === undefined) delete options[k];
  const key = JSON.stringify([sel.variable, sel.level ?? null, sel.time ?? null, sel.step ?? null, accum?.fromStep ?? null, name]);
  return { key, options, stat, name, threshold, variable: v, step: sel.step, accum };
}

/** The computation of `choice`, started if it is not running yet. */
function compute(choice) {
  let entry = running.get(choice.key);
  if (entry) return entry;
  const promise = call("stats", { options: choice.options }, (p) => {
    entry.last = p;
    for (const f of entry.listeners) f(p);
  });
  entry = { id: promise.id, key: choice.key, promise, last: null, listeners: new Set() };
  running.set(choice.key, entry);
  promise.then(
    (out) => {
      statsCache.delete(choice.key);
      statsCache.set(choice.key, out);
      while (statsCache.size > STATS_CACHE) statsCache.delete(statsCache.keys().next().value);
    },
    (err) => {
      if (err.kind === "cancelled") gik.cancelled.push({ key: choice.key, done: entry.last?.done ?? 0, total: entry.last?.total ?? null });
    },
  ).finally(() => {
    if (running.get(choice.key) === entry) running.delete(choice.key);
  });
  return entry;
}

/** Cancels the computations in the worker but those of `keep` (keys). */
function cancelAll(keep = []) {
  for (const [key, e] of running) {
    if (keep.includes(key)) continue;
    running.delete(key);
    cancel(e.id);
  }
}

/** A statistic as the map's field. */
function statField(choice, values, shape, latitudes, longitudes, done, total) {
  const v = choice.variable;
  const prob = isProb(choice.stat);
  const range = prob ? { min: 0, max: 1 } : finiteRange(values);
  return {
    kind: "ensemble", stat: choice.stat, statName: choice.name, threshold: choice.threshold,
    name: v.longName, shortName: v.shortName, step: choice.step, values, shape, latitudes, longitudes,
    min: range.min, max: range.max, units: prob ? "fraction of members" : v.units, done, total,
  };
}

function ensembleTitle(choice, done, total) {
  const v = choice.variable;
  const what = { mean: "Ensemble mean of", std: "Ensemble spread (standard deviation) of", prob: "Probability of", "prob-below": "Probability of" }[choice.stat];
  const sel = selection();
  const lev = sel.level != null && (v.levels.length > 1 || sel.level !== 0) ? ` · ${sel.level}${v.levelName === "isobaricInhPa" ? " hPa" : ` (${v.levelName})`}` : "";
  const cond = isProb(choice.stat) ? ` ${probOp(choice.stat)} ${choice.threshold} ${v.units}` : "";
  const units = isProb(choice.stat) ? "fraction of members" : v.units;
  const accum = choice.accum ? ` · ${choice.accum.text}` : "";
  return `${what} ${v.longName} (${v.shortName})${cond}${lev} · step ${choice.step} h${accum} · ${done}/${total} members · units: ${units}`;
}

function showCount(done, total) {
  ui.ensBar.max = total || 1;
  ui.ensBar.value = done;
  ui.ensCount.textContent = `${done}/${total} members`;
  gik.ensemble = { ...gik.ensemble, done, total };
}

async function showEnsemble(ticket, trigger, t0) {
  const choice = statChoice();
  // The animation keeps its prefetched next step; any other change stops what is no longer asked for.
  cancelAll(trigger === "play" ? [choice.key, prefetchKey] : [choice.key]);
  const v = choice.variable;
  gik.ensemble = { key: choice.key, stat: choice.stat, step: choice.step, done: 0, total: v.members.length, firstPartialMs: null };
  const timing = { trigger, mode: "ensemble", variable: v.path, stat: choice.name, step: choice.step, firstPartialMs: null };
  let result = statsCache.get(choice.key);
  if (!result) {
    showCount(0, v.members.length);
    setStatus(`Computing the ${isProb(choice.stat) ? `probability of ${v.shortName} ${probOp(choice.stat)} ${choice.threshold} ${v.units}` : `${choice.stat} of ${v.shortName}`} over ${v.members.length} members …`);
    const entry = compute(choice);
    let drawing = Promise.resolve();
    const onProgress = (p) => {
      if (ticket !== showing) return;
      showCount(p.done, p.total);
      if (!p.partial) return;
      if (!p.latitudes || !p.longitudes || p.latitudes.length * p.longitudes.length !== p.partial[0].values.length) return;
      const field = statField(choice, p.partial[0].values, [p.latitudes.length, p.longitudes.length], p.latitudes, p.longitudes, p.done, p.total);
      drawing = drawing.then(async () => {
        if (ticket !== showing) return;
        await paint(field);
        ui.title.textContent = ensembleTitle(choice, p.done, p.total);
        if (timing.firstPartialMs === null) {
          timing.firstPartialMs = performance.now() - t0;
          gik.ensemble.firstPartialMs = timing.firstPartialMs;
          timing.firstPartialMembers = p.done;
        }
      });
    };
    entry.listeners.add(onProgress);
    if (entry.last) onProgress(entry.last);
    try {
      result = await entry.promise;
    } finally {
      entry.listeners.delete(onProgress);
    }
    await drawing;
    if (ticket !== showing) return;
  }
  const total = result.members.length;
  const s = result.stats[0];
  showCount(total, total);
  await paint(statField(choice, s.values, result.shape, result.latitudes, result.longitudes, total, total));
  ui.title.textContent = ensembleTitle(choice, total, total);
  await new Promise((r) => requestAnimationFrame(() => r()));
  const ms = performance.now() - t0;
  Object.assign(timing, { shownMs: ms, workerMs: result.ms, members: total, points: s.values.length });
  gik.timings.push(timing);
  gik.shown.push({ mode: "ensemble", variable: v.path, stat: choice.name, step: choice.step, trigger });
  const f = gik.field;
  setStatus(
    `${s.name} of ${v.shortName} over ${total} members: ` +
      (result.ms != null ? `computed in ${(result.ms / 1000).toFixed(1)} s, ` : "") +
      `shown ${ms.toFixed(0)} ms after choosing · min ${formatValue(f.min)}, max ${formatValue(f.max)}`,
  );
  // The field pickle is a member's field; a statistic is not one.
  ui.downloadField.disabled = true;
  ui.downloadMember.disabled = false;
}

// ---- the step animation ----------------------------------------------------------

// How long each step stays on screen at least while playing.
const FRAME_MS = 700;
let playing = false;
let prefetchKey = null;

/** Starts reading the step after the one shown, so the next frame is ready sooner. */
function prefetchNext() {
  const n = steps().length;
  if (n < 2) return;
  const i = (Number(ui.step.value) + 1) % n;
  if (mode() === "ensemble") {
    const saved = ui.step.value;
    ui.step.value = String(i);
    const choice = statChoice();
    ui.step.value = saved;
    prefetchKey = choice.key;
    if (!statsCache.has(choice.key)) compute(choice);
  } else {
    call("read", { selection: { ...selection(), step: stepAt(i) }, prefetch: true }).catch(() => {});
  }
}

async function play() {
  if (playing) return;
  playing = true;
  ui.play.textContent = "Pause";
  ui.play.setAttribute("aria-pressed", "true");
  while (playing) {
    const n = steps().length;
    if (n < 2) break;
    ui.step.value = String((Number(ui.step.value) + 1) % n);
    updateStepLabel();
    const t0 = performance.now();
    await show("play", t0);
    if (!playing) break;
    prefetchNext();
    const rest = FRAME_MS - (performance.now() - t0);
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));
  }
  stopPlaying();
}

function stopPlaying() {
  playing = false;
  prefetchKey = null;
  ui.play.textContent = "Play";
  ui.play.setAttribute("aria-pressed", "false");
}

// ---- coastlines ------------------------------------------------------------------

// Fetched once the first field is drawn (they are not needed before; BENCHMARKS.md
// counts what the page loads until then), then drawn over every map.
let coastlines = null;
let coastlinesLoading = null;
function loadCoastlines() {
  coastlinesLoading ??= fetch(new URL("./coastlines-110m.json", import.meta.url))
    .then((r) => (r.ok ? r.json() : null))
    .catch(() => null)
    .then((c) => {
      coastlines = c;
      redrawOverlay();
    });
}

// ---- zoom and pan -------------------------------------------------------------------
// The field canvas keeps one pixel per grid point and is scaled and moved
// with a CSS transform; the overlay is redrawn with the same transform, and
// the readout maps the pointer through the canvas's transformed box.

const MAX_ZOOM = 64;
let overlayQueued = false;
function redrawOverlay() {
  if (overlayQueued) return;
  overlayQueued = true;
  requestAnimationFrame(async () => {
    overlayQueued = false;
    if (gik.geo) drawOverlay(ui.overlay, gik.geo, coastlines, gik.view, plumeMarker());
  });
}

function applyView() {
  const v = gik.view;
  const w = ui.map.clientWidth;
  const h = ui.map.clientHeight;
  v.k = Math.min(MAX_ZOOM, Math.max(1, v.k));
  v.tx = Math.min(0, Math.max(w - v.k * w, v.tx));
  v.ty = Math.min(0, Math.max(h - v.k * h, v.ty));
  ui.field.style.transform = v.k === 1 ? "" : `translate(${v.tx}px, ${v.ty}px) scale(${v.k})`;
  redrawOverlay();
}

/** Zooms by `factor` keeping the point (`px`, `py`, CSS pixels in the map) where it is. */
function zoomAt(px, py, factor) {
  const v = gik.view;
  const k = Math.min(MAX_ZOOM, Math.max(1, v.k * factor));
  v.tx = px - ((px - v.tx) * k) / v.k;
  v.ty = py - ((py - v.ty) * k) / v.k;
  v.k = k;
  applyView();
}

function mapPoint(e) {
  const box = ui.map.getBoundingClientRect();
  return { x: e.clientX - box.left - ui.map.clientLeft, y: e.clientY - box.top - ui.map.clientTop };
}

ui.map.addEventListener("wheel", (e) => {
  if (!gik.geo) return;
  e.preventDefault();
  const p = mapPoint(e);
  zoomAt(p.x, p.y, Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)));
  updateReadout(e.clientX, e.clientY);
}, { passive: false });

const pointers = new Map();
let gesture = null;
ui.map.addEventListener("pointerdown", (e) => {
  if (e.target.closest("#zoom") || !gik.geo) return;
  try {
    ui.map.setPointerCapture(e.pointerId);
  } catch {
    // a pointer the browser no longer tracks (or a synthetic one)
  }
  pointers.set(e.pointerId, mapPoint(e));
  const v = gik.view;
  if (pointers.size === 1) gesture = { start: mapPoint(e), tx: v.tx, ty: v.ty, moved: false };
  else if (pointers.size === 2) {
    const [a, b] = [...pointers.values()];
    gesture = { pinch: Math.hypot(a.x - b.x, a.y - b.y), mid: { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 }, moved: true };
  }
});

ui.map.addEventListener("pointermove", (e) => {
  if (pointers.has(e.pointerId) && gesture) {
    pointers.set(e.pointerId, mapPoint(e));
    const v = gik.view;
    if (gesture.pinch && pointers.size >= 2) {
      const [a, b] = [...pointers.values()];
      const d = Math.hypot(a.x - b.x, a.y - b.y);
      const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
      v.tx += mid.x - gesture.mid.x;
      v.ty += mid.y - gesture.mid.y;
      zoomAt(mid.x, mid.y, d / (gesture.pinch || d));
      gesture.pinch = d;
      gesture.mid = mid;
    } else if (!gesture.pinch) {
      const p = mapPoint(e);
      const dx = p.x - gesture.start.x;
      const dy = p.y - gesture.start.y;
      if (Math.hypot(dx, dy) > 4) gesture.moved = true;
      if (gesture.moved) {
        v.tx = gesture.tx + dx;
        v.ty = gesture.ty + dy;
        applyView();
      }
    }
  }
  updateReadout(e.clientX, e.clientY);
});

function endPointer(e, click) {
  if (!pointers.has(e.pointerId)) return;
  pointers.delete(e.pointerId);
  if (click && gesture && !gesture.moved && !gesture.pinch && pointers.size === 0) {
    const p = pointAt(e.clientX, e.clientY);
    if (p) plumeAt(p);
  }
  if (pointers.size === 0) gesture = null;
}
ui.map.addEventListener("pointerup", (e) => endPointer(e, true));
ui.map.addEventListener("pointercancel", (e) => endPointer(e, false));
ui.map.addEventListener("pointerleave", (e) => {
  if (e.pointerType === "mouse" && !pointers.size) ui.readout.hidden = true;
});

ui.map.addEventListener("keydown", (e) => {
  if (!gik.geo || e.target !== ui.map) return;
  const v = gik.view;
  const w = ui.map.clientWidth;
  const h = ui.map.clientHeight;
  const move = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }[e.key];
  if (move) {
    v.tx += move[0] * w * 0.1;
    v.ty += move[1] * h * 0.1;
    applyView();
  } else if (e.key === "+" || e.key === "=") zoomAt(w / 2, h / 2, 1.5);
  else if (e.key === "-" || e.key === "_") zoomAt(w / 2, h / 2, 1 / 1.5);
  else if (e.key === "0") {
    Object.assign(v, { k: 1, tx: 0, ty: 0 });
    applyView();
  }
  else if (e.key === "Enter") {
    // The plume at the centre of the view.
    const box = ui.map.getBoundingClientRect();
    const p = pointAt(box.left + ui.map.clientLeft + w / 2, box.top + ui.map.clientTop + h / 2);
    if (p) plumeAt(p);
  } else return;
  e.preventDefault();
});

ui.zoomIn.addEventListener("click", () => zoomAt(ui.map.clientWidth / 2, ui.map.clientHeight / 2, 1.5));
ui.zoomOut.addEventListener("click", () => zoomAt(ui.map.clientWidth / 2, ui.map.clientHeight / 2, 1 / 1.5));
ui.zoomReset.addEventListener("click", () => {
  Object.assign(gik.view, { k: 1, tx: 0, ty: 0 });
  applyView();
});

// ---- pointer readout ----------------------------------------------------------------

/** The grid point under a client position (through the canvas's zoomed and panned box). */
function pointAt(clientX, clientY) {
  const f = gik.field;
  const g = gik.geo;
  if (!f || !g) return null;
  const map = ui.map.getBoundingClientRect();
  if (clientX < map.left || clientY < map.top || clientX >= map.right || clientY >= map.bottom) return null;
  const rect = ui.field.getBoundingClientRect();
  const x = Math.floor(((clientX - rect.left) / rect.width) * g.nlon);
  const y = Math.floor(((clientY - rect.top) / rect.height) * g.nlat);
  if (x < 0 || y < 0 || x >= g.nlon || y >= g.nlat) return null;
  const col = g.cols[x];
  const row = g.rows[y];
  return { x, y, col, row, index: row * g.nlon + col, lat: f.latitudes[row], lon: f.longitudes[col], value: f.values[row * g.nlon + col] };
}

const fmtLat = (l) => `${Math.abs(l).toFixed(2)}°${l >= 0 ? "N" : "S"}`;
const fmtLon = (l) => {
  const w = ((((l + 180) % 360) + 360) % 360) - 180;
  return `${Math.abs(w).toFixed(2)}°${w >= 0 ? "E" : "W"}`;
};

function updateReadout(clientX, clientY) {
  const p = pointAt(clientX, clientY);
  if (!p || gesture?.moved) {
    ui.readout.hidden = true;
    return;
  }
  ui.readout.hidden = false;
  ui.readout.textContent = `${fmtLat(p.lat)} ${fmtLon(p.lon)}  ${formatValue(p.value)} ${gik.field.units}`;
  Object.assign(ui.readout.dataset, { lat: p.lat, lon: p.lon, value: p.value, row: p.row, col: p.col });
  const box = ui.map.getBoundingClientRect();
  const left = clientX - box.left + 14;
  ui.readout.style.left = `${Math.min(left, box.width - ui.readout.offsetWidth - 4)}px`;
  ui.readout.style.top = `${Math.max(4, clientY - box.top - 30)}px`;
}

// ---- the plume ------------------------------------------------------------------------

let plumeTicket = 0;
let plumeCall = null;
let plumePoint = null;
const plumeMarker = () => plumePoint;

function closePlume() {
  if (plumeCall) cancel(plumeCall.id);
  plumeCall = null;
  plumePoint = null;
  ui.plumePanel.hidden = true;
}

/** Every member's value at grid point `p` across the steps, with their mean. */
async function plumeAt(p) {
  const v = currentVariable();
  if (!v || !gik.field) return;
  const ticket = ++plumeTicket;
  if (plumeCall) cancel(plumeCall.id);
  const sel = selection();
  const members = v.members.length ? v.members : [null];
  const stepList = v.steps.length ? v.steps : [null];
  plumePoint = { lat: p.lat, lon: p.lon };
  redrawOverlay();
  ui.plumePanel.hidden = false;
  const where = `${fmtLat(p.lat)} ${fmtLon(p.lon)}`;
  ui.plumeTitle.textContent = `Plume of ${v.shortName} at ${where}`;
  ui.plumeStatus.textContent = `Reading ${members.length * stepList.length} fields …`;
  const t0 = performance.now();
  plumeCall = call(
    "plume",
    { selection: { variable: sel.variable, level: sel.level, time: sel.time }, members, steps: stepList, index: p.index },
    ({ done, total }) => {
      if (ticket === plumeTicket) ui.plumeStatus.textContent = `Reading fields: ${done}/${total} …`;
    },
  );
  gik.plumeBusy = true;
  try {
    const out = await plumeCall;
    if (ticket !== plumeTicket) return;
    const n = stepList.length;
    const values = members.map((_, m) => Array.from(out.values.subarray(m * n, (m + 1) * n)));
    const mean = stepList.map((_, s) => {
      let sum = 0;
      let k = 0;
      for (const line of values) {
        if (Number.isFinite(line[s])) {
          sum += line[s];
          k++;
        }
      }
      return k ? sum / k : NaN;
    });
    const axes = drawPlume(ui.plume, stepList.map((s) => s ?? 0), values, mean, v.units);
    gik.plume = { axes, lat: p.lat, lon: p.lon, row: p.row, col: p.col, index: p.index, variable: v.path, level: sel.level ?? null, members, steps: stepList, values, mean, reused: out.reused, fields: out.fields, ms: performance.now() - t0 };
    ui.plumeTitle.textContent = `Plume of ${v.shortName} at ${where}: ${members.length} members, steps ${stepList[0]}–${stepList.at(-1)} h`;
    ui.plumeStatus.textContent = `${out.fields} fields (${out.reused} already decoded) in ${(gik.plume.ms / 1000).toFixed(1)} s · units: ${v.units}`;
  } catch (err) {
    if (ticket !== plumeTicket || err.kind === "cancelled") return;
    ui.plumeStatus.textContent = explain(err, `the plume at ${where}`);
  } finally {
    if (ticket === plumeTicket) {
      plumeCall = null;
      gik.plumeBusy = false;
    }
  }
}

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

const model = checkpointPicker(ui.downloadMember, ui.params);

ui.downloadMember.addEventListener("click", async () => {
  const sel = selection();
  const member = sel.member ?? 0;
  const options = model.options({ member: sel.member, params: ui.params.value.trim() || "aifs-ens", allowMissing: ui.allowMissing.checked });
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
  closePlume();
  updateAxes();
  show("variable", t0);
});
for (const s of [ui.level, ui.member, ui.time, ui.stat, ui.threshold, ui.accum]) {
  s.addEventListener("change", () => {
    if (s === ui.level || s === ui.time) closePlume();
    updateMode();
    show(s.id, performance.now());
  });
}
for (const r of [ui.modeMember, ui.modeEnsemble]) {
  r.addEventListener("change", () => {
    updateMode();
    show("mode", performance.now());
  });
}
ui.step.addEventListener("input", () => {
  updateStepLabel();
  show("step", performance.now());
});
ui.play.addEventListener("click", () => (playing ? stopPlaying() : play()));
new ResizeObserver(() => {
  if (gik.field) {
    applyView();
    drawColourBar(ui.colorbar, gik.field.min, gik.field.max, gik.field.units);
  }
  if (gik.plume && !ui.plumePanel.hidden) drawPlume(ui.plume, gik.plume.steps.map((s) => s ?? 0), gik.plume.values, gik.plume.mean, currentVariable()?.units);
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
