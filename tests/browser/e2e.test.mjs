// End-to-end test of the page in a real browser: Debian's Chromium driven
// by playwright-core. It starts `gik serve` on loopback, opens the page,
// picks a variable and checks what a person would see against ecCodes
// (tests/browser/oracle.py): the canvas pixels, the pointer readout, the
// downloaded pickles (also byte-compared with `gik extract`), the messages
// for missing, bad and CORS-refused references, and the time from choosing
// a 0.25° CCSDS field to seeing it. Screenshots and measurements are kept in
// target/browser-artifacts/.
//
// The ensemble part (mean, spread and probability maps filling in as
// members arrive, cancelling, the step animation, zoom and pan, the plume)
// runs on a real-size ensemble made by make_ensemble.py (51 members, 0.25° grid,
// steps 0 6 12), served by the loopback range server with a delay per
// request, and is checked against `gik stats` and ecCodes.
//
// Environment: GIK_BIN (the gik binary), GIK_PYTHON (Python with numpy and
// eccodes), GIK_RANGE_SERVER (the range_server example), GIK_SHARED (for
// tools/make_ensemble.py), GIK_ARTIFACTS, CHROMIUM (default /usr/bin/chromium).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { createServer } from "node:http";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, openSync, readSync, closeSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium, serve } from "./lib.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const GIK = process.env.GIK_BIN ?? join(ROOT, "target/debug/gik");
const PY = process.env.GIK_PYTHON ?? join(ROOT, ".venv/bin/python");
const ART = process.env.GIK_ARTIFACTS ?? join(ROOT, "target/browser-artifacts");
const SAMPLE = join(ROOT, "data/samples/ecmwf-ifs-oper-20260310-00z-0h-surface.grib2");
const ORACLE = join(ROOT, "tests/browser/oracle.py");
const SHARED = process.env.GIK_SHARED ?? join(ROOT, "../shared");
const RANGE_SERVER = process.env.GIK_RANGE_SERVER ?? join(ROOT, "target/debug/examples/range_server");
// Per request, as issue 17 asks (a statistic of 51 members still takes a
// second or more, long enough to be changed midway).
const DELAY_MS = 30;

mkdirSync(ART, { recursive: true });

let browser;
let main; // gik serve (with proxy)
let bare; // gik serve --no-proxy
let noCors; // a server that sends no CORS headers
const measurements = { shownMs: [], fields: [] };

function oracle(...args) {
  return JSON.parse(execFileSync(PY, [ORACLE, ...args], { encoding: "utf8", maxBuffer: 1 << 24 }));
}

// Requests to the CORS-less server's /held.json, unanswered until released.
const held = [];
let onHeld = null;

/** A plain server on another origin without CORS headers (Range supported). */
function startNoCors() {
  return new Promise((ok) => {
    const server = createServer((req, res) => {
      const port = server.address().port;
      // What any static server sends (the proxy's object-store client wants them).
      res.setHeader("last-modified", new Date(statSync(SAMPLE).mtimeMs).toUTCString());
      res.setHeader("etag", `"${statSync(SAMPLE).size}"`);
      if (req.url === "/refs.json") {
        const refs = JSON.parse(readFileSync(join(ROOT, "web/sample/refs.json"), "utf8"));
        for (const v of Object.values(refs.refs)) if (Array.isArray(v)) v[0] = `http://127.0.0.1:${port}/sample.grib2`;
        const body = Buffer.from(JSON.stringify(refs));
        res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
        return res.end(body);
      }
      if (req.url === "/held.json") {
        // Never answered while a test holds it: an operation in flight.
        held.push(res);
        onHeld?.();
        return;
      }
      if (req.url === "/attacker.html") {
        // Another origin (another loopback port): a page that tries to read gik serve's data.
        res.writeHead(200, { "content-type": "text/html" });
        return res.end("<!doctype html><title>another origin</title>");
      }
      if (req.url === "/sample.grib2") {
        const size = statSync(SAMPLE).size;
        const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? "");
        const [a, b] = m ? [Number(m[1]), Math.min(Number(m[2]), size - 1)] : [0, size - 1];
        const buf = Buffer.alloc(b - a + 1);
        const fd = openSync(SAMPLE, "r");
        readSync(fd, buf, 0, buf.length, a);
        closeSync(fd);
        const headers = { "content-length": buf.length };
        if (m) headers["content-range"] = `bytes ${a}-${b}/${size}`;
        res.writeHead(m ? 206 : 200, headers);
        return res.end(buf);
      }
      res.writeHead(404);
      res.end();
    });
    server.listen(0, "127.0.0.1", () => ok(server));
  });
}

async function newPage(base) {
  const context = await browser.newContext({ viewport: { width: 1300, height: 1000 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log("page error:", e.message));
  await page.goto(base);
  await page.waitForFunction(() => window.gik?.ready, null, { timeout: 30_000 });
  return page;
}

async function choose(page, variable) {
  const n = await page.evaluate(() => window.gik.timings.length);
  await page.selectOption("#variable", variable);
  await page.waitForFunction((k) => window.gik.timings.length > k && window.gik.ready, n, { timeout: 30_000 });
  return page.evaluate(() => window.gik.timings.at(-1));
}

async function openInPage(page, url) {
  await page.fill("#refs-url", url);
  await page.evaluate(() => { window.gik.ready = false; });
  await page.click("#open");
  await page.waitForFunction(() => window.gik.ready, null, { timeout: 30_000 });
  return {
    text: await page.textContent("#status"),
    error: await page.evaluate(() => document.getElementById("status").classList.contains("error")),
  };
}

async function download(page, button, name) {
  const [dl] = await Promise.all([page.waitForEvent("download", { timeout: 60_000 }), page.click(button)]);
  const path = join(ART, name);
  await dl.saveAs(path);
  return { path, suggested: dl.suggestedFilename() };
}

before(async () => {
  // The CORS-less server below is on loopback: the proxy reads it only
  // when told to (an internal mirror); by default it refuses.
  main = await serve(["--allow-host", "127.0.0.1", "--proxy-allow-private"]);
  bare = await serve(["--no-proxy"]);
  noCors = await startNoCors();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  main?.proc.kill();
  bare?.proc.kill();
  noCors?.close();
  writeFileSync(join(ART, "measurements.json"), JSON.stringify(measurements, null, 2) + "\n");
});

test("a 0.25° CCSDS field appears (its time recorded, not asserted) and its pixels match ecCodes", async () => {
  const page = await newPage(main.url);
  assert.equal(await page.evaluate(() => document.getElementById("status").classList.contains("error")), false, await page.textContent("#status"));
  // Choose fields back and forth; every choice must be on screen within the budget.
  for (const v of ["tcc/instant/entireAtmosphere/tcc", "sd/instant/surface/sd", "rsn/instant/surface/rsn", "tcc/instant/entireAtmosphere/tcc"]) {
    const t = await choose(page, v);
    measurements.shownMs.push(t.shownMs);
    measurements.fields.push(t);
    assert.equal(t.packing, "grid_ccsds");
    assert.equal(t.points, 1440 * 721);
    // performance is measured (BENCHMARKS.md), never asserted: no time limit here
  }
  const b64 = await page.evaluate(() => {
    const c = document.getElementById("field");
    const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let s = "";
    for (let i = 0; i < px.length; i += 0x8000) s += String.fromCharCode.apply(null, px.subarray(i, i + 0x8000));
    return btoa(s);
  });
  const pixels = join(ART, "tcc-canvas.rgba");
  writeFileSync(pixels, Buffer.from(b64, "base64"));
  const lut = await page.evaluate(async () => Array.from((await import("./map.js")).LUT));
  writeFileSync(join(ART, "lut.json"), JSON.stringify(lut));
  const r = oracle("canvas", "--grib", SAMPLE, "--short", "tcc", "--pixels", pixels, "--lut", join(ART, "lut.json"));
  measurements.canvas = r;
  assert.ok(r.ok, r.reason);
  assert.equal(r.offRamp, 0, "every opaque pixel has a colour of the ramp");
  assert.equal(r.transparent, r.missing, "missing points, and only they, are transparent");
  assert.ok(r.withinOne >= 0.9999, `pixels within one colour step of ecCodes' values: ${r.withinOne}`);
  assert.ok(r.exact >= 0.99, `pixels with exactly the colour of ecCodes' value: ${r.exact}`);
  assert.ok(Math.abs(r.meanPixels - r.meanTruth) <= r.binWidth, `mean ${r.meanPixels} vs ${r.meanTruth}`);
  assert.ok(Math.abs(r.stdPixels - r.stdTruth) <= r.binWidth, `std ${r.stdPixels} vs ${r.stdTruth}`);
  const title = await page.textContent("#field-title");
  assert.match(title, /Total cloud cover/);
  await page.screenshot({ path: join(ART, "page-tcc.png") });
  await page.context().close();
});

test("the first field needs only the built-in open-data parameter tables; a field outside them loads gik_tables.bin once and is named as ecCodes names it", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const tables = [];
  page.on("request", (r) => { if (new URL(r.url()).pathname.endsWith("/gik_tables.bin")) tables.push(r.url()); });
  await page.goto(main.url);
  await page.waitForFunction(() => window.gik?.ready && window.gik.field, null, { timeout: 30_000 });
  await choose(page, "sd/instant/surface/sd");
  assert.deepEqual(tables, [], "open-data fields load no parameter tables");
  // Total column vertically-integrated mass density (0.20.1, CAMS chemistry): not open data.
  const grib = join(ART, "chem_ll.grib2");
  copyFileSync(join(SHARED, "data/grib/earthkitdata__chem_ll.grib2"), grib);
  const want = JSON.parse(readFileSync(join(SHARED, "data/grib/eccodes_expected/earthkitdata__chem_ll.grib2.json"), "utf8")).messages[0];
  const refs = join(ART, "refs-chem.json");
  execFileSync(GIK, ["scan", grib, "--out", refs, "-q"]);
  const opened = await openInPage(page, new URL(`files${refs}`, main.url).href);
  assert.equal(opened.error, false, opened.text);
  const variable = await page.evaluate((short) => Array.from(document.querySelectorAll("#variable option")).map((o) => o.value).find((v) => v.startsWith(`${short}/`)), want.shortName);
  assert.ok(variable, `a ${want.shortName} variable in the references`);
  if ((await page.inputValue("#variable")) !== variable) await choose(page, variable);
  await page.waitForFunction(() => window.gik.ready && window.gik.field, null, { timeout: 30_000 });
  const f = await page.evaluate(() => ({ name: window.gik.field.name, units: window.gik.field.units, n: window.gik.field.values.length }));
  assert.equal(f.name, want.name);
  assert.equal(f.units, want.units);
  assert.equal(f.n, want.numberOfValues);
  assert.equal(tables.length, 1, `gik_tables.bin fetched once: ${tables}`);
  await context.close();
});

test("the pointer readout shows the decoded value at its latitude and longitude", async () => {
  const page = await newPage(main.url);
  await choose(page, "sd/instant/surface/sd");
  const box = await page.locator("#map").boundingBox();
  // Greenland, the Sahara, the Pacific, Antarctica, Siberia.
  for (const [fx, fy] of [[0.37, 0.12], [0.53, 0.37], [0.1, 0.5], [0.5, 0.95], [0.75, 0.2]]) {
    await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
    await page.waitForFunction(() => !document.getElementById("readout").hidden);
    const d = await page.evaluate(() => ({ ...document.getElementById("readout").dataset, text: document.getElementById("readout").textContent }));
    const want = oracle("point", "--grib", SAMPLE, "--short", "sd", "--lat", d.lat, "--lon", d.lon);
    assert.equal(Number(d.lat), want.lat, `latitude under the pointer (${d.text})`);
    assert.equal(Number(d.lon), want.lon, `longitude under the pointer (${d.text})`);
    assert.equal(Number(d.value), want.value, `value at ${d.lat}, ${d.lon} (${d.text})`);
    assert.match(d.text, /m of water equivalent/);
  }
  await page.screenshot({ path: join(ART, "page-sd-readout.png") });
  await page.context().close();
});

test("downloaded pickles load in numpy, match ecCodes, and equal gik extract byte for byte", async () => {
  // References as `gik scan` writes them for a local file (absolute paths, served at /files).
  const refs = join(ART, "refs-scan.json");
  execFileSync(GIK, ["scan", SAMPLE, "--out", refs, "-q"]);
  const page = await newPage(main.url);
  const opened = await openInPage(page, new URL(`files${refs}`, main.url).href);
  assert.equal(opened.error, false, opened.text);
  await choose(page, "tcc/instant/entireAtmosphere/tcc");

  const field = await download(page, "#download-field", "browser-field.pkl");
  assert.equal(field.suggested, "tcc_m0_s0.pkl");
  const f = oracle("pickle", "--pickle", field.path, "--grib", SAMPLE, "--short", "tcc");
  assert.ok(f.ok, JSON.stringify(f));
  assert.deepEqual(f.fields.tcc.shape, [721, 1440]);
  assert.equal(f.fields.tcc.dtype, "float32");
  execFileSync(GIK, ["extract", "--refs", refs, "--params", "tcc", "--members", "0", "--steps", "0", "--out", join(ART, "cli-field"), "-q"]);
  assert.ok(readFileSync(field.path).equals(readFileSync(join(ART, "cli-field/input_state_member_000.pkl"))), "field pickle differs from gik extract's");

  await page.fill("#params", "tcc,sd,rsn,asn");
  const member = await download(page, "#download-member", "browser-member.pkl");
  assert.equal(member.suggested, "input_state_member_000.pkl");
  const m = oracle("pickle", "--pickle", member.path, "--grib", SAMPLE, "--short", "tcc,sd,rsn,asn");
  assert.ok(m.ok, JSON.stringify(m));
  assert.deepEqual(m.order, ["tcc", "sd", "rsn", "asn"]);
  execFileSync(GIK, ["extract", "--refs", refs, "--params", "tcc,sd,rsn,asn", "--members", "0", "--out", join(ART, "cli-member"), "-q"]);
  assert.ok(readFileSync(member.path).equals(readFileSync(join(ART, "cli-member/input_state_member_000.pkl"))), "member pickle differs from gik extract's");
  await page.screenshot({ path: join(ART, "page-after-downloads.png") });
  await page.context().close();
});

test("missing, bad and CORS-refused references get clear messages; the proxy reads the refused ones", async () => {
  const page = await newPage(main.url);
  let r = await openInPage(page, "nowhere/refs.json");
  assert.ok(r.error && /Not found/.test(r.text), r.text);
  r = await openInPage(page, "sample/ecmwf-ifs-oper-20260310-00z-0h-surface.grib2");
  assert.ok(r.error && /not references gik can read/.test(r.text), r.text);
  await page.screenshot({ path: join(ART, "page-bad-refs.png") });

  r = await openInPage(page, "sample/refs.json");
  assert.equal(r.error, false, r.text);
  await page.fill("#params", "aifs-ens");
  await page.click("#download-member");
  await page.waitForFunction(() => document.getElementById("status").classList.contains("error"), null, { timeout: 30_000 });
  assert.match(await page.textContent("#status"), /Missing data: the references lack .*2t/);

  // Another origin without CORS headers: through gik serve's proxy it works…
  const foreign = `http://127.0.0.1:${noCors.address().port}/refs.json`;
  r = await openInPage(page, foreign);
  assert.equal(r.error, false, r.text);
  assert.match(r.text, /tcc|asn/);
  await page.context().close();

  // …and a page served without the proxy says what happened and what to do.
  const plain = await newPage(bare.url);
  r = await openInPage(plain, foreign);
  assert.ok(r.error && /CORS/.test(r.text) && /gik serve/.test(r.text), r.text);
  await plain.screenshot({ path: join(ART, "page-cors.png") });
  await plain.context().close();
});

// A WebAssembly module whose one function, `trap`, executes `unreachable`:
// what a Rust panic compiles to in gik-wasm.
const TRAP_WASM = [
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: () -> ()
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x07, 0x08, 0x01, 0x04, 0x74, 0x72, 0x61, 0x70, 0x00, 0x00, // export "trap"
  0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b, // body: unreachable, end
];

test("a decoder that traps mid-operation gets a clear message, and the page keeps working", async () => {
  // In WebAssembly a Rust panic is a trap, which the page must survive: it
  // fails what the worker was doing with a clear message, starts a fresh
  // worker and keeps working (web/app.js, restartWorker). That path is the
  // last resort behind the checks done before the parquet crate is called,
  // and no input is known to reach it any more: the last one the fuzzers
  // found (the footer-statistics regression input) is refused by the footer
  // walk now. So the test makes the worker trap itself: while an open is in
  // flight (its request held by the CORS-less server), a real trap
  // (`unreachable`) is raised in the worker, uncaught, as a panic in a
  // wasm-bindgen future is. Nothing in the shipped page or package is there
  // for the test; the trap comes from the test, through playwright.
  const page = await newPage(main.url);
  const requested = new Promise((ok) => { onHeld = ok; });
  try {
    await page.fill("#refs-url", `http://127.0.0.1:${noCors.address().port}/held.json`);
    await page.evaluate(() => { window.gik.ready = false; });
    await page.click("#open");
    await requested;
    const workers = page.workers();
    assert.equal(workers.length, 1, "the page runs one worker");
    await workers[0].evaluate((bytes) => {
      setTimeout(() => new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes))).exports.trap());
    }, TRAP_WASM);
    await page.waitForFunction(() => window.gik.ready, null, { timeout: 30_000 });
    const text = await page.textContent("#status");
    assert.ok(await page.evaluate(() => document.getElementById("status").classList.contains("error")), text);
    assert.ok(/decoder stopped/.test(text) && /restarted/.test(text), text);
    assert.equal(await page.evaluate(() => window.gik.restarts), 1);
  } finally {
    onHeld = null;
    for (const res of held.splice(0)) res.destroy();
  }
  await page.screenshot({ path: join(ART, "page-trap.png") });
  const r = await openInPage(page, "sample/refs.json");
  assert.equal(r.error, false, r.text);
  const t = await choose(page, "tcc/instant/entireAtmosphere/tcc");
  assert.equal(t.points, 1440 * 721);
  assert.equal(await page.evaluate(() => window.gik.restarts), 1);
  await page.context().close();
});

test("every reference format opens in the page; zstd-compressed directories say how to convert them", async () => {
  const dir = join(ART, "formats");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync(GIK, ["scan", SAMPLE, "--out", join(dir, "refs.parquet"), "-q"]);
  execFileSync(GIK, ["scan", SAMPLE, "--out", join(dir, "refs-dir"), "--format", "parquet-dir", "-q"]);
  const files = (p) => new URL(`files${p}`, main.url).href;
  const page = await newPage(main.url);
  const urls = [files(join(dir, "refs.parquet")), files(join(dir, "refs-dir") + "/")];
  // kerchunk 0.2.10's own grib_tree output for this very file (relative url to the GRIB file).
  const tree = join(SHARED, "data/grib/kerchunk_refs/gribberish__ecmwf-ifs-oper-surface.grib2.grib_tree.json");
  assert.ok(existsSync(tree), `the shared reference data is missing: ${tree} (set GIK_SHARED)`);
  copyFileSync(tree, join(dir, "kerchunk-grib-tree.json"));
  copyFileSync(SAMPLE, join(dir, "gribberish__ecmwf-ifs-oper-surface.grib2"));
  urls.push(files(join(dir, "kerchunk-grib-tree.json")));
  for (const url of urls) {
    const r = await openInPage(page, url);
    assert.equal(r.error, false, `${url}: ${r.text}`);
    const t = await choose(page, "tcc/instant/entireAtmosphere/tcc");
    assert.equal(t.points, 1440 * 721, url);
    const f = await page.evaluate(() => ({ min: window.gik.field.min, max: window.gik.field.max, name: window.gik.field.name }));
    assert.deepEqual(f, { min: 0, max: 1, name: "Total cloud cover" }, url);
  }
  // fsspec's own writer compresses with zstd, which a C-free core cannot read.
  execFileSync(PY, ["-c", `import json, kerchunk.df as k; k.refs_to_dataframe(json.load(open(${JSON.stringify(join(ROOT, "web/sample/refs.json"))})), ${JSON.stringify(join(dir, "zstd-dir"))})`]);
  const r = await openInPage(page, files(join(dir, "zstd-dir")) + "/");
  assert.ok(r.error && /zstd/.test(r.text) && /gik scan/.test(r.text), r.text);
  await page.context().close();
});

test("the page loads only the lite module for its first field; parquet references, JPEG 2000 and PNG fields load the full module once and decode as ecCodes does", async () => {
  const dir = join(ART, "full-module");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = (p) => new URL(`files${p}`, main.url).href;
  const cases = [];
  // A JPEG 2000 (5.40) and a PNG (5.41) message, with ecCodes' answers.
  for (const name of ["gribrs__CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2", "gribtract__drt41_png_3x2.grib2"]) {
    const expected = join(SHARED, "data/grib/eccodes_expected", `${name}.json`);
    assert.ok(existsSync(expected), `the shared reference data is missing: ${expected} (set GIK_SHARED)`);
    const want = JSON.parse(readFileSync(expected, "utf8")).messages[0];
    copyFileSync(join(SHARED, "data/grib", name), join(dir, name));
    const refs = join(dir, `${name}.json`);
    execFileSync(GIK, ["scan", join(dir, name), "--out", refs, "-q"]);
    cases.push({ what: want.packingType, url: files(refs), want });
  }
  // Parquet references (the two-column file) to the sample's CCSDS fields.
  execFileSync(GIK, ["scan", SAMPLE, "--out", join(dir, "refs.parquet"), "-q"]);
  cases.push({ what: "parquet references", url: files(join(dir, "refs.parquet")), want: null });
  for (const c of cases) {
    const context = await browser.newContext({ viewport: { width: 1300, height: 1000 } });
    const page = await context.newPage();
    const modules = [];
    page.on("request", (r) => {
      const name = new URL(r.url()).pathname.split("/").pop();
      if (name.endsWith("_bg.wasm")) modules.push(name);
    });
    await page.goto(main.url);
    await page.waitForFunction(() => window.gik?.ready && window.gik.field, null, { timeout: 30_000 });
    assert.deepEqual(modules, ["gik_wasm_lite_bg.wasm"], "the first field (CCSDS, JSON references) needs only the lite module");
    const opened = await openInPage(page, c.url);
    assert.equal(opened.error, false, `${c.what}: ${opened.text}`);
    if (c.want) {
      // gik names variables as kerchunk does, by ecCodes' cfVarName (t2m for 2t)
      const variable = await page.evaluate((name) => Array.from(document.querySelectorAll("#variable option")).map((o) => o.value).find((v) => v.startsWith(`${name}/`)), c.want.cfVarName);
      assert.ok(variable, `${c.what}: a ${c.want.cfVarName} variable in the references`);
      if ((await page.inputValue("#variable")) !== variable) await choose(page, variable);
      await page.waitForFunction(() => window.gik.ready && window.gik.field, null, { timeout: 30_000 });
      const f = await page.evaluate(async () => {
        const v = window.gik.field.values;
        const d = await crypto.subtle.digest("SHA-256", new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
        return { n: v.length, name: window.gik.field.name, sha: Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("") };
      });
      assert.equal(f.n, c.want.numberOfValues, c.what);
      assert.equal(f.name, c.want.name, c.what);
      assert.equal(f.sha, c.want.sha256_float32_le, `${c.what}: the values' float32 bytes equal ecCodes'`);
    } else {
      const t = await choose(page, "tcc/instant/entireAtmosphere/tcc");
      assert.equal(t.points, 1440 * 721);
      const f = await page.evaluate(() => ({ min: window.gik.field.min, max: window.gik.field.max, name: window.gik.field.name }));
      assert.deepEqual(f, { min: 0, max: 1, name: "Total cloud cover" }, c.what);
    }
    assert.deepEqual(modules, ["gik_wasm_lite_bg.wasm", "gik_wasm_bg.wasm"], `${c.what}: the full module, loaded once`);
    await context.close();
  }
});

test("a page of another origin cannot read gik serve's files, proxy or config, while gik's own page can", async () => {
  const context = await browser.newContext();
  // The user has gik's page open (its token cookie is in this browser)…
  const own = await context.newPage();
  await own.goto(main.url);
  await own.waitForFunction(() => window.gik?.ready, null, { timeout: 30_000 });
  const gikOrigin = new URL(main.url).origin;
  const targets = {
    files: `${gikOrigin}/files${SAMPLE}`,
    config: `${gikOrigin}/gik-config.json`,
    proxy: `${gikOrigin}/proxy?url=${encodeURIComponent(`http://127.0.0.1:${noCors.address().port}/sample.grib2`)}`,
  };
  const tryRead = (t) =>
    Promise.all(
      Object.entries(t).map(async ([k, url]) => {
        try {
          const r = await fetch(url, { credentials: "include", headers: { Range: "bytes=0-3" } });
          return [k, `read: ${r.status} ${await r.text()}`];
        } catch (e) {
          return [k, `failed: ${e.message}`];
        }
      }),
    ).then(Object.fromEntries);
  // …gik's own page reads all three…
  const mine = await own.evaluate(tryRead, targets);
  for (const [k, v] of Object.entries(mine)) assert.match(v, /^read: (200|206)/, `${k} from gik's own page: ${v}`);
  // …and a page of another origin (another loopback port, same browser) reads none.
  const other = await context.newPage();
  await other.goto(`http://127.0.0.1:${noCors.address().port}/attacker.html`);
  const theirs = await other.evaluate(tryRead, targets);
  for (const [k, v] of Object.entries(theirs)) assert.match(v, /^failed/, `${k} from another origin: ${v}`);
  // Not even with the token in the url (a leaked link): the origin is checked too.
  const leaked = await other.evaluate(tryRead, { files: `${targets.files}?token=${new URL(main.url).searchParams.get("token")}` });
  assert.match(leaked.files, /^failed/, leaked.files);
  await context.close();
});

test("a gik built with --features embed-web (the page embedded, as cargo install builds it) serves a working page from an empty directory", async () => {
  const installed = process.env.GIK_INSTALLED_BIN;
  assert.ok(installed && existsSync(installed), "GIK_INSTALLED_BIN must name a gik built with --features embed-web (scripts/test_browser.sh builds one)");
  const empty = join(ART, "empty-dir");
  rmSync(empty, { recursive: true, force: true });
  mkdirSync(empty, { recursive: true });
  const srv = await serve([], { bin: installed, cwd: empty, root: null });
  try {
    const page = await newPage(srv.url);
    assert.equal(await page.evaluate(() => document.getElementById("status").classList.contains("error")), false, await page.textContent("#status"));
    const t = await choose(page, "tcc/instant/entireAtmosphere/tcc");
    assert.equal(t.points, 1440 * 721);
    assert.equal(t.packing, "grid_ccsds");
    await page.screenshot({ path: join(ART, "page-installed.png") });
    await page.context().close();
  } finally {
    srv.proc.kill();
  }
});

// ---- the ensemble ---------------------------------------------------------------------

let ens; // { dir, refs, url, proc, port, members, steps }

function rangeServer(root, delayMs) {
  return new Promise((ok, fail) => {
    const proc = spawn(RANGE_SERVER, [root, "--cors", "--delay-ms", String(delayMs)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) ok({ proc, port: Number(m[1]) });
    });
    proc.on("exit", (code) => fail(new Error(`range_server exited (${code})`)));
  });
}

/** Requests the range server has answered so far. */
async function served() {
  return Number(await (await fetch(`http://127.0.0.1:${ens.port}/__requests`)).text());
}

function readNpy(path) {
  const b = readFileSync(path);
  const header = b.toString("latin1", 10, 10 + b.readUInt16LE(8));
  assert.match(header, /'descr': '<f4'/);
  return new Float32Array(b.buffer.slice(b.byteOffset + 10 + b.readUInt16LE(8), b.byteOffset + b.length));
}

function gikStats(stat, step, variable = "2t") {
  const out = join(ens.dir, `stats-${variable}-${stat.replace(/[^a-z0-9.]/gi, "_")}-${step}.npy`);
  execFileSync(GIK, ["stats", "-q", "--refs", ens.refs, "--variable", variable, "--step", String(step), "--stat", stat, "--out", out]);
  return readNpy(out);
}

/** The values behind the map, bit for bit (NaN kept), and whether every canvas pixel has its value's colour. */
async function mapValues(page) {
  return page.evaluate(async () => {
    const { LUT, colourIndex } = await import("./map.js");
    const f = window.gik.field;
    const g = window.gik.geo;
    const c = document.getElementById("field");
    const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let wrongPixels = 0;
    for (let y = 0; y < g.nlat; y++) {
      for (let x = 0; x < g.nlon; x++) {
        const v = f.values[g.rows[y] * g.nlon + g.cols[x]];
        const o = (y * g.nlon + x) * 4;
        if (Number.isNaN(v)) {
          if (px[o + 3] !== 0) wrongPixels++;
          continue;
        }
        const i = colourIndex(v, f.min, f.max) * 3;
        if (px[o] !== LUT[i] || px[o + 1] !== LUT[i + 1] || px[o + 2] !== LUT[i + 2] || px[o + 3] !== 255) wrongPixels++;
      }
    }
    const bytes = new Uint8Array(f.values.buffer, f.values.byteOffset, f.values.byteLength);
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return { b64: btoa(s), wrongPixels, canvas: [c.width, c.height], stat: f.stat ?? null, done: f.done, total: f.total };
  });
}

/** numpy over ecCodes' values of every member at `step` (tests/browser/oracle.py stats). */
function oracleStats(step, stats) {
  const r = oracle("stats", "--dir", join(ens.dir, "grib"), "--short", "2t", "--step", String(step), ...stats.flatMap((s) => ["--stat", s]), "--out-prefix", join(ens.dir, `oracle-${step}`));
  assert.equal(r.members.length, ens.members);
  return r.files.map(readNpy);
}

/** Equal within float32 rounding of a float64 sum taken in another order. */
function closeValues(got, want, what) {
  assert.equal(got.length, want.length, `${what}: number of values`);
  let scale = 0;
  for (const v of want) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  let differ = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i]) && Number.isNaN(got[i])) continue;
    const d = Math.abs(got[i] - want[i]);
    worst = Math.max(worst, d);
    if (!(d <= 2e-6 * Math.abs(want[i]) + 1e-6 * scale)) differ++;
  }
  assert.equal(differ, 0, `${what}: ${differ} of ${want.length} values differ (largest difference ${worst})`);
}

function sameValues(got, want, what) {
  assert.equal(got.length, want.length, `${what}: number of values`);
  let differ = 0;
  let first = -1;
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) {
      differ++;
      if (first < 0) first = i;
    }
  }
  assert.equal(differ, 0, `${what}: ${differ} of ${want.length} values differ from gik stats (first at ${first}: ${got[first]} vs ${want[first]})`);
}

const lastShown = (page) => page.evaluate(() => window.gik.shown.at(-1));

/** Waits until the map shows what `pred` (run in the page on the last shown entry) accepts and the page is idle. */
async function waitShown(page, pred, arg) {
  await page.waitForFunction(
    ([src, a]) => {
      const s = window.gik.shown.at(-1);
      return window.gik.ready && s && new Function("s", "a", `return (${src})(s, a)`)(s, a);
    },
    [pred.toString(), arg],
    { timeout: 60_000 },
  );
  return lastShown(page);
}

async function openEnsemble(page) {
  const r = await openInPage(page, ens.url);
  assert.equal(r.error, false, r.text);
  await page.selectOption("#variable", "t2m/instant/heightAboveGround/t2m");
  await waitShown(page, (s) => s.variable === "t2m/instant/heightAboveGround/t2m");
}

async function setStep(page, step) {
  const i = ens.steps.indexOf(step);
  assert.ok(i >= 0, `step ${step}`);
  await page.locator("#step").fill(String(i));
}

// A real-size ensemble: 51 members at 0.25° (721 × 1440), 2t and tp at
// steps 0, 6 and 12 (306 messages, ~170 MB), made once into target/ by
// make_ensemble.py (~1 min) and kept while its arguments stay the same.
const ENS_ARGS = ["--grid", "0.25", "--members", "51", "--params", "2t,tp", "--steps", "0", "6", "12"];
const ENS_DIR = join(ROOT, "target/test-ens/browser-m51");

before(async () => {
  const dir = ENS_DIR;
  const make = join(SHARED, "tools/make_ensemble.py");
  assert.ok(existsSync(make), `the ensemble generator is missing: ${make} (set GIK_SHARED)`);
  // Not execFileSync: the event loop must keep serving the other hooks' processes.
  const run = promisify(execFile);
  const stamp = join(dir, "ARGS");
  if (!existsSync(stamp) || readFileSync(stamp, "utf8") !== ENS_ARGS.join(" ")) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await run(PY, [make, "--out", join(dir, "grib"), ...ENS_ARGS], { maxBuffer: 1 << 24 });
    writeFileSync(stamp, ENS_ARGS.join(" "));
  }
  const { proc, port } = await rangeServer(dir, DELAY_MS);
  const files = readdirSync(join(dir, "grib")).filter((f) => f.endsWith(".grib2")).sort();
  const refs = join(dir, "refs.json");
  await run(GIK, ["scan", "-q", "--out", refs, ...files.map((f) => `http://127.0.0.1:${port}/grib/${f}`)]);
  ens = { dir, refs, proc, port, url: `http://127.0.0.1:${port}/refs.json`, members: 51, steps: [0, 6, 12] };
});

after(() => ens?.proc.kill());

test("ensemble mean and probability maps fill in as members arrive and equal gik stats at every grid point", async () => {
  const page = await newPage(main.url);
  await openEnsemble(page);
  await setStep(page, 6);
  await waitShown(page, (s) => s.mode === "member" && s.step === 6);
  await page.check("#mode-ensemble");
  let s = await waitShown(page, (s) => s.mode === "ensemble" && s.step === 6);
  assert.equal(s.stat, "mean");
  // The map filled in: a partial map after the first 4 members, then all of them.
  const t = await page.evaluate(() => window.gik.timings.at(-1));
  assert.equal(t.firstPartialMembers, 4, JSON.stringify(t));
  assert.ok(t.firstPartialMs < t.shownMs, JSON.stringify(t));
  assert.equal(await page.textContent("#ens-count"), `${ens.members}/${ens.members} members`);
  assert.match(await page.textContent("#field-title"), new RegExp(`Ensemble mean of 2 metre temperature .*${ens.members}/${ens.members} members`));
  let m = await mapValues(page);
  assert.deepEqual(m.canvas, [1440, 721]);
  assert.equal(m.wrongPixels, 0, "every pixel has the colour of the value behind it");
  const mean = gikStats("mean", 6);
  sameValues(new Float32Array(Buffer.from(m.b64, "base64").buffer), mean, "mean");
  // …and numpy over ecCodes' values of the 51 members (the same sum in another
  // order: within 2e-6), asked once for the three statistics of this test: a
  // probability threshold in the middle of the mean's values.
  const sorted = Array.from(mean).filter(Number.isFinite).sort((a, b) => a - b);
  const threshold = Number(sorted[sorted.length >> 1].toFixed(1));
  const want = oracleStats(6, ["mean", "std", `p>${threshold}`]);
  closeValues(new Float32Array(Buffer.from(m.b64, "base64").buffer), want[0], "mean against numpy over ecCodes");
  await page.screenshot({ path: join(ART, "page-ensemble-mean.png") });

  // The spread…
  await page.selectOption("#stat", "std");
  s = await waitShown(page, (s) => s.stat === "std");
  m = await mapValues(page);
  sameValues(new Float32Array(Buffer.from(m.b64, "base64").buffer), gikStats("std", 6), "std");
  closeValues(new Float32Array(Buffer.from(m.b64, "base64").buffer), want[1], "std against numpy over ecCodes");
  await page.screenshot({ path: join(ART, "page-ensemble-spread.png") });

  // …and the probability of exceeding the threshold.
  await page.selectOption("#stat", "prob");
  await waitShown(page, (s) => s.stat.startsWith("p>"));
  await page.fill("#threshold", String(threshold));
  await page.dispatchEvent("#threshold", "change");
  s = await waitShown(page, (s, a) => s.stat === a, `p>${threshold}`);
  m = await mapValues(page);
  assert.equal(m.wrongPixels, 0);
  const prob = gikStats(`p>${threshold}`, 6);
  assert.ok(prob.some((v) => v > 0 && v < 1), "the threshold splits the members somewhere");
  sameValues(new Float32Array(Buffer.from(m.b64, "base64").buffer), prob, `p>${threshold}`);
  sameValues(new Float32Array(Buffer.from(m.b64, "base64").buffer), want[2], `p>${threshold} against numpy over ecCodes`);
  assert.equal(await page.textContent("#ens-count"), `${ens.members}/${ens.members} members`);
  assert.match(await page.textContent("#field-title"), new RegExp(`Probability of 2 metre temperature .* > ${threshold} K`));
  await page.screenshot({ path: join(ART, "page-ensemble-probability.png") });
  await page.context().close();
});

test("probability below a threshold, and tp accumulated from step 0 or since the previous step, equal gik stats", async () => {
  const page = await newPage(main.url);
  await openEnsemble(page);
  await setStep(page, 6);
  await waitShown(page, (s) => s.step === 6);
  await page.check("#mode-ensemble");
  await waitShown(page, (s) => s.mode === "ensemble" && s.stat === "mean" && s.step === 6);
  await page.selectOption("#stat", "prob-below");
  await waitShown(page, (s) => s.stat.startsWith("p<"));
  await page.fill("#threshold", "273.1");
  await page.dispatchEvent("#threshold", "change");
  await waitShown(page, (s) => s.stat === "p<273.1");
  let m = await mapValues(page);
  assert.equal(m.wrongPixels, 0);
  const below = gikStats("p<273.1", 6);
  assert.ok(below.some((v) => v > 0 && v < 1), "the threshold splits the members somewhere");
  sameValues(new Float32Array(Buffer.from(m.b64, "base64").buffer), below, "p<273.1");
  sameValues(new Float32Array(Buffer.from(m.b64, "base64").buffer), oracleStats(6, ["p<273.1"])[0], "p<273.1 against numpy over ecCodes");
  assert.match(await page.textContent("#field-title"), /Probability of 2 metre temperature .* < 273\.1 K/);
  await page.screenshot({ path: join(ART, "page-ensemble-probability-below.png") });

  // Total precipitation: the files hold 0–S totals; the page says so, and can show the change since the previous step.
  const tp = await page.evaluate(() => Array.from(document.querySelectorAll("#variable option")).map((o) => o.value).find((v) => v.startsWith("tp/")));
  await page.selectOption("#stat", "mean");
  await page.selectOption("#variable", tp);
  await setStep(page, 12);
  await waitShown(page, (s, a) => s.variable === a && s.stat === "mean" && s.step === 12, tp);
  assert.equal(await page.isVisible("#accum"), true, "the accumulation choice is offered for tp");
  assert.match(await page.textContent("#field-title"), /step 12 h · accumulated 0–12 h ·/);
  m = await mapValues(page);
  sameValues(new Float32Array(Buffer.from(m.b64, "base64").buffer), gikStats("mean", "12", "tp"), "tp mean 0-12 h");
  await page.selectOption("#accum", "interval");
  await waitShown(page, (s) => s.stat === "mean" && s.step === 12 && window.gik.ensemble.key.includes(",6,"));
  assert.match(await page.textContent("#field-title"), /accumulated 6–12 h \(the 12 h field minus the 6 h field\)/);
  m = await mapValues(page);
  sameValues(new Float32Array(Buffer.from(m.b64, "base64").buffer), gikStats("mean", "6-12", "tp"), "tp mean 6-12 h");
  await page.screenshot({ path: join(ART, "page-ensemble-tp-interval.png") });
  await page.context().close();
});

test("changing the statistic midway cancels the running one: it stops reading and is never shown", async () => {
  const page = await newPage(main.url);
  await openEnsemble(page);
  await setStep(page, 12);
  await waitShown(page, (s) => s.step === 12);
  // A full run, for the number of requests one statistic makes.
  let r0 = await served();
  await page.check("#mode-ensemble");
  await waitShown(page, (s) => s.mode === "ensemble" && s.stat === "mean" && s.step === 12);
  const full = (await served()) - r0;
  assert.ok(full >= ens.members, `a statistic reads every member (${full} requests)`);

  r0 = await served();
  await page.selectOption("#stat", "std");
  await page.waitForFunction(() => window.gik.ensemble?.done >= 1 && JSON.parse(window.gik.ensemble.key).at(-1) === "std", null, { timeout: 30_000 });
  await page.selectOption("#stat", "prob");
  const s = await waitShown(page, (s) => s.stat.startsWith("p>") && s.step === 12);
  await page.waitForFunction(() => window.gik.cancelled.length > 0, null, { timeout: 30_000 });
  const cancelled = await page.evaluate(() => window.gik.cancelled);
  assert.equal(cancelled.length, 1, JSON.stringify(cancelled));
  assert.equal(JSON.parse(cancelled[0].key).at(-1), "std");
  assert.ok(cancelled[0].done < ens.members, `the cancelled computation stopped at ${cancelled[0].done}/${ens.members}`);
  // Let anything still in flight arrive, then count: the probability's full
  // run plus fewer requests than a full run for the cancelled spread.
  await new Promise((r) => setTimeout(r, 1000));
  const both = (await served()) - r0;
  assert.ok(both - full < full, `the cancelled spread made ${both - full} requests, a full run makes ${full}`);
  const shown = await page.evaluate(() => window.gik.shown.filter((x) => x.stat === "std").length);
  assert.equal(shown, 0, "the cancelled statistic never reached the map");
  assert.equal(await page.textContent("#ens-count"), `${ens.members}/${ens.members} members`);
  assert.ok(s.stat.startsWith("p>"));
  await page.context().close();
});

test("play animates every step, for a member's field and for a statistic", async () => {
  const page = await newPage(main.url);
  await openEnsemble(page);
  for (const mode of ["member", "ensemble"]) {
    await page.check(`#mode-${mode}`);
    await waitShown(page, (s, a) => s.mode === a, mode);
    const n = await page.evaluate(() => window.gik.shown.length);
    const start = Number(await page.inputValue("#step"));
    await page.click("#play");
    assert.equal(await page.getAttribute("#play", "aria-pressed"), "true");
    // Until every step has been shown by the animation, and it came back to the first.
    await page.waitForFunction(
      ([n, steps, mode]) => {
        const played = window.gik.shown.slice(n).filter((x) => x.trigger === "play" && x.mode === mode).map((x) => x.step);
        return steps.every((st) => played.includes(st)) && played.length > steps.length;
      },
      [n, ens.steps, mode],
      { timeout: 60_000 },
    );
    await page.click("#play");
    assert.equal(await page.getAttribute("#play", "aria-pressed"), "false");
    const played = await page.evaluate((n) => window.gik.shown.slice(n).filter((x) => x.trigger === "play").map((x) => x.step), n);
    // In order from the step shown before, wrapping around (0 → 6, 12, 0, 6, …).
    played.forEach((st, i) => assert.equal(st, ens.steps[(start + i + 1) % ens.steps.length], `frame ${i}: ${played}`));
    if (mode === "ensemble") await page.screenshot({ path: join(ART, "page-animation.png") });
    await page.waitForFunction(() => window.gik.ready);
  }
  await page.context().close();
});

test("zoom and pan (wheel, drag, pinch) keep the pointer readout on the value at its latitude and longitude", async () => {
  const page = await newPage(main.url);
  await choose(page, "sd/instant/surface/sd");
  const box = await page.locator("#map").boundingBox();
  const at = (fx, fy) => [box.x + box.width * fx, box.y + box.height * fy];
  // Zoom in on Europe with the wheel, then drag the map.
  await page.mouse.move(...at(0.52, 0.25));
  for (let i = 0; i < 5; i++) await page.mouse.wheel(0, -300);
  await page.waitForFunction(() => window.gik.view.k > 4);
  await page.mouse.move(...at(0.5, 0.5));
  await page.mouse.down();
  await page.mouse.move(...at(0.4, 0.45), { steps: 5 });
  await page.mouse.up();
  // Two fingers moving apart zoom in further.
  const k0 = await page.evaluate(() => window.gik.view.k);
  await page.evaluate(([x, y]) => {
    const map = document.getElementById("map");
    const ev = (type, id, dx) => map.dispatchEvent(new PointerEvent(type, { pointerId: id, pointerType: "touch", clientX: x + dx, clientY: y, bubbles: true, isPrimary: id === 11 }));
    ev("pointerdown", 11, -20);
    ev("pointerdown", 12, 20);
    ev("pointermove", 11, -40);
    ev("pointermove", 12, 40);
    ev("pointerup", 11, -40);
    ev("pointerup", 12, 40);
  }, at(0.5, 0.5));
  const view = await page.evaluate(() => ({ ...window.gik.view }));
  assert.ok(view.k > k0 * 1.5, `pinch zoomed from ${k0} to ${view.k}`);
  const inner = await page.evaluate(() => { const m = document.getElementById("map"); return { left: m.clientLeft, top: m.clientTop, w: m.clientWidth, h: m.clientHeight }; });
  const geo = await page.evaluate(() => ({ west: window.gik.geo.west, north: window.gik.geo.north, dlon: window.gik.geo.dlon, dlat: window.gik.geo.dlat, nlon: window.gik.geo.nlon, nlat: window.gik.geo.nlat }));
  for (const [fx, fy] of [[0.2, 0.2], [0.5, 0.5], [0.8, 0.7], [0.33, 0.9], [0.9, 0.1]]) {
    const [x, y] = at(fx, fy);
    await page.mouse.move(x, y);
    await page.waitForFunction(() => !document.getElementById("readout").hidden);
    const d = await page.evaluate(() => ({ ...document.getElementById("readout").dataset, text: document.getElementById("readout").textContent }));
    // Where the pointer is on the zoomed map, worked out from the view alone…
    const u = (x - box.x - inner.left - view.tx) / (view.k * inner.w);
    const v = (y - box.y - inner.top - view.ty) / (view.k * inner.h);
    const lon = geo.west + (Math.floor(u * geo.nlon) + 0.5) * geo.dlon;
    const lat = geo.north - (Math.floor(v * geo.nlat) + 0.5) * geo.dlat;
    assert.ok(Math.abs(lon - Number(d.lon)) < 1e-6 || Math.abs(Math.abs(lon - Number(d.lon)) - 360) < 1e-6, `longitude ${d.lon} under the pointer, the view says ${lon} (${d.text})`);
    assert.ok(Math.abs(lat - Number(d.lat)) < 1e-6, `latitude ${d.lat} under the pointer, the view says ${lat} (${d.text})`);
    // …and the value ecCodes gives there.
    const want = oracle("point", "--grib", SAMPLE, "--short", "sd", "--lat", d.lat, "--lon", d.lon);
    assert.equal(Number(d.value), want.value, `value at ${d.lat}, ${d.lon} (${d.text})`);
  }
  await page.screenshot({ path: join(ART, "page-zoomed.png") });
  // The keyboard and the buttons zoom too; the reset button shows the whole map.
  await page.focus("#map");
  await page.keyboard.press("-");
  assert.ok((await page.evaluate(() => window.gik.view.k)) < view.k);
  await page.click("#zoom-reset");
  assert.deepEqual(await page.evaluate(() => window.gik.view), { k: 1, tx: 0, ty: 0 });
  await page.context().close();
});

test("a click on the map gives the plume: one line per member across the steps, equal to ecCodes, reusing decoded fields", async () => {
  const page = await newPage(main.url);
  await openEnsemble(page);
  const box = await page.locator("#map").boundingBox();
  const clickPlume = async (fx, fy) => {
    const n = await page.evaluate(() => window.gik.plume?.ms ?? null);
    await page.mouse.click(box.x + box.width * fx, box.y + box.height * fy);
    await page.waitForFunction((n) => window.gik.plume && window.gik.plume.ms !== n && !window.gik.plumeBusy, n, { timeout: 60_000 });
    return page.evaluate(() => window.gik.plume);
  };
  // Record the paths stroked on the plume canvas (CSS pixels: drawPlume scales by the pixel ratio itself).
  await page.evaluate(() => {
    const C = CanvasRenderingContext2D.prototype;
    const orig = { beginPath: C.beginPath, moveTo: C.moveTo, lineTo: C.lineTo, stroke: C.stroke };
    window.plumeStrokes = [];
    let path = [];
    C.beginPath = function () { path = []; return orig.beginPath.call(this); };
    C.moveTo = function (x, y) { path.push([x, y]); return orig.moveTo.call(this, x, y); };
    C.lineTo = function (x, y) { path.push([x, y]); return orig.lineTo.call(this, x, y); };
    C.stroke = function (...a) {
      if (this.canvas.id === "plume") window.plumeStrokes.push({ width: this.lineWidth, points: path.slice() });
      return orig.stroke.apply(this, a);
    };
  });
  let r0 = await served();
  const p = await clickPlume(0.55, 0.3);
  const first = (await served()) - r0;
  const strokes = await page.evaluate(() => window.plumeStrokes);
  assert.equal(p.members.length, ens.members);
  assert.deepEqual(p.steps, ens.steps);
  assert.equal(p.values.length, ens.members, "one line per member");
  // The member field on the map was decoded already; the rest is read once.
  assert.equal(p.fields, ens.members * ens.steps.length);
  assert.ok(p.reused >= 1, `reused ${p.reused}`);
  assert.ok(first <= p.fields - p.reused, `${first} requests for ${p.fields - p.reused} fields`);
  // The canvas shows them: at every step inside the frame, each member's
  // value (checked against ecCodes below) is painted where the axes put
  // it, and the canvas is blank away from the lines.
  const painted = await page.evaluate(({ steps, lines }) => {
    const c = document.getElementById("plume");
    const a = window.gik.plume.axes;
    const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    const alpha = (x, y) => px[(Math.round(y * a.dpr) * c.width + Math.round(x * a.dpr)) * 4 + 3];
    const X = (s) => a.left + ((s - a.s0) / (a.s1 - a.s0)) * (a.right - a.left);
    const Y = (v) => a.top + ((a.hi - v) / (a.hi - a.lo)) * (a.bottom - a.top);
    let drawn = 0;
    let checked = 0;
    steps.forEach((st, j) => {
      if (st === a.s0 || st === a.s1) return; // on the frame
      for (const ys of lines) {
        if (ys[j] === a.lo || ys[j] === a.hi) continue; // on the frame
        checked++;
        if (alpha(X(st), Y(ys[j])) > 0) drawn++;
      }
    });
    let blank = 0;
    for (let y = a.top + 2; y < a.bottom - 2; y += 2) {
      for (let x = a.left + 2; x < a.right - 2; x += 2) if (alpha(x, y) === 0) blank++;
    }
    return { checked, drawn, blank };
  }, { steps: p.steps, lines: p.values });
  assert.ok(painted.checked >= ens.members, JSON.stringify(painted));
  assert.equal(painted.drawn, painted.checked, `every member's value is drawn: ${JSON.stringify(painted)}`);
  assert.ok(painted.blank > 0, `the canvas is not painted all over: ${JSON.stringify(painted)}`);
  await page.screenshot({ path: join(ART, "page-plume.png"), fullPage: true });
  // Another point: the worker's cache (256 MB: 64 of the 153 fields of 4 MB,
  // least recently used out) still holds the last fields read; the plume uses
  // those first (before reading others evicts them) and reads the rest again.
  r0 = await served();
  const q = await clickPlume(0.3, 0.6);
  assert.notEqual(q.index, p.index);
  assert.ok(q.reused >= 1, `reused ${q.reused}`);
  assert.ok((await served()) - r0 <= q.fields - q.reused, `${(await served()) - r0} requests for ${q.fields - q.reused} fields`);
  // Both points' values are ecCodes' (one pass over the files for both), and the mean line is their mean.
  const { points } = oracle(
    "ensemble", "--dir", join(ens.dir, "grib"), "--short", "2t",
    "--lat", String(p.lat), "--lon", String(p.lon), "--lat", String(q.lat), "--lon", String(q.lon),
  );
  [p, q].forEach((x, k) => {
    const want = points[k];
    assert.equal(want.lat, x.lat);
    assert.equal(want.lon, x.lon);
    x.members.forEach((m, i) => {
      x.steps.forEach((st, j) => assert.equal(x.values[i][j], want.values[String(m)][String(st)], `point ${k}: member ${m} step ${st}`));
    });
    x.steps.forEach((st, j) => {
      const vals = x.members.map((m) => want.values[String(m)][String(st)]);
      const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
      assert.ok(Math.abs(x.mean[j] - mean) < 1e-9 * Math.abs(mean), `point ${k}: mean at step ${st}: ${x.mean[j]} vs ${mean}`);
    });
  });
  // The first plume drew 51 thin lines through ecCodes' values and one thick line through their mean.
  const a = p.axes;
  const X = (st) => a.left + ((st - a.s0) / (a.s1 - a.s0)) * (a.right - a.left);
  const Y = (v) => a.top + ((a.hi - v) / (a.hi - a.lo)) * (a.bottom - a.top);
  const thin = strokes.filter((st) => st.width === 1);
  const thick = strokes.filter((st) => st.width === 3);
  assert.equal(thin.length, ens.members, `${thin.length} member lines drawn`);
  assert.equal(thick.length, 1, "one mean line");
  const near = (pts, ys) => pts.length === p.steps.length && pts.every(([px, py], j) => Math.abs(px - X(p.steps[j])) < 1e-6 && Math.abs(py - Y(ys[j])) < 1e-6);
  p.members.forEach((m, i) => {
    const ys = p.steps.map((st) => points[0].values[String(m)][String(st)]);
    assert.ok(near(thin[i].points, ys), `member ${m}'s line goes through ecCodes' values: ${JSON.stringify(thin[i].points)}`);
  });
  assert.ok(near(thick[0].points, p.mean), `the mean line: ${JSON.stringify(thick[0].points)}`);
  await page.context().close();
});

// The request form (web/request-form.js): the demo ensemble laid out as
// ECMWF's mirror (2025-01-01 00z, cycle 49r1) behind the loopback range
// server; the page opens what the request names, only the fields it asks
// for, and a run the mirror lacks says which object is missing.
test("the request form opens an open-data request from a mirror root, and names a missing object", async () => {
  const root = join(ART, "request-mirror");
  rmSync(root, { recursive: true, force: true });
  const dir = join(root, "20250101/00z/ifs/0p25/enfo");
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(join(ROOT, "data/demo/49r1"))) copyFileSync(join(ROOT, "data/demo/49r1", f), join(dir, f));
  const { proc, port } = await rangeServer(root, 0);
  try {
    const page = await newPage(main.url);
    await page.selectOption("#req-source", "root");
    await page.fill("#req-root", `http://127.0.0.1:${port}`);
    await page.fill("#req-date", "2025-01-01");
    await page.selectOption("#req-time", "0");
    await page.fill("#req-step", "0/6");
    await page.selectOption("#req-stream", "enfo");
    await page.fill("#req-param", "2t/t");
    await page.fill("#req-levelist", "850");
    const submit = async () => {
      await page.evaluate(() => { window.gik.ready = false; });
      await page.click("#req-open");
      await page.waitForFunction(() => window.gik.ready, null, { timeout: 60_000 });
      return { text: await page.textContent("#status"), error: await page.evaluate(() => document.getElementById("status").classList.contains("error")) };
    };
    let r = await submit();
    assert.equal(r.error, false, r.text);
    const vars = Object.fromEntries(await page.evaluate(() => window.gik.variables.map((v) => [v.shortName, v])));
    assert.deepEqual(Object.keys(vars).sort(), ["2t", "t"]);
    assert.deepEqual(vars.t.levels, [850]);
    assert.deepEqual(vars.t.members, [0, 1, 2, 3]);
    await page.screenshot({ path: join(ART, "page-request.png") });
    await page.fill("#req-date", "2025-01-02");
    r = await submit();
    assert.ok(r.error && r.text.includes("20250102/00z/ifs/0p25/enfo/20250102000000-0h-enfo-ef.index"), r.text);
    await page.context().close();
  } finally {
    proc.kill();
  }
});
