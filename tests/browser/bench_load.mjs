// What the page fetches before its first field is drawn (a measurement, not
// a test): every response Chromium gets from opening the page until the
// first field is on the map, with its bytes raw and gzip -9, split into the
// page itself (HTML, CSS, JS, wasm, coastlines, parameter tables) and the
// data (references, GRIB ranges).
//
//   node tests/browser/bench_load.mjs
// Needs GIK_BIN (a gik serving web/ of this checkout: `gik serve --root .`),
// CHROMIUM. Opens the page's default references (web/sample/refs.json).
import { spawn } from "node:child_process";
import { gzipSync } from "node:zlib";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const GIK = process.env.GIK_BIN ?? join(ROOT, "target/debug/gik");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

const srv = await new Promise((ok, fail) => {
  const proc = spawn(GIK, ["serve", "--port", "0", "--root", ROOT], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  proc.stdout.on("data", (d) => {
    out += d;
    const m = /(http:\/\/\S+)\n/.exec(out);
    if (m) ok({ proc, url: m[1] });
  });
  proc.on("exit", (code) => fail(new Error(`gik serve exited (${code})`)));
});
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu"] });
const seen = [];
try {
  const page = await (await browser.newContext({ viewport: { width: 1300, height: 1000 } })).newPage();
  let first = false;
  // The context's responses: the page's and its worker's (the wasm, the references, the GRIB ranges).
  page.context().on("response", async (r) => {
    if (first) return;
    const entry = { url: r.url(), status: r.status(), start: r.request().timing().startTime, body: null };
    seen.push(entry);
    try {
      entry.body = await r.body();
    } catch {
      entry.body = Buffer.alloc(0);
    }
  });
  await page.goto(srv.url);
  await page.waitForFunction(() => window.gik?.field && window.gik.ready, null, { timeout: 60_000 });
  first = true;
  // What was asked for before the first map was drawn (the coastlines come after it).
  const drawnAt = await page.evaluate(() => window.gik.firstDrawnAt);
  await new Promise((r) => setTimeout(r, 200));
  for (const e of seen) e.after = !(e.start <= drawnAt);
} finally {
  await browser.close();
  srv.proc.kill();
}
const later = seen.filter((e) => e.after).map((e) => new URL(e.url).pathname.split("/").pop());
const rows = seen.filter((e) => !e.after).map((e) => {
  const u = new URL(e.url);
  const name = u.pathname.split("/").pop() || u.pathname;
  const body = e.body ?? Buffer.alloc(0);
  const data = /\.grib2$|refs\.json$|gik-config\.json$/.test(u.pathname);
  return { name, status: e.status, raw: body.length, gzip: body.length ? gzipSync(body, { level: 9 }).length : 0, data };
});
const sum = (rs, k) => rs.reduce((a, r) => a + r[k], 0);
const page = rows.filter((r) => !r.data);
const data = rows.filter((r) => r.data);
console.log("| file | status | raw bytes | gzip -9 bytes |\n|---|---:|---:|---:|");
for (const r of [...page, ...data]) console.log(`| ${r.name}${r.data ? " (data)" : ""} | ${r.status} | ${r.raw.toLocaleString("en")} | ${r.gzip.toLocaleString("en")} |`);
console.log(`| **the page (all but data)** | | **${sum(page, "raw").toLocaleString("en")}** | **${sum(page, "gzip").toLocaleString("en")}** |`);
console.log(`| data | | ${sum(data, "raw").toLocaleString("en")} | ${sum(data, "gzip").toLocaleString("en")} |`);
console.log(`requested after the first map was drawn (not counted): ${later.join(", ") || "nothing"}`);
console.log(JSON.stringify({ pageRaw: sum(page, "raw"), pageGzip: sum(page, "gzip"), dataRaw: sum(data, "raw"), dataGzip: sum(data, "gzip"), tablesFetched: rows.some((r) => r.name === "gik_tables.bin") }));
