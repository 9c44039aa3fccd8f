// The page's decoder: gik-wasm in a Web Worker, so fetching and decoding
// never block the page. Messages in: {id, op, ...}; out: {id, result} or
// {id, error: {message, kind}}, plus {id, progress} while building a state.
import init, { openRefs, version } from "./pkg/gik_wasm.js";

let refs = null;
let config = null;

const ready = (async () => {
  await init();
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
    version: version(),
    server: config.server ?? null,
    proxy: config.proxy ?? null,
    denied: config.denied ?? null,
  };
})();

const ops = {
  async hello() {
    return ready;
  },
  async open({ url }) {
    await ready;
    const options = {};
    if (config.proxy) options.proxy = new URL(config.proxy, self.location.href).href;
    if (config.files) options.files = new URL(config.files, self.location.href).href;
    const next = await openRefs(url, options);
    if (refs) refs.free();
    refs = next;
    return { location: refs.location, variables: refs.variables() };
  },
  async read({ selection }) {
    const t0 = performance.now();
    const field = await refs.readField(selection);
    field.workerMs = performance.now() - t0;
    return field;
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
};

function transferables(result) {
  const out = [];
  for (const v of Object.values(result ?? {})) {
    if (ArrayBuffer.isView(v)) out.push(v.buffer);
  }
  if (ArrayBuffer.isView(result)) out.push(result.buffer);
  return out;
}

self.onmessage = async (e) => {
  const { id, op, ...args } = e.data;
  try {
    if (!ops[op]) throw new Error(`unknown operation ${op}`);
    if (op !== "hello" && op !== "open" && !refs) throw new Error("no references are open");
    const result = await ops[op](args, id);
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
  }
};
