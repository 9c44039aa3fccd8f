// Compiled with `tsc --noEmit` against the installed package's declarations:
// the API is typed (options, results, errors), not `any`.
import init, { openRefs, decodeGrib, scan, type FieldData, type VariableInfo, type MemberPickleOptions, type GikErrorKind, type ScanOptions, type EnsembleStatsData } from "gik-wasm";
import initLite, { openRefs as openRefsLite } from "gik-wasm/lite";

/** The lite module first, the full one when it says a feature is not built in. */
export async function openEither(url: string): Promise<number> {
  await initLite();
  try {
    return (await openRefsLite(url)).variables().length;
  } catch (e) {
    const kind: GikErrorKind = (e as { kind: GikErrorKind }).kind;
    if (kind !== "notBuiltIn") throw e;
    await init();
    return (await openRefs(url)).variables().length;
  }
}

export async function scanned(urls: string[]): Promise<number> {
  const opts: ScanOptions = { mode: "index", verify: "sample", proxy: "/proxy?url=" };
  const refs: Uint8Array = await scan(urls, opts);
  const kind: GikErrorKind = "scan";
  void kind;
  return (await openRefs(refs)).variables().length;
}

export async function preview(url: string): Promise<number> {
  await init();
  const refs = await openRefs(url, { proxy: "/proxy?url=", proxyMode: "fallback" });
  const vars: VariableInfo[] = refs.variables();
  const first: string = vars[0].path;
  const f: FieldData = await refs.readField({ variable: first, member: 0, step: 6 });
  const values: Float32Array = f.values;
  const [nlat, nlon] = f.shape;
  const opts: MemberPickleOptions = { member: 1, params: "aifs-ens", layout: "aifs", onProgress: (done, total) => void (done / total) };
  const pickle: Uint8Array = await refs.memberPickle(opts);
  const kind: GikErrorKind = "missingData";
  void kind;
  const ens: EnsembleStatsData = await refs.ensembleStats({ variable: first, step: 6, stats: ["mean", "p>"], threshold: 273.15 }, (done, total) => void (done / total));
  const mean: Float32Array = ens.stats[0].values;
  return mean.length + values.length + nlat + nlon + pickle.length + decodeGrib(pickle)[0].values.length;
}

// @ts-expect-error: readField needs a selection object
openRefs("x").then((r) => r.readField());

import { openRequest, resolveRequest, type RequestSpec, type ResolvedRequest } from "gik-wasm";
export async function requested(): Promise<string> {
  const spec: RequestSpec = { model: "ifs", date: "latest", time: 0, step: "0/to/12/by/6", stream: "enfo", param: ["2t", "msl"], source: "aws" };
  const run: ResolvedRequest = await resolveRequest(spec, { proxy: "/proxy?url=" });
  const refs = await openRequest(spec);
  return `${run.run}: ${run.urls.length} objects, ${refs.variables().length} variables`;
}
