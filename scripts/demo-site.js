// Assembles the folder idbsql-server serves for the demo: the page, the package's bundled JS
// and the built wasm, in the same relative layout as the repository (so the import map is the same).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Copies demo/, dist/ and pkg/ into `dir` (replacing it) and returns `dir`. */
export function buildDemoSite(dir = path.join(ROOT, "target/demo-site")) {
  if (!fs.existsSync(path.join(ROOT, "pkg/idbsql_bg.wasm")) || !fs.existsSync(path.join(ROOT, "dist/idbsql.js"))) {
    throw new Error("pkg/ or dist/ is not built; run `npm run build` first");
  }
  fs.rmSync(dir, { recursive: true, force: true });
  for (const folder of ["demo", "dist", "pkg"]) {
    fs.cpSync(path.join(ROOT, folder), path.join(dir, folder), { recursive: true });
  }
  fs.writeFileSync(
    path.join(dir, "index.html"),
    '<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=demo/"><a href="demo/">idbsql demo</a>\n',
  );
  return dir;
}
