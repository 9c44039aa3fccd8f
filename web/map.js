// Drawing: colour map, the field as an image (one pixel per grid point,
// equirectangular), coastlines and the colour bar.

// A perceptually ordered blue → green → yellow ramp, interpolated from nine anchors.
const ANCHORS = [
  [68, 1, 84], [72, 40, 120], [62, 73, 137], [49, 104, 142], [38, 130, 142],
  [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37],
];

/** 256 RGB entries. */
export const LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 3);
  const n = ANCHORS.length - 1;
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * n;
    const k = Math.min(Math.floor(t), n - 1);
    const f = t - k;
    for (let c = 0; c < 3; c++) {
      lut[i * 3 + c] = Math.round(ANCHORS[k][c] + (ANCHORS[k + 1][c] - ANCHORS[k][c]) * f);
    }
  }
  return lut;
})();

/** The colour index of a value: 0…255 over [min, max]. */
export function colourIndex(v, min, max) {
  if (!(max > min)) return 128;
  const i = Math.floor(((v - min) / (max - min)) * 256);
  return i < 0 ? 0 : i > 255 ? 255 : i;
}

/**
 * How grid points map to image pixels: columns ordered by longitude from
 * the west (−180°) and rows from the north, whatever order the GRIB grid
 * scans in. `cols[x]` and `rows[y]` are the grid's column and row indexes.
 */
export function layout(field) {
  const [nlat, nlon] = field.shape;
  const lats = field.latitudes;
  const lons = field.longitudes;
  const west = (l) => ((((l + 180) % 360) + 360) % 360) - 180;
  const cols = Array.from({ length: nlon }, (_, i) => i).sort((a, b) => west(lons[a]) - west(lons[b]));
  const rows = Array.from({ length: nlat }, (_, j) => j).sort((a, b) => lats[b] - lats[a]);
  const dlon = nlon > 1 ? Math.abs(west(lons[cols[1]]) - west(lons[cols[0]])) : 360;
  const dlat = nlat > 1 ? Math.abs(lats[rows[0]] - lats[rows[1]]) : 180;
  return {
    nlat, nlon, cols, rows, dlon, dlat,
    west: west(lons[cols[0]]) - dlon / 2,
    north: lats[rows[0]] + dlat / 2,
  };
}

/** Paints the field into `canvas` (resized to nlon × nlat). */
export function drawField(canvas, field, geo) {
  const { nlat, nlon, cols, rows } = geo;
  canvas.width = nlon;
  canvas.height = nlat;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(nlon, nlat);
  const px = img.data;
  const { values, min, max } = field;
  for (let y = 0; y < nlat; y++) {
    const base = rows[y] * nlon;
    for (let x = 0; x < nlon; x++) {
      const v = values[base + cols[x]];
      const o = (y * nlon + x) * 4;
      if (Number.isNaN(v)) {
        px[o + 3] = 0;
        continue;
      }
      const i = colourIndex(v, min, max) * 3;
      px[o] = LUT[i];
      px[o + 1] = LUT[i + 1];
      px[o + 2] = LUT[i + 2];
      px[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}

/**
 * Coastlines (flat [lon, lat, …] arrays in 0.01°) and a 30° graticule over
 * the map, zoomed and panned as the field canvas is (`view`: scale `k`,
 * offset `tx`, `ty` in CSS pixels), and a ring at `marker` ({lat, lon}).
 */
export function drawOverlay(canvas, geo, coast, view = { k: 1, tx: 0, ty: 0 }, marker = null) {
  const rect = canvas.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(rect.width * dpr));
  canvas.height = Math.max(1, Math.round(rect.height * dpr));
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!geo) return;
  const { k } = view;
  ctx.setTransform(k, 0, 0, k, view.tx * dpr, view.ty * dpr);
  const sx = canvas.width / (geo.nlon * geo.dlon);
  const sy = canvas.height / (geo.nlat * geo.dlat);
  const X = (lon) => (lon - geo.west) * sx;
  const Y = (lat) => (geo.north - lat) * sy;
  ctx.lineWidth = Math.max(1, dpr * 0.6) / k;
  ctx.strokeStyle = "rgba(255,255,255,0.35)";
  ctx.beginPath();
  for (let lon = -150; lon < 180; lon += 30) {
    ctx.moveTo(X(lon), 0);
    ctx.lineTo(X(lon), canvas.height);
  }
  for (let lat = -60; lat <= 60; lat += 30) {
    ctx.moveTo(0, Y(lat));
    ctx.lineTo(canvas.width, Y(lat));
  }
  ctx.stroke();
  if (marker) {
    ctx.lineWidth = (2 * dpr) / k;
    ctx.strokeStyle = "#ff3b30";
    ctx.beginPath();
    ctx.arc(X(marker.lon < geo.west ? marker.lon + 360 : marker.lon), Y(marker.lat), (6 * dpr) / k, 0, 2 * Math.PI);
    ctx.stroke();
  }
  if (!coast) return;
  ctx.lineWidth = Math.max(1, dpr * 1.1) / k;
  ctx.strokeStyle = "rgba(15,15,15,0.85)";
  ctx.lineJoin = "round";
  ctx.beginPath();
  for (const line of coast.lines) {
    let prevLon = null;
    for (let k = 0; k < line.length; k += 2) {
      const lon = line[k] / 100;
      const lat = line[k + 1] / 100;
      // Wrap the map's west edge (a grid starting at −180.125° draws 180° at its west edge too).
      const x = X(lon < geo.west ? lon + 360 : lon);
      const y = Y(lat);
      if (prevLon === null || Math.abs(lon - prevLon) > 180) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
      prevLon = lon;
    }
  }
  ctx.stroke();
}

/** Rounds a tick step to 1, 2 or 5 × 10^n. */
function niceStep(span, count) {
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n < 1.5 ? 1 : n < 3.5 ? 2 : n < 7.5 ? 5 : 10) * mag;
}

export function formatValue(v) {
  if (!Number.isFinite(v)) return "missing";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(3);
  return Number(v.toPrecision(5)).toString();
}

/** The colour bar with ticks and the units. */
export function drawColourBar(canvas, min, max, units) {
  const dpr = window.devicePixelRatio || 1;
  const rect = canvas.getBoundingClientRect();
  canvas.width = Math.round(rect.width * dpr);
  canvas.height = Math.round(rect.height * dpr);
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  const w = rect.width;
  const left = 8;
  const barW = w - 2 * left;
  ctx.clearRect(0, 0, w, rect.height);
  for (let x = 0; x < barW; x++) {
    const i = Math.min(255, Math.floor((x / barW) * 256)) * 3;
    ctx.fillStyle = `rgb(${LUT[i]},${LUT[i + 1]},${LUT[i + 2]})`;
    ctx.fillRect(left + x, 0, 1.5, 16);
  }
  ctx.strokeStyle = "#555";
  ctx.strokeRect(left + 0.5, 0.5, barW - 1, 15);
  ctx.fillStyle = "#1d232b";
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "top";
  if (max > min) {
    const step = niceStep(max - min, 5);
    for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) {
      const x = left + ((t - min) / (max - min)) * barW;
      ctx.fillRect(x, 16, 1, 4);
      ctx.textAlign = x < left + 20 ? "left" : x > left + barW - 20 ? "right" : "center";
      ctx.fillText(formatValue(Math.abs(t) < step * 1e-9 ? 0 : t), x, 21);
    }
  }
  ctx.textAlign = "right";
  ctx.font = "bold 12px system-ui, sans-serif";
  ctx.fillText(units || "", left + barW, 34);
}

/**
 * The plume: one line per member (`values[m][s]` at `steps[s]`) and their
 * mean, with axes in hours and the variable's units.
 */
export function drawPlume(canvas, steps, values, mean, units) {
  const dpr = window.devicePixelRatio || 1;
  const rect = canvas.getBoundingClientRect();
  canvas.width = Math.max(1, Math.round(rect.width * dpr));
  canvas.height = Math.max(1, Math.round(rect.height * dpr));
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  const w = rect.width;
  const h = rect.height;
  ctx.clearRect(0, 0, w, h);
  const pad = { left: 64, right: 14, top: 12, bottom: 34 };
  let lo = Infinity;
  let hi = -Infinity;
  for (const line of values) {
    for (const v of line) {
      if (Number.isFinite(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
  }
  if (!(hi >= lo)) return null;
  if (hi === lo) {
    lo -= 1;
    hi += 1;
  }
  const s0 = steps[0];
  const s1 = steps.length > 1 ? steps.at(-1) : s0 + 1;
  const X = (s) => pad.left + ((s - s0) / (s1 - s0)) * (w - pad.left - pad.right);
  const Y = (v) => pad.top + ((hi - v) / (hi - lo)) * (h - pad.top - pad.bottom);
  ctx.strokeStyle = "#8a94a3";
  ctx.fillStyle = "#1d232b";
  ctx.font = "12px system-ui, sans-serif";
  ctx.lineWidth = 1;
  ctx.strokeRect(pad.left, pad.top, w - pad.left - pad.right, h - pad.top - pad.bottom);
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const every = Math.max(1, Math.ceil(steps.length / 12));
  steps.forEach((s, i) => {
    if (i % every) return;
    ctx.fillRect(X(s), h - pad.bottom, 1, 4);
    ctx.fillText(`${s}`, X(s), h - pad.bottom + 6);
  });
  ctx.fillText("step (h)", (pad.left + w - pad.right) / 2, h - 14);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  const step = niceStep(hi - lo, 4);
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ctx.fillRect(pad.left - 4, Y(t), 4, 1);
    ctx.fillText(formatValue(Math.abs(t) < step * 1e-9 ? 0 : t), pad.left - 6, Y(t));
  }
  ctx.save();
  ctx.translate(12, (pad.top + h - pad.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = "center";
  ctx.fillText(units || "", 0, 0);
  ctx.restore();
  const line = (ys) => {
    ctx.beginPath();
    let pen = false;
    ys.forEach((v, i) => {
      if (!Number.isFinite(v)) {
        pen = false;
        return;
      }
      if (pen) ctx.lineTo(X(steps[i]), Y(v));
      else ctx.moveTo(X(steps[i]), Y(v));
      pen = true;
    });
    ctx.stroke();
  };
  ctx.lineWidth = 1;
  ctx.strokeStyle = "rgba(31, 111, 235, 0.45)";
  for (const ys of values) line(ys);
  ctx.lineWidth = 3;
  ctx.strokeStyle = "#d1242f";
  line(mean);
  // Where a value is drawn (CSS pixels of the canvas), for tests and tools.
  return { dpr, left: pad.left, right: w - pad.right, top: pad.top, bottom: h - pad.bottom, s0, s1, lo, hi };
}
