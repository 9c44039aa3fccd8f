/** Errors thrown by gik-wasm carry a kind: "network" (CORS refusal or no network), "notFound",
 * "http", "unreachable" (a url the page cannot fetch), "badRefs", "missingData", "decode", "options",
 * "scan" (an index that disagrees with its GRIB file, no index, no message), "cancelled" (a progress
 * callback returned false), "parameterTables" (a parameter outside the built-in open-data tables, before
 * loadParameterTables), "notBuiltIn" (parquet references, JPEG 2000 or PNG packing in gik-wasm/lite:
 * the full module has them). */
export type GikErrorKind = "network" | "notFound" | "http" | "unreachable" | "badRefs" | "missingData" | "decode" | "options" | "scan" | "cancelled" | "parameterTables" | "notBuiltIn";
