// The ensemble mean of a real-size ensemble on the page, in Chromium, over
// the loopback range server with a delay per request (a measurement, not a
// test): time from choosing "Ensemble" to the first partial map and to the
// complete map, the page's JS heap, the worker's WebAssembly memory and the
// renderer's resident memory at their peaks. Then `gik stats` on the same
// references for comparison.
//
//   node tests/browser/bench_ensemble.mjs --data DIR [--variable 2t] [--step 0]
//        [--delay-ms 30] [--runs 3]
// DIR holds make_ensemble.py's files (e.g. target/ens-full/50r1). Needs
// GIK_BIN (a gik serving the page), GIK_STATS_BIN (a release gik for
// `gik stats`, default GIK_BIN), GIK_RANGE_SERVER, CHROMIUM.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const DATA = resolve(args.data ?? join(ROOT, "target/ens-full/50r1"));
const VARIABLE = args.variable ?? "2t";
const STEP = Number(args.step ?? 0);
const DELAY = Number(args["delay-ms"] ?? 30);
const RUNS = Number(args.runs ?? 3);
const GIK = process.env.GIK_BIN ?? join(ROOT, "target/debug/gik");
const STATS_GIK = process.env.GIK_STATS_BIN ?? GIK;
const RANGE_SERVER = process.env.GIK_RANGE_SERVER ?? join(ROOT, "target/debug/examples/range_server");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

function start(bin, argv, pattern) {
  return new Promise((ok, fail) => {
    const proc = spawn(bin, argv, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) ok({ proc, match: m });
    });
    proc.on("exit", (code) => fail(new Error(`${bin} exited (${code})`)));
  });
}

/** Resident memory of Chromium's renderer processes, the largest (the page's), in bytes. */
function rendererRss() {
  let max = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes("--type=renderer")) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (rss) max = Math.max(max, Number(rss[1]) * 1024);
    } catch {
      // gone
    }
  }
  return max;
}

const work = mkdtempSync(join(tmpdir(), "gik-bench-ens-"));
const rs = await start(RANGE_SERVER, [dirname(DATA), "--cors", "--delay-ms", String(DELAY)], /PORT (\d+)/);
const port = Number(rs.match[1]);
const gribs = readdirSync(DATA).filter((f) => f.endsWith(".grib2")).sort();
const refs = join(work, "refs.json");
execFileSync(GIK, ["scan", "-q", "--out", refs, ...gribs.map((f) => `http://127.0.0.1:${port}/${basename(DATA)}/${f}`)]);
const srv = await start(GIK, ["serve", "--port", "0", "--root", work], /(http:\/\/\S+)\n/);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--enable-precise-memory-info", "--disable-background-networking"],
});
const results = [];
try {
  for (let run = 0; run < RUNS; run++) {
    const page = await (await browser.newContext({ viewport: { width: 1300, height: 1000 } })).newPage();
    await page.goto(srv.match[1]);
    await page.waitForFunction(() => window.gik?.ready, null, { timeout: 120_000 });
    await page.fill("#refs-url", new URL(`files${refs}`, srv.match[1]).href);
    await page.evaluate(() => { window.gik.ready = false; });
    await page.click("#open");
    await page.waitForFunction(() => window.gik.ready, null, { timeout: 120_000 });
    const path = await page.evaluate((v) => window.gik.variables.find((x) => x.shortName === v || x.path === v).path, VARIABLE);
    await page.selectOption("#variable", path);
    await page.waitForFunction((p) => window.gik.ready && window.gik.shown.at(-1)?.variable === p, path, { timeout: 120_000 });
    const steps = await page.evaluate(() => window.gik.variables.find((x) => x.path === document.getElementById("variable").value).steps);
    if (steps.length > 1) await page.locator("#step").fill(String(steps.indexOf(STEP)));
    await page.waitForFunction((s) => window.gik.ready && window.gik.shown.at(-1)?.step === s, STEP, { timeout: 120_000 });
    const requests0 = Number(await (await fetch(`http://127.0.0.1:${port}/__requests`)).text());
    let peak = { heap: 0, rss: 0 };
    const sample = setInterval(async () => {
      peak.rss = Math.max(peak.rss, rendererRss());
      try {
        peak.heap = Math.max(peak.heap, await page.evaluate(() => performance.memory.usedJSHeapSize));
      } catch {
        // page busy closing
      }
    }, 50);
    await page.check("#mode-ensemble");
    await page.waitForFunction(() => window.gik.ready && window.gik.shown.at(-1)?.mode === "ensemble", null, { timeout: 300_000 });
    clearInterval(sample);
    const t = await page.evaluate(() => window.gik.timings.at(-1));
    const wasmBytes = await page.workers()[0].evaluate(async () => self.gikModule().memoryBytes);
    const requests = Number(await (await fetch(`http://127.0.0.1:${port}/__requests`)).text()) - requests0;
    const r = { firstPartialMs: t.firstPartialMs, firstPartialMembers: t.firstPartialMembers, completeMs: t.shownMs, workerMs: t.workerMs, members: t.members, requests, peakJsHeapMiB: peak.heap / 2 ** 20, wasmMemoryMiB: wasmBytes / 2 ** 20, peakRendererRssMiB: peak.rss / 2 ** 20 };
    results.push(r);
    console.log(JSON.stringify(r));
    await page.context().close();
  }
} finally {
  await browser.close();
  srv.proc.kill();
}
// gik stats on the same references (over the same server) and on the local files.
const cli = [];
const local = join(work, "refs-local.json");
execFileSync(GIK, ["scan", "-q", "--out", local, ...gribs.map((f) => join(DATA, f))]);
for (const [what, r] of [["range server", refs], ["local files", local]]) {
  for (let run = 0; run < RUNS; run++) {
    const t0 = performance.now();
    execFileSync(STATS_GIK, ["stats", "-q", "--refs", r, "--variable", VARIABLE, "--step", String(STEP), "--stat", "mean", "--out", join(work, "mean.npy")]);
    cli.push({ what, ms: performance.now() - t0 });
    console.log(JSON.stringify(cli.at(-1)));
  }
}
rs.proc.kill();
rmSync(work, { recursive: true, force: true });
