/** Options of `openRefs`. */
export interface OpenOptions {
  /** Url that relative references (and references given as bytes) resolve against. */
  baseUrl?: string;
  /** Prefix of a CORS range proxy; the url-encoded target is appended (`gik serve`: "/proxy?url="). */
  proxy?: string;
  /** When to use the proxy: directly first and the proxy when refused (default), always, or never. */
  proxyMode?: "fallback" | "always" | "never";
  /** Prefix under which absolute local paths are served (`gik serve`: "/files"). */
  files?: string;
  /** Requests in flight at once for a member's state (default 8). */
  concurrency?: number;
}

/** A data variable of the references. */
export interface VariableInfo {
  /** Array path, e.g. "t/instant/isobaricInhPa/t". */
  path: string;
  name: string;
  shortName: string;
  longName: string;
  units: string;
  typeOfLevel: string;
  stepType: string;
  gridType: string;
  dims: string[];
  shape: number[];
  /** Level coordinate name ("isobaricInhPa") or null. */
  levelName: string | null;
  levels: number[];
  /** Forecast steps, hours. */
  steps: number[];
  /** Forecast reference times, seconds since 1970. */
  times: number[];
  /** Ensemble members (control = 0); empty for a deterministic forecast. */
  members: number[];
}

/** The coordinates of a variable. */
export interface Coords {
  dims: string[];
  time: number[];
  step: number[];
  levelName: string | null;
  levels: number[];
  number: number[];
  latitude: Float64Array | null;
  longitude: Float64Array | null;
}

/** One field: a variable at a reference time, step, level and member (absent: the first). */
export interface FieldSelection {
  /** Array path, or a shortName / name when unambiguous. */
  variable: string;
  member?: number;
  /** Hours. */
  step?: number;
  level?: number;
  /** Reference time, seconds since 1970. */
  time?: number;
}

/** A decoded field. */
export interface FieldData {
  /** Values in GRIB order (row-major, `shape`); NaN where missing. */
  values: Float32Array;
  /** [nlat, nlon] for a regular grid, [npoints] otherwise. */
  shape: number[];
  /** Latitude of each row (null when the grid is not regular). */
  latitudes: Float64Array | null;
  /** Longitude of each column (null when the grid is not regular). */
  longitudes: Float64Array | null;
  min: number;
  max: number;
  mean: number;
  /** Number of missing (NaN) points. */
  missing: number;
  units: string;
  /** Long name, e.g. "2 metre temperature". */
  name: string;
  shortName: string;
  variable: string;
  gridType: string;
  packingType: string;
  time: number | null;
  step: number | null;
  level: number | null;
  member: number | null;
  /** Valid time, seconds since 1970. */
  validTime: number | null;
  /** Bytes fetched. */
  bytes: number;
  fetchMs: number;
  decodeMs: number;
}

/** What goes into a member's AIFS input state (as `gik extract` takes it). */
export interface MemberPickleOptions {
  /** Ensemble member (default: the first). */
  member?: number;
  /** Preset ("aifs-ens", "aifs-single") or list ("2t,msl,t_850,gh_500"); default "aifs-ens". */
  params?: string;
  /** Valid date ("2025-01-01T06", "2025010106") or seconds since 1970; default the latest possible. */
  date?: string | number;
  /** Forecast step in hours for the grid layout (default: the first). */
  step?: number;
  /** "grid": (nlat, nlon) per field (default); "aifs": (2, npoints), date − 6 h and date. */
  layout?: "grid" | "aifs";
  /** "n320": regrid every field to N320 (542,080 points, MIR "linear") and add
   * `latitudes`/`longitudes` (0 → 360), as the AIFS models read them; default "0.25" (source grid). */
  grid?: "0.25" | "n320";
  dtype?: "float32" | "float64";
  /** Leave out inputs the references lack instead of failing. */
  allowMissing?: boolean;
  /** Requests in flight at once (default: the open options' concurrency). */
  concurrency?: number;
  /** Called after each field: (fields done, fields in all, name of the field). */
  onProgress?: (done: number, total: number, name: string) => void;
}

/** One decoded message of a GRIB2 buffer. */
export interface DecodedField {
  index: number;
  offset: number;
  length: number;
  shortName: string;
  name: string;
  units: string;
  typeOfLevel: string;
  level: number;
  stepRange: string;
  number: number | null;
  gridType: string;
  packingType: string;
  shape: number[];
  values: Float32Array;
  latitudes: Float64Array | null;
  longitudes: Float64Array | null;
  min: number;
  max: number;
}

/** Options of `scan`: how urls are fetched (as for `openRefs`) and how messages are found. */
export interface ScanOptions extends OpenOptions {
  /** The `.index` / `.idx` next to each file when there is one (default), only an index, or the headers. */
  mode?: "auto" | "index" | "headers";
  /** How much of an index to check against the GRIB headers (default "all"). */
  verify?: "all" | "sample" | "none";
}

/** Errors thrown by gik-wasm carry a kind: "network" (CORS refusal or no network), "notFound",
 * "http", "unreachable" (a url the page cannot fetch), "badRefs", "missingData", "decode", "options",
 * "scan" (an index that disagrees with its GRIB file, no index, no message). */
export type GikErrorKind = "network" | "notFound" | "http" | "unreachable" | "badRefs" | "missingData" | "decode" | "options" | "scan";
