// Test and bench harness: serves the repository on 127.0.0.1 and drives a browser engine
// (engines.js: Chromium, Firefox or WebKitGTK, by IDBSQL_BROWSER). Shared by tests, bench and demo checks.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import sirv from "sirv";
import { ROOT } from "../../scripts/demo-site.js";

export { ROOT };

export { CHROMIUM_ARGS, ENGINE, launchBrowser, lacks, quotaContext } from "./engines.js";

/** Serves `dir` (default: the repository) on an ephemeral loopback port; a request no file
 *  answers goes to `others(req, res)` when given (a test's own routes), else 404. */
export async function serveStatic(dir = ROOT, others = null) {
  const handler = sirv(dir, { dev: true, etag: false });
  const server = http.createServer((req, res) => handler(req, res, () => {
    if (others) return others(req, res);
    res.statusCode = 404;
    res.end("not found");
  }));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Runs a command in `cwd`; its stdout (a failure throws with its stdout and stderr). */
export function run(command, args, cwd) {
  return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** The package as a user gets it: `npm pack` into a fresh temporary directory, and an app
 *  (`app/`, its package.json named `appName`) beside it with the packed package installed, and
 *  `extras` with it (npm specs or local paths: the frameworks and builders an app brings). */
export function packIntoApp(prefix, appName, extras = []) {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const [packed] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", workDir], ROOT));
  const appDir = path.join(workDir, "app");
  fs.mkdirSync(appDir);
  fs.writeFileSync(
    path.join(appDir, "package.json"),
    JSON.stringify({ name: appName, private: true, type: "module" }, null, 2),
  );
  const tarball = path.join(workDir, packed.filename);
  run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--install-links", tarball, ...extras], appDir);
  return { workDir, appDir, packed, tarball };
}

/** README's code blocks in `language` under `## heading`, in order (the snippets tests run). */
export function readmeSnippets(heading, language = "js") {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = (readme.split(`\n## ${heading}\n`)[1] ?? "").split("\n## ")[0];
  return [...section.matchAll(new RegExp("```" + language + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]);
}

/** `name@version` as our devDependencies pin it. */
export function pinned(name) {
  const pins = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).devDependencies;
  return `${name}@${pins[name]}`;
}

/** tsc --strict over `source` as `app.ts` in `dir` (made, with `nodeModules` linked in), with
 *  the module settings given; the error lines (empty when it type-checks). */
export function typecheckApp(dir, nodeModules, source, { module = "nodenext", moduleResolution = "nodenext" } = {}) {
  fs.mkdirSync(dir);
  fs.symlinkSync(nodeModules, path.join(dir, "node_modules"));
  fs.writeFileSync(path.join(dir, "package.json"), '{ "type": "module" }\n');
  fs.writeFileSync(path.join(dir, "app.ts"), source);
  const compilerOptions = {
    strict: true,
    module,
    moduleResolution,
    target: "es2022",
    lib: ["es2022", "dom"],
    noEmit: true,
    skipLibCheck: false,
  };
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["app.ts"] }));
  try {
    run(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "."], dir);
    return [];
  } catch (error) {
    return String(error.stdout ?? error)
      .split("\n")
      .filter((line) => line.trim());
  }
}

/** Serves `dir`, opens `page` in a fresh context of `browser` and waits for the app to set
 *  `window.appResult`; that result and the page's uncaught errors. */
export async function runApp(browser, dir, page, timeout = 60_000) {
  const server = await serveStatic(dir);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    const errors = [];
    tab.on("pageerror", (error) => errors.push(error.message));
    await tab.goto(`${server.url}/${page}`);
    await tab.waitForFunction(() => window.appResult !== undefined, null, { timeout });
    return { result: await tab.evaluate(() => window.appResult), errors };
  } finally {
    await context.close();
    await server.close();
  }
}

/**
 * Opens the test page, which imports the package as `idbsql` through an import map. With
 * `worker`, every `connect` of the page asks for worker mode, so a suite written for the main
 * thread runs the engine in a Worker.
 */
export async function openPage(context, baseUrl, { worker = false } = {}) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error));
  page.workerMode = worker;
  await page.goto(`${baseUrl}/tests/browser/page.html`);
  await ready(page);
  page.pageErrors = errors;
  return page;
}

async function ready(page) {
  await page.waitForFunction(() => window.idbsqlReady === true);
  if (page.workerMode) {
    await page.evaluate(() => {
      const real = window.idbsql;
      window.idbsql = { ...real, connect: (name, options = {}) => real.connect(name, { worker: true, ...options }) };
    });
  }
}

/**
 * Resolves once `predicate(arg)`, run in the page, answers truthy; a throw counts as "not yet".
 * Playwright's `waitForFunction` cannot wait on an async predicate: it takes the Promise it
 * gets back as a truthy answer and returns at once, so a check that queries the database
 * (always async) must poll from here, awaiting each answer.
 */
export async function eventually(page, predicate, arg, { timeout = 15_000, interval = 50 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await page.evaluate(predicate, arg);
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`still not true after ${timeout} ms (last answer: ${last?.message ?? JSON.stringify(last)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** Reloads the test page, keeping its mode. */
export async function reloadPage(page) {
  await page.reload();
  await ready(page);
}

// The real server as the tests start it: the same helper `npm run demo` uses.
export { startSyncServer } from "../../scripts/sync-server.js";
