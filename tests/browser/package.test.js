// The npm package as a user gets it: `npm pack`, installed into a fresh app, loaded as plain ES
// modules (import map), bundled by Vite, and bundled by esbuild (which does not follow
// `new URL(…, import.meta.url)`: the app passes `wasm` and `workerUrl`), each run in headless Chromium.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ROOT, launchBrowser, packIntoApp, readmeSnippets, run, runApp } from "./harness.js";

const EXPECTED_FILES = [
  "LICENSE",
  "README.md",
  "dist/drizzle.d.ts",
  "dist/drizzle.js",
  "dist/idbsql.d.ts",
  "dist/idbsql.js",
  "dist/kysely.d.ts",
  "dist/kysely.js",
  "dist/node.d.ts",
  "dist/node.js",
  "dist/react.d.ts",
  "dist/react.js",
  "dist/vue.d.ts",
  "dist/vue.js",
  "dist/worker.js",
  "package.json",
  "pkg/idbsql_bg.wasm",
];

// What a user's app does with the package: every call of the core API once.
const APP_MAIN = `import { connect, deleteDatabase, IdbsqlError } from "idbsql";

async function main() {
  await deleteDatabase("package-app");
  const db = await connect("package-app");
  await db.exec("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO item VALUES (1, 'one');");
  await db.transaction(async (tx) => {
    await tx.query("INSERT INTO item VALUES ($1, $2)", [2, "two"]);
  });
  const rolledBack = await db
    .transaction(async (tx) => {
      await tx.query("INSERT INTO item VALUES (3, 'three')");
      throw new Error("changed my mind");
    })
    .catch((error) => error.message);
  const { rows } = await db.query("SELECT id, name FROM item ORDER BY id");
  const parseError = await db.query("SELEC nothing").catch((error) => error);
  await db.disconnect();
  const closed = await db.query("SELECT 1").catch((error) => error.code);
  // The engine in a Worker, found by the bundler (or the browser) next to the module.
  const inWorker = await connect("package-app", { worker: true });
  const fromWorker = (await inWorker.query("SELECT COUNT(*) AS n FROM item")).rows[0].n;
  await inWorker.disconnect();
  return { rows, rolledBack, parseIsIdbsqlError: parseError instanceof IdbsqlError, parseCode: parseError.code, closed, fromWorker };
}

main().then(
  (result) => { window.appResult = result; },
  (error) => { window.appResult = { error: String(error?.stack ?? error) }; },
);
`;

const EXPECTED_RESULT = {
  rows: [
    { id: 1, name: "one" },
    { id: 2, name: "two" },
  ],
  rolledBack: "changed my mind",
  parseIsIdbsqlError: true,
  parseCode: "parse",
  closed: "closed",
  fromWorker: 2,
};

let workDir;
let appDir;
let packedFiles;
let browser;


before(async () => {
  let packed;
  ({ workDir, appDir, packed } = packIntoApp("idbsql-package-", "idbsql-user-app"));
  packedFiles = packed.files.map((file) => file.path).sort();

  fs.writeFileSync(path.join(appDir, "main.js"), APP_MAIN);
  // Plain ESM: the browser loads the installed package straight from node_modules.
  fs.writeFileSync(
    path.join(appDir, "plain.html"),
    `<!doctype html><meta charset="utf-8"><title>plain</title>
<script type="importmap">{ "imports": { "idbsql": "./node_modules/idbsql/dist/idbsql.js" } }</script>
<script type="module" src="./main.js"></script>\n`,
  );
  // Vite: the same app bundled; the wasm is emitted as an asset found through import.meta.url.
  fs.writeFileSync(
    path.join(appDir, "index.html"),
    `<!doctype html><meta charset="utf-8"><title>vite</title>\n<script type="module" src="./main.js"></script>\n`,
  );
  run(process.execPath, [path.join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "error"], appDir);
  // esbuild, as README's "Bundlers" says: the wasm imported as a file, the worker an entry point.
  const header = 'import { connect, deleteDatabase, IdbsqlError } from "idbsql";';
  assert.ok(APP_MAIN.startsWith(header));
  fs.writeFileSync(
    path.join(appDir, "esbuild-main.js"),
    `import { connect as connectTo, deleteDatabase, IdbsqlError } from "idbsql";
import wasmUrl from "idbsql/wasm";
const connect = (name, options = {}) => connectTo(name, { wasm: wasmUrl, workerUrl: "./worker.js", ...options });
${APP_MAIN.slice(header.length)}`,
  );
  const esbuildDir = path.join(appDir, "esbuild-dist");
  run(
    path.join(ROOT, "node_modules/.bin/esbuild"),
    [
      "app=esbuild-main.js",
      "worker=node_modules/idbsql/dist/worker.js",
      "--bundle",
      "--format=esm",
      `--outdir=${esbuildDir}`,
      "--loader:.wasm=file",
      "--log-level=warning",
    ],
    appDir,
  );
  fs.writeFileSync(
    path.join(esbuildDir, "index.html"),
    `<!doctype html><meta charset="utf-8"><title>esbuild</title>\n<script type="module" src="./app.js"></script>\n`,
  );

  // README's "Bundlers" snippet and command, as written there, in an app of their own.
  const [snippet] = readmeSnippets("Bundlers");
  const [command] = readmeSnippets("Bundlers", "sh");
  assert.ok(snippet && command, 'README has the js snippet and the esbuild command under "Bundlers"');
  const readmeDir = path.join(appDir, "readme-bundlers");
  fs.mkdirSync(readmeDir);
  fs.symlinkSync(path.join(appDir, "node_modules"), path.join(readmeDir, "node_modules"));
  fs.writeFileSync(
    path.join(readmeDir, "app.js"),
    `${snippet}
await db.exec("CREATE TABLE IF NOT EXISTS note (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO note VALUES (1, 'from the page')");
const fromWorker = (await inWorker.query("SELECT body FROM note")).rows;
window.appResult = { fromWorker };
`,
  );
  const [tool, ...args] = command.replace(/\\\n/g, " ").trim().split(/\s+/);
  assert.equal(tool, "esbuild");
  run(path.join(ROOT, "node_modules/.bin/esbuild"), [...args, "--log-level=warning"], readmeDir);
  fs.writeFileSync(
    path.join(readmeDir, "dist", "index.html"),
    `<!doctype html><meta charset="utf-8"><title>readme</title>\n<script type="module" src="./app.js"></script>\n`,
  );

  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});


test("npm pack ships only what users need", () => {
  assert.deepEqual(packedFiles, EXPECTED_FILES);
  const manifest = JSON.parse(fs.readFileSync(path.join(appDir, "node_modules/idbsql/package.json"), "utf8"));
  assert.equal(manifest.exports["."].default, "./dist/idbsql.js");
  assert.equal(manifest.exports["."].types, "./dist/idbsql.d.ts");
  assert.equal(manifest.sideEffects, false);
  assert.equal(manifest.dependencies, undefined, "the package has no runtime dependencies");
});

test("the installed package works as plain ES modules", async () => {
  const { result, errors } = await runApp(browser, appDir, "plain.html", 30_000);
  assert.deepEqual(errors, []);
  assert.deepEqual(result, EXPECTED_RESULT);
});

test("the installed package works bundled by Vite", async () => {
  const dist = path.join(appDir, "dist");
  const assets = fs.readdirSync(path.join(dist, "assets"));
  assert.ok(assets.some((file) => file.endsWith(".wasm")), `Vite emitted the wasm: ${assets}`);
  const { result, errors } = await runApp(browser, dist, "index.html", 30_000);
  assert.deepEqual(errors, []);
  assert.deepEqual(result, EXPECTED_RESULT);
});

test("the installed package works bundled by esbuild, with the wasm and worker it is given", async () => {
  const dist = path.join(appDir, "esbuild-dist");
  // Nothing at the default `../pkg/` path: the module can only come from the `wasm` option.
  assert.equal(fs.existsSync(path.join(dist, "pkg")), false);
  assert.ok(fs.readdirSync(dist).some((file) => /^idbsql_bg-.*\.wasm$/.test(file)), "esbuild emitted the wasm");
  const { result, errors } = await runApp(browser, dist, "index.html", 30_000);
  assert.deepEqual(errors, []);
  assert.deepEqual(result, EXPECTED_RESULT);
});

test("README's Bundlers snippet, bundled by its esbuild command, runs with and without worker mode", async () => {
  const { result, errors } = await runApp(browser, path.join(appDir, "readme-bundlers", "dist"), "index.html", 30_000);
  assert.deepEqual(errors, []);
  assert.deepEqual(result, { fromWorker: [{ body: "from the page" }] });
});
