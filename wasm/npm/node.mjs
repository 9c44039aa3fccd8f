// Node entry of gik-wasm: the same module as in browsers, instantiated from
// the .wasm file next to it (Node's fetch cannot read file: urls), so
// `import { openRefs } from "gik-wasm"` is ready to use. `await init()` is
// a no-op here, so code written for browsers runs unchanged.
import { readFile } from "node:fs/promises";
import init from "./gik_wasm.js";

export * from "./gik_wasm.js";
export default init;

await init({ module_or_path: await readFile(new URL("./gik_wasm_bg.wasm", import.meta.url)) });
