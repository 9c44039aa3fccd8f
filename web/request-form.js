// The request form: ask for an ECMWF open-data forecast the way
// ecmwf-opendata users do (model, date or latest, run, steps, stream,
// parameters, mirror) instead of typing a references url. The request is
// resolved and scanned in the worker by the npm package's openRequest (the
// core's request module: both IFS cycles' naming, `latest` checked with the
// .index files); remote mirrors go through `gik serve`'s CORS proxy when the
// browser is refused. The page opens the result as it opens references:
// this module only builds the form and sends a `gik:open-request` event.

const MIRRORS = [
  ["aws", "AWS (s3://ecmwf-forecasts)"],
  ["google", "Google (gs://ecmwf-open-data)"],
  ["ecmwf", "ECMWF (data.ecmwf.int)"],
  ["azure", "Azure"],
  ["root", "a root url…"],
];

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function select(id, options, value) {
  const s = el("select", { id });
  for (const [v, text] of options) s.append(el("option", { value: v }, text));
  s.value = value;
  return s;
}

function labelled(text, input) {
  return el("label", {}, `${text} `, input);
}

/** The request the form describes (ecmwf-opendata's keywords; empty ones left out). */
export function requestOf(form) {
  const v = (id) => form.querySelector(`#${id}`).value.trim();
  const mirror = v("req-source");
  const request = {
    model: v("req-model"),
    date: v("req-date") || "latest",
    step: v("req-step") || "0",
    stream: v("req-stream"),
    source: mirror === "root" ? v("req-root") : mirror,
  };
  if (v("req-time") !== "any") request.time = Number(v("req-time"));
  for (const k of ["param", "levelist", "number"]) if (v(`req-${k}`)) request[k] = v(`req-${k}`);
  return request;
}

function build() {
  const root = el("input", { id: "req-root", type: "text", spellcheck: "false", placeholder: "http://127.0.0.1:8000/forecasts", hidden: "" });
  const source = select("req-source", MIRRORS, "aws");
  source.addEventListener("change", () => { root.hidden = source.value !== "root"; });
  const form = el(
    "form",
    { id: "request-form", "aria-label": "open-data request" },
    labelled("Model", select("req-model", [["ifs", "IFS"], ["aifs-ens", "AIFS-ENS"], ["aifs-single", "AIFS-single"]], "ifs")),
    labelled("Date", el("input", { id: "req-date", type: "text", value: "latest", size: "10", title: "YYYY-MM-DD, -1 (yesterday), or latest: the newest complete run" })),
    labelled("Run", select("req-time", [["any", "any"], ["0", "00"], ["6", "06"], ["12", "12"], ["18", "18"]], "0")),
    labelled("Steps", el("input", { id: "req-step", type: "text", value: "0/to/12/by/6", size: "12", title: "6, 0/6/12 or 0/to/144/by/6" })),
    labelled("Stream", select("req-stream", [["enfo", "enfo (ensemble)"], ["oper", "oper"]], "enfo")),
    labelled("Param", el("input", { id: "req-param", type: "text", size: "8", placeholder: "all", title: "shortNames: 2t/msl/t" })),
    labelled("Levels", el("input", { id: "req-levelist", type: "text", size: "6", placeholder: "all", title: "850/500" })),
    labelled("Members", el("input", { id: "req-number", type: "text", size: "6", placeholder: "all", title: "0 (control), 1/to/10" })),
    labelled("Mirror", source),
    root,
    el("button", { id: "req-open", type: "submit" }, "Open request"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    window.dispatchEvent(new CustomEvent("gik:open-request", { detail: requestOf(form) }));
  });
  return form;
}

const anchor = document.getElementById("open-form");
if (anchor) anchor.after(build());
