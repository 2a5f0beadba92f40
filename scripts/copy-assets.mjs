// Copy pinned front-end assets from node_modules into the package's static dir (not committed).
import { copyFileSync, mkdirSync } from "node:fs";

const out = "src/trova/web/static/vendor";
mkdirSync(out, { recursive: true });
const assets = [
  ["node_modules/htmx.org/dist/htmx.min.js", "htmx.min.js"],
  ["node_modules/chart.js/dist/chart.umd.min.js", "chart.umd.min.js"],
];
for (const [from, to] of assets) {
  copyFileSync(from, `${out}/${to}`);
  console.log(`copied ${from} -> ${out}/${to}`);
}
