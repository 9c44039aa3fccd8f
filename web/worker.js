// The page's decoder: gik-wasm in a Web Worker, so fetching and decoding
// never block the page. Messages in: {id, op, ...}; out: {id, result} or
// {id, error: {message, kind}}, plus {id, progress} while an operation runs
// (building a state, ensemble statistics, a plume). {op: "cancel", target}
// stops the operation `target` at its next progress report.
//
// Two builds of gik-wasm with one API: the lite module (no parquet
// references, no JPEG 2000 or PNG packing; about a third smaller) loads
// first, so the first field is drawn sooner. The first operation that needs
// what it leaves out fails with kind "notBuiltIn": the full module is then
// loaded, the references are opened again in it, and the operation runs again.

/** The module in use, and whether it is the full one. */
let gik = null;
let full = false;
let refs = null;
/** How the open references were opened ({url} or {request}), to open them again in the full module. */
let opened = null;
let upgrading = null;
let config = null;
/** Ids of running operations the page no longer wants. */
const cancelled = new Set();

// Decoded fields kept for the plume and the step animation (a 0.25° field
// is 4 MB; 64 of them stay well under a tab's memory). Least recently used
// first out; emptied when other references are opened.
const CACHE_BYTES = 256 * 1024 * 1024;
const cache = new Map();
let cacheBytes = 0;
const cacheKey = (s) => JSON.stringify([s.variable, s.level ?? null, s.time ?? null, s.member ?? null, s.step ?? null]);
function cacheGet(key) {
  const f = cache.get(key);
  if (f) {
    cache.delete(key);
    cache.set(key, f);
  }
  return f;
}
function cachePut(key, field) {
  if (cache.has(key)) return;
  cache.set(key, field);
  cacheBytes += field.values.byteLength;
  for (const [k, f] of cache) {
    if (cacheBytes <= CACHE_BYTES) break;
    cache.delete(k);
    cacheBytes -= f.values.byteLength;
  }
}
// One read per field even when the plume and the animation ask at once.
const reading = new Map();
async function readCached(selection) {
  const key = cacheKey(selection);
  const hit = cacheGet(key);
  if (hit) return { field: hit, cached: true };
  if (!reading.has(key)) {
    const t0 = performance.now();
    reading.set(key, refs.readField(selection).then((f) => {
      f.workerMs = performance.now() - t0;
      cachePut(key, f);
      return f;
    }).finally(() => reading.delete(key)));
  }
  return { field: await reading.get(key), cached: false };
}

let exports = null;
async function loadModule(wantFull) {
  const m = wantFull ? await import("./pkg/gik_wasm.js") : await import("./pkg/gik_wasm_lite.js");
  exports = await m.default();
  return m;
}
/** For measurements (tests/browser/bench_ensemble.mjs): the module in use and its memory. */
self.gikModule = () => ({ module: full ? "full" : "lite", memoryBytes: exports?.memory.buffer.byteLength ?? 0 });

function openWith(m, { url, request }) {
  const options = {};
  if (config.proxy) options.proxy = new URL(config.proxy, self.location.href).href;
  if (config.files) options.files = new URL(config.files, self.location.href).href;
  return request ? m.openRequest(request, options) : m.openRefs(url, options);
}

/**
 * Loads the full module (once) and, with `reopen`, opens the current
 * references in it (not when the operation that needs it is itself an open).
 */
function upgrade(reopen) {
  if (full) return Promise.resolve();
  upgrading ??= (async () => {
    const m = await loadModule(true);
    const next = reopen && opened ? await openWith(m, opened) : null;
    gik = m;
    full = true;
    // The lite module's references are left to the garbage collector:
    // operations still running may hold them.
    if (next) refs = next;
  })().finally(() => {
    upgrading = null;
  });
  return upgrading;
}

const ready = (async () => {
  gik = await loadModule(false);
  // `gik serve` says where its range proxy and local files are; a plain
  // static server has neither.
  try {
    const r = await fetch(new URL("gik-config.json", self.location.href));
    // 403: `gik serve` wants the token of the url it printed (kept in a
    // cookie once the page was opened with it).
    config = r.ok ? await r.json() : r.status === 403 ? { denied: await r.text() } : {};
  } catch {
    config = {};
  }
  return {
    version: gik.version(),
    module: "lite",
    server: config.server ?? null,
    proxy: config.proxy ?? null,
    denied: config.denied ?? null,
  };
})();

const ops = {
  async hello() {
    return ready;
  },
  async open({ url, request }) {
    await ready;
    const next = await openWith(gik, { url, request });
    if (refs) refs.free();
    refs = next;
    opened = { url, request };
    cache.clear();
    cacheBytes = 0;
    return { location: refs.location, variables: refs.variables(), module: full ? "full" : "lite" };
  },
  /** A field; `prefetch` only reads it into the cache (the next step of an animation). */
  async read({ selection, prefetch }) {
    const { field, cached } = await readCached(selection);
    if (prefetch) return { cached };
    // The cache keeps its copy; the page gets its own.
    return { ...field, values: field.values.slice(), cached };
  },
  async fieldPickle({ selection }) {
    return refs.fieldPickle(selection);
  },
  async memberPickle({ options }, id) {
    return refs.memberPickle({
      ...options,
      onProgress: (done, total, name) => self.postMessage({ id, progress: { done, total, name } }),
    });
  },
  /** Ensemble statistics; the statistics so far go to the page every `partialEvery` members. */
  async stats({ options }, id) {
    const t0 = performance.now();
    // The grid of the partial maps (the final result carries its own).
    const { latitude, longitude } = refs.coords(options.variable);
    const out = await refs.ensembleStats(options, (done, total, partial) => {
      if (cancelled.has(id)) return false;
      const msg = { id, progress: { done, total, ms: performance.now() - t0 } };
      if (partial) {
        msg.progress.partial = partial.map((s) => ({ name: s.name, values: s.values }));
        Object.assign(msg.progress, { latitudes: latitude, longitudes: longitude });
        self.postMessage(msg, partial.map((s) => s.values.buffer));
      } else self.postMessage(msg);
      return true;
    });
    out.ms = performance.now() - t0;
    return out;
  },
  /**
   * Every member's value at one grid point (`index` into the field) at
   * every step: decoded fields in the cache are reused, the others are read
   * whole (a CCSDS message cannot be read in part) and kept for the next point.
   */
  async plume({ selection, members, steps, index, concurrency = 4 }, id) {
    const jobs = [];
    for (const [m, member] of members.entries()) {
      for (const [s, step] of steps.entries()) jobs.push({ m, s, sel: { ...selection, member, step } });
    }
    // Fields already decoded first: reading the others first would evict them
    // (least recently used) before their turn when the cache is full.
    const held = (job) => (cache.has(cacheKey(job.sel)) ? 0 : 1);
    jobs.sort((a, b) => held(a) - held(b));
    const values = new Float32Array(members.length * steps.length).fill(NaN);
    let done = 0;
    let reused = 0;
    let next = 0;
    const t0 = performance.now();
    const run = async () => {
      while (next < jobs.length) {
        if (cancelled.has(id)) throw Object.assign(new Error("cancelled"), { kind: "cancelled" });
        const job = jobs[next++];
        const { field, cached } = await readCached(job.sel);
        values[job.m * steps.length + job.s] = field.values[index];
        done++;
        if (cached) reused++;
        self.postMessage({ id, progress: { done, total: jobs.length } });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, run));
    return { members, steps, index, values, reused, fields: jobs.length, ms: performance.now() - t0 };
  },
};

function transferables(result) {
  const out = [];
  if (ArrayBuffer.isView(result)) out.push(result.buffer);
  else if (ArrayBuffer.isView(result?.values)) out.push(result.values.buffer);
  for (const s of Array.isArray(result?.stats) ? result.stats : []) {
    if (ArrayBuffer.isView(s.values)) out.push(s.values.buffer);
  }
  return out;
}

self.onmessage = async (e) => {
  const { id, op, ...args } = e.data;
  if (op === "cancel") {
    cancelled.add(args.target);
    return;
  }
  try {
    if (!ops[op]) throw new Error(`unknown operation ${op}`);
    if (op !== "hello" && op !== "open" && !refs) throw new Error("no references are open");
    let result;
    try {
      result = await ops[op](args, id);
    } catch (err) {
      if (err?.kind !== "notBuiltIn" || full) throw err;
      await upgrade(op !== "open");
      result = await ops[op](args, id);
    }
    self.postMessage({ id, result }, transferables(result));
  } catch (err) {
    // A trap (a Rust panic aborts in WebAssembly: the parquet crate asserts
    // on some corrupt pages) leaves the module unusable: say so and stop;
    // the page starts a fresh worker.
    const crashed = err instanceof WebAssembly.RuntimeError;
    self.postMessage({
      id,
      error: { message: String(err?.message ?? err), kind: crashed ? "crashed" : err?.kind ?? "internal" },
    });
    if (crashed) self.close();
  } finally {
    cancelled.delete(id);
  }
};
