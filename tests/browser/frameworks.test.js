// idbsql/react and idbsql/vue as a user installs them: the packed package with the real React 19
// and Vue 3 from npm, the README's snippets bundled by Vite, two tabs in headless Chromium — a
// list updates when the other tab inserts, new parameters restart the query, unmount stops it —
// and both modules imported by a server-side render in Node, which touches no browser storage.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ROOT, eventually, launchBrowser, packIntoApp, readmeSnippets, pinned, run, serveStatic, typecheckApp } from "./harness.js";

function readmeSnippet(heading) {
  const [snippet] = readmeSnippets(heading);
  assert.ok(snippet, `README has a js snippet under "${heading}"`);
  return snippet;
}

// Shared by both probes: `db.live` counted, so the test sees every subscription start and stop
// and any result delivered after the component went away.
const COUNTED_DB = `
window.db = db;
const stats = { started: 0, stopped: 0, afterUnmount: 0, changes: 0 };
window.stats = stats;
let probeGone = false;
db.on("change", () => { stats.changes += 1; });
const counted = {
  async live(sql, params, callback, options) {
    stats.started += 1;
    const sub = await db.live(sql, params, (result) => {
      if (probeGone) stats.afterUnmount += 1;
      callback(result);
    }, options);
    return { async stop() { await sub.stop(); stats.stopped += 1; } };
  },
};
`;

// After the README's React snippet (which gives it \`db\`, \`h\`, \`StrictMode\`,
// \`IdbsqlProvider\` and \`useLiveQuery\`): a probe component under StrictMode with a search
// the test changes, on the counted connection.
const REACT_PROBE = `
import { useState } from "react";
import { createRoot as probeRoot } from "react-dom/client";
import { useDb } from "idbsql/react";
${COUNTED_DB}
function Probe() {
  const [search, setSearch] = useState("");
  window.setSearch = setSearch;
  const provided = useDb() === counted;
  const { rows, loading } = useLiveQuery("SELECT title FROM todo WHERE title LIKE $1 ORDER BY id", [\`%\${search}%\`]);
  return h("ol", { id: "probe", "data-loading": String(loading), "data-provided": String(provided) },
    rows.map((row) => h("li", { key: row.title }, row.title)));
}
const root = probeRoot(document.getElementById("probe-root"));
root.render(h(StrictMode, null, h(IdbsqlProvider, { db: counted }, h(Probe))));
window.unmountProbe = () => { root.unmount(); probeGone = true; };
window.appReady = true;
`;

const VUE_PROBE = `
import { createApp as probeApp, h as ph, ref as probeRef } from "vue";
import { useDb } from "idbsql/vue";
${COUNTED_DB}
const Probe = {
  setup() {
    const search = probeRef("");
    window.setSearch = (value) => { search.value = value; };
    const provided = useDb() === counted;
    const { rows, loading } = useLiveQuery("SELECT title FROM todo WHERE title LIKE $1 ORDER BY id", () => [\`%\${search.value}%\`]);
    return () => ph("ol", { id: "probe", "data-loading": String(loading.value), "data-provided": String(provided) },
      rows.value.map((row) => ph("li", { key: row.title }, row.title)));
  },
};
const probe = probeApp(Probe).use(idbsqlPlugin(counted));
probe.mount("#probe-root");
window.unmountProbe = () => { probe.unmount(); probeGone = true; };
window.appReady = true;
`;

// A server-side render in Node of a component using each binding: no subscription, no storage.
const SSR = `
import { createElement } from "react";
import { renderToString as reactRender } from "react-dom/server";
import { createSSRApp, h } from "vue";
import { renderToString as vueRender } from "vue/server-renderer";
const touched = [];
for (const name of ["indexedDB", "localStorage", "BroadcastChannel"]) {
  Object.defineProperty(globalThis, name, { configurable: true, get() { touched.push(name); return undefined; } });
}
const react = await import("idbsql/react");
const vue = await import("idbsql/vue");
const db = { live() { touched.push("db.live"); return new Promise(() => {}); } };
function List() {
  const { rows, loading } = react.useLiveQuery("SELECT title FROM todo", []);
  return createElement("p", null, loading ? "loading" : rows.length);
}
const reactHtml = reactRender(createElement(react.IdbsqlProvider, { db }, createElement(List)));
const app = createSSRApp({
  setup() {
    const { rows, loading } = vue.useLiveQuery("SELECT title FROM todo", []);
    return () => h("p", loading.value ? "loading" : rows.value.length);
  },
}).use(vue.idbsqlPlugin(db));
const vueHtml = await vueRender(app);
console.log(JSON.stringify({ reactHtml, vueHtml, touched }));
`;

let workDir;
let appDir;
let browser;
let server;

before(async () => {
  // The frameworks at the versions our devDependencies pin (from npm's cache or registry).
  ({ workDir, appDir } = packIntoApp(
    "idbsql-frameworks-",
    "idbsql-frameworks-app",
    ["react", "react-dom", "vue", "@types/react"].map(pinned),
  ));
  for (const [name, probe] of [["react", REACT_PROBE], ["vue", VUE_PROBE]]) {
    fs.writeFileSync(path.join(appDir, `${name}.js`), readmeSnippet(name === "react" ? "React" : "Vue") + probe);
    fs.writeFileSync(
      path.join(appDir, `${name}.html`),
      `<!doctype html><meta charset="utf-8"><title>${name}</title><div id="app"></div><div id="probe-root"></div>\n<script type="module" src="./${name}.js"></script>\n`,
    );
  }
  fs.writeFileSync(path.join(appDir, "ssr.mjs"), SSR);
  fs.writeFileSync(
    path.join(appDir, "vite.config.js"),
    `export default { build: { target: "es2022", minify: false, rollupOptions: { input: { react: "react.html", vue: "vue.html" } } } };\n`,
  );
  run(process.execPath, [path.join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "error"], appDir);
  server = await serveStatic(path.join(appDir, "dist"));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

const texts = (page, selector) =>
  page.evaluate((s) => [...document.querySelectorAll(`${s} li`)].map((li) => li.textContent), selector);

async function openApp(context, name) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  // React's and Vue's warnings are console errors; a missing file is named by its response
  // (the browser's own favicon request aside).
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) errors.push(message.text());
  });
  page.on("response", (response) => {
    if (response.status() >= 400 && !response.url().endsWith("/favicon.ico")) errors.push(`${response.status()} ${response.url()}`);
  });
  await page.goto(`${server.url}/${name}.html`);
  await page.waitForFunction(() => window.appReady === true, null, { timeout: 30_000 });
  return { page, errors };
}

const insert = (page, title) =>
  page.evaluate((t) => window.db.query("INSERT INTO todo (title) VALUES ($1)", [t]), title);

async function listsFollowAnotherTab(name) {
  const context = await browser.newContext();
  try {
    const { page: a, errors } = await openApp(context, name);
    const { page: b } = await openApp(context, name);
    await eventually(a, () => document.querySelector("#probe")?.dataset.loading === "false");
    assert.equal(await a.evaluate(() => document.querySelector("#probe").dataset.provided), "true");
    assert.ok(await a.evaluate(() => document.querySelector("#todos") !== null), "the README's list rendered");
    // StrictMode (React) mounts twice: the first mount's subscription is stopped, one stays.
    await eventually(a, () => window.stats.started - window.stats.stopped === 1);

    await insert(b, "milk");
    await eventually(a, () => document.querySelectorAll("#todos li").length === 1);
    await eventually(a, () => document.querySelectorAll("#probe li").length === 1);
    assert.deepEqual(await texts(a, "#todos"), ["milk"]);
    assert.deepEqual(await texts(a, "#probe"), ["milk"]);

    // New parameters restart the live query: the old subscription stops.
    const startedBefore = await a.evaluate(() => window.stats.started);
    await a.evaluate(() => window.setSearch("br"));
    await eventually(a, () => document.querySelectorAll("#probe li").length === 0);
    await insert(b, "bread");
    await eventually(a, () => document.querySelectorAll("#probe li").length === 1);
    assert.deepEqual(await texts(a, "#probe"), ["bread"]);
    await eventually(a, () => document.querySelectorAll("#todos li").length === 2);
    assert.deepEqual(await texts(a, "#todos"), ["milk", "bread"]);
    assert.ok((await a.evaluate(() => window.stats.started)) > startedBefore);
    await eventually(a, () => window.stats.started - window.stats.stopped === 1);

    // Unmounted: every subscription stopped, and a commit the tab hears reaches no callback.
    await a.evaluate(() => window.unmountProbe());
    await eventually(a, () => window.stats.started === window.stats.stopped);
    const changes = await a.evaluate(() => window.stats.changes);
    await insert(b, "eggs");
    await eventually(a, (before) => window.stats.changes > before, changes);
    await eventually(a, () => document.querySelectorAll("#todos li").length === 3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await a.evaluate(() => window.stats.afterUnmount), 0);
    assert.equal(await a.evaluate(() => document.querySelector("#probe")), null);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
}

test("React: useLiveQuery follows another tab's inserts, restarts on new params, stops on unmount (StrictMode)", async () => {
  await listsFollowAnotherTab("react");
});

test("Vue: useLiveQuery follows another tab's inserts, restarts on new params, stops on unmount", async () => {
  await listsFollowAnotherTab("vue");
});

test("server-side rendering imports both bindings without touching browser storage", () => {
  const out = JSON.parse(run(process.execPath, ["ssr.mjs"], appDir));
  assert.match(out.reactHtml, /loading/);
  assert.match(out.vueHtml, /loading/);
  assert.deepEqual(out.touched, []);
});

// The bindings' declarations and the connect options they sit beside, checked by tsc --strict
// as an app written in TypeScript uses them.
const TYPED_APP = `import { createElement } from "react";
import { connect, type Database, type StorageInfo } from "idbsql";
import { IdbsqlProvider, useDb, useLiveQuery } from "idbsql/react";
import { idbsqlPlugin, useLiveQuery as useVueLiveQuery, provideDb } from "idbsql/vue";
import { ref } from "vue";

interface Todo { id: number; title: string }

export async function open(): Promise<Database> {
  const db = await connect("todos", { persist: true, wasm: new URL("./x.wasm", "https://example.com/"), workerUrl: "./worker.js" });
  const info: StorageInfo = await db.storage();
  const used: number | null = info.usage;
  void used;
  return db;
}

export function List({ search }: { search: string }) {
  const db: Database | null = useDb();
  const { rows, loading, error, columns } = useLiveQuery<Todo>("SELECT id, title FROM todo WHERE title LIKE $1", [search]);
  const first: string | undefined = rows[0]?.title;
  const arrays = useLiveQuery("SELECT id FROM todo", [], { rowMode: "array" });
  const cell = arrays.rows[0]?.[0];
  void cell;
  return createElement("p", null, loading ? "…" : error ? error.message : \`\${first} \${columns.length} \${db === null}\`);
}

export const provider = (db: Database) => createElement(IdbsqlProvider, { db }, createElement(List, { search: "" }));

export function setup(db: Database) {
  provideDb(db);
  const search = ref("");
  const { rows, loading } = useVueLiveQuery<Todo>("SELECT id, title FROM todo WHERE title LIKE $1", () => [search.value]);
  const title: string | undefined = rows.value[0]?.title;
  return { title, loading: loading.value, plugin: idbsqlPlugin(db) };
}
`;

test("the bindings' TypeScript declarations type an app over them (tsc --strict)", () => {
  const errors = typecheckApp(path.join(workDir, "typed"), path.join(appDir, "node_modules"), TYPED_APP, {
    module: "esnext",
    moduleResolution: "bundler",
  });
  // Only our declarations and the app are judged: the frameworks' own may carry errors.
  assert.deepEqual(errors.filter((line) => /idbsql|app\.ts/.test(line)), []);
});
