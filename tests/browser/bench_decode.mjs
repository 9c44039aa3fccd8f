// Decode time of gik-wasm per GRIB message (best of N), in Node's V8 (the
// engine of Chromium), to compare with the native decoder on the same
// messages (`cargo run --release -p gik-core --example decode_timing -- FILE`).
//
//   node tests/browser/bench_decode.mjs [--iters N] FILE...
// Prints: file, index, offset, length, shortName, points, best ms of
// decodeGrib (decode + metadata + copy to JS), best ms of the decode alone.
import { readFileSync } from "node:fs";
import { benchDecode, decodeGrib } from "../../web/pkg/node.mjs";

const args = process.argv.slice(2);
let iters = 30;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--iters") iters = Number(args[++i]);
  else files.push(args[i]);
}
for (const file of files) {
  const bytes = new Uint8Array(readFileSync(file));
  for (const f of decodeGrib(bytes)) {
    const one = bytes.subarray(f.offset, f.offset + f.length);
    decodeGrib(one); // warm up
    let best = Infinity;
    for (let k = 0; k < iters; k++) {
      const t = performance.now();
      decodeGrib(one);
      best = Math.min(best, performance.now() - t);
    }
    const inside = benchDecode(one, iters);
    console.log([file.split("/").pop(), f.index, f.offset, f.length, f.shortName, f.values.length, best.toFixed(2), inside.toFixed(2)].join("\t"));
  }
}
