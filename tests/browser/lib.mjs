// What the browser tests share: `gik serve` on loopback and Debian's Chromium.
import { spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const GIK = process.env.GIK_BIN ?? join(ROOT, "target/debug/gik");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** `gik serve --port 0` (files below `root`); resolves to `{ proc, url }` once it prints its url. */
export function serve(args, { bin = GIK, cwd = ROOT, root = ROOT } = {}) {
  return new Promise((resolvePromise, reject) => {
    const rootArgs = root ? ["--root", root] : [];
    const proc = spawn(bin, ["serve", "--port", "0", ...rootArgs, ...args], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    proc.stderr.on("data", (d) => (err += d));
    proc.stdout.on("data", (d) => {
      out += d;
      const line = out.split("\n")[0];
      if (out.includes("\n")) resolvePromise({ proc, url: line.trim() });
    });
    proc.on("exit", (code) => reject(new Error(`gik serve exited (${code}): ${err}`)));
    setTimeout(() => reject(new Error(`gik serve did not start: ${err}`)), 15_000);
  });
}

/** Headless Chromium (the Debian package by default). */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
