// The page's model picker in Chromium: the user picks a fake anemoi
// checkpoint (a real zip in anemoi-utils' layout: 32 MiB of "weights", the
// metadata of a model on O96 taking `tcc` and `sd`, and the O96 latitudes and
// longitudes from ecCodes) with the file input; the member's state is built
// for that model. Checked: the pickle holds exactly the model's inputs,
// shaped (input times, O96 points), its latitudes/longitudes are ecCodes'
// (the checkpoint's) bit for bit, it equals `gik extract --checkpoint` on the
// same file byte for byte, and the worker read the file only by small
// slices (Blob.slice and arrayBuffer instrumented in the worker): no read of
// the whole file, nothing near the weights' size.
//
// Environment as e2e.test.mjs: GIK_BIN, GIK_PYTHON (numpy and eccodes),
// GIK_ARTIFACTS, CHROMIUM.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { GIK, ROOT, launchChromium, serve } from "./lib.mjs";

const PY = process.env.GIK_PYTHON ?? join(ROOT, ".venv/bin/python");
const ART = process.env.GIK_ARTIFACTS ?? join(ROOT, "target/browser-artifacts");
const SAMPLE = join(ROOT, "data/samples/ecmwf-ifs-oper-20260310-00z-0h-surface.grib2");
const FIXTURES = join(ROOT, "core/tests/data/checkpoint");
const WEIGHTS = 32 << 20;

mkdirSync(ART, { recursive: true });

let browser;
let server;

function python(script, ...args) {
  return execFileSync(PY, ["-c", script, ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
}

before(async () => {
  server = await serve([]);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.proc.kill();
});

test("a checkpoint picked from disk gives its inputs on its grid, read by small slices only", async () => {
  // the fake checkpoint, and ecCodes' O96 coordinates it carries
  const ckpt = join(ART, "model-o96.ckpt");
  python(`
import json, sys
sys.path.insert(0, sys.argv[1])
from make_fixtures import eccodes_coordinates, write_checkpoint
meta = {"config": {"data": {"forcing": ["cos_latitude"], "timestep": "6h"}, "training": {"multistep_input": 1}},
        "dataset": {"variables": ["tcc", "cos_latitude", "sd"], "data_request": {"grid": "o96"},
                    "variables_metadata": {"tcc": {"mars": {"param": "tcc", "levtype": "sfc"}},
                                           "cos_latitude": {"computed_forcing": True, "constant_in_time": True},
                                           "sd": {"mars": {"param": "sd", "levtype": "sfc"}}}},
        "data_indices": {"data": {"input": {"prognostic": [0, 2]}}}}
write_checkpoint(sys.argv[2], meta, eccodes_coordinates("O96"), weights=int(sys.argv[3]))
`, FIXTURES, ckpt, String(WEIGHTS));
  const size = statSync(ckpt).size;

  const refs = join(ART, "refs-checkpoint.json");
  execFileSync(GIK, ["scan", SAMPLE, "--out", refs, "-q"]);
  const context = await browser.newContext({ viewport: { width: 1300, height: 1000 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log("page error:", e.message));
  await page.goto(server.url);
  await page.waitForFunction(() => window.gik?.ready, null, { timeout: 30_000 });
  await page.fill("#refs-url", new URL(`files${refs}`, server.url).href);
  await page.evaluate(() => { window.gik.ready = false; });
  await page.click("#open");
  await page.waitForFunction(() => window.gik.ready, null, { timeout: 30_000 });
  // a field on the map enables the downloads
  const n = await page.evaluate(() => window.gik.timings.length);
  await page.selectOption("#variable", "tcc/instant/entireAtmosphere/tcc");
  await page.waitForFunction((k) => window.gik.timings.length > k && window.gik.ready, n, { timeout: 30_000 });

  // every slice the worker takes of a Blob, and every arrayBuffer() it reads
  const [worker] = page.workers();
  assert.ok(worker, "the page's worker");
  await worker.evaluate(() => {
    self.reads = { slices: [], buffers: [] };
    const slice = Blob.prototype.slice;
    Blob.prototype.slice = function (...a) {
      self.reads.slices.push([a[0] ?? 0, a[1] ?? this.size, this.size]);
      return slice.apply(this, a);
    };
    const arrayBuffer = Blob.prototype.arrayBuffer;
    Blob.prototype.arrayBuffer = function () {
      self.reads.buffers.push(this.size);
      return arrayBuffer.call(this);
    };
  });

  await page.setInputFiles("#checkpoint", ckpt);
  assert.equal(await page.isDisabled("#params"), true, "the model's inputs replace the typed ones");
  const [dl] = await Promise.all([
    page.waitForEvent("download", { timeout: 60_000 }).catch(async (e) => {
      throw new Error(`${e.message}; status: ${await page.textContent("#status")}`);
    }),
    page.click("#download-member"),
  ]);
  const pkl = join(ART, "browser-member-o96.pkl");
  await dl.saveAs(pkl);
  const status = await page.textContent("#status");
  await page.screenshot({ path: join(ART, "page-checkpoint.png") });
  const reads = await worker.evaluate(() => self.reads);
  await context.close();

  // the state: the model's inputs on O96, the checkpoint's (ecCodes') coordinates
  const got = JSON.parse(python(`
import json, pickle, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from make_fixtures import eccodes_coordinates
s = pickle.load(open(sys.argv[2], "rb"))
c = eccodes_coordinates("O96")
print(json.dumps({"keys": sorted(s), "fields": {k: list(v.shape) for k, v in s["fields"].items()},
                  "dtype": str(s["fields"]["tcc"].dtype),
                  "coords": all(np.array_equal(s[k], c[k]) for k in ("latitudes", "longitudes"))}))
`, FIXTURES, pkl));
  assert.deepEqual(got.keys, ["date", "fields", "latitudes", "longitudes"], status);
  assert.deepEqual(got.fields, { tcc: [1, 40320], sd: [1, 40320] });
  assert.equal(got.dtype, "float32");
  assert.equal(got.coords, true, "latitudes/longitudes are the checkpoint's (ecCodes' O96)");
  execFileSync(GIK, ["extract", "--refs", refs, "--checkpoint", ckpt, "--members", "0", "--out", join(ART, "cli-checkpoint"), "-q"]);
  assert.ok(readFileSync(pkl).equals(readFileSync(join(ART, "cli-checkpoint/input_state_member_000.pkl"))),
    "the page's state differs from gik extract --checkpoint's");

  // read by slices only: the tail with the directory, the metadata, the two arrays
  const ofFile = reads.slices.filter((s) => s[2] === size);
  const bytes = reads.buffers.reduce((a, b) => a + b, 0);
  assert.ok(ofFile.length >= 1 && ofFile.length <= 3, JSON.stringify(reads));
  assert.ok(!reads.buffers.includes(size), "the whole file was read");
  const arrays = 2 * 8 * 40320;
  assert.ok(bytes <= arrays + 256 * 1024, `${bytes} bytes read of a ${size}-byte file: ${JSON.stringify(reads)}`);
  writeMeasure({ size, slices: ofFile, bytesRead: bytes });
});

function writeMeasure(m) {
  console.log(`checkpoint picked: ${m.size} bytes, ${m.slices.length} slices, ${m.bytesRead} bytes read`);
}
