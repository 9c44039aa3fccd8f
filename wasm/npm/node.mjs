// Node entry of gik-wasm: the same module as in browsers, instantiated from
// the .wasm file next to it (Node's fetch cannot read file: urls), so
// `import { openRefs } from "gik-wasm"` is ready to use. `await init()` is
// a no-op here, so code written for browsers runs unchanged. The parameter
// tables beyond the open-data ones (gik_tables.bin) are loaded here too.
import { readFile } from "node:fs/promises";
import init, { loadParameterTables } from "./gik_wasm.js";

export * from "./gik_wasm.js";
export default init;

await init({ module_or_path: await readFile(new URL("./gik_wasm_bg.wasm", import.meta.url)) });
// All parameter tables at once (browsers load them when a message needs them).
await loadParameterTables(await readFile(new URL("./gik_tables.bin", import.meta.url)));
