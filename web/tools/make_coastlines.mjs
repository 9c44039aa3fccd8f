// Turns Natural Earth 110 m land (TopoJSON from the `world-atlas` npm
// package, public-domain Natural Earth data) into web/coastlines-110m.json:
// coastline polylines as flat [lon, lat, lon, lat, …] arrays in 0.01° units.
//
//   npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
//   node web/tools/make_coastlines.mjs package/land-110m.json > web/coastlines-110m.json
import { readFileSync } from "node:fs";

const topo = JSON.parse(readFileSync(process.argv[2], "utf8"));
const [sx, sy] = topo.transform.scale;
const [tx, ty] = topo.transform.translate;

// An edge the polygons need but the coast does not have: the dateline cut
// and Antarctica's closing line along the south pole.
const artificial = (a, b) =>
  (a[1] < -89.9 && b[1] < -89.9) ||
  (Math.abs(a[0]) > 179.99 && Math.abs(b[0]) > 179.99 && Math.sign(a[0]) === Math.sign(b[0]));

const lines = [];
for (const arc of topo.arcs) {
  let x = 0;
  let y = 0;
  let line = [];
  let prev = null;
  for (const [dx, dy] of arc) {
    x += dx;
    y += dy;
    const p = [x * sx + tx, y * sy + ty];
    if (prev && artificial(prev, p)) {
      if (line.length > 2) lines.push(line);
      line = [];
    }
    line.push(Math.round(p[0] * 100), Math.round(p[1] * 100));
    prev = p;
  }
  if (line.length > 2) lines.push(line);
}
const points = lines.reduce((n, l) => n + l.length / 2, 0);
process.stdout.write(
  JSON.stringify({
    source: "Natural Earth 1:110m land (public domain), via the world-atlas npm package 2.0.2",
    units: "0.01 degree",
    points,
    lines,
  }) + "\n",
);
