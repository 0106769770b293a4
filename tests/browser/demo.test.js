// The demo page end to end, served by the real idbsql-server (static files + sync) as
// `npm run demo` serves it: console, sample data and examples, errors, reload, export/import,
// two synced browser contexts, delete. Screenshots land in test-results/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, lacks, launchBrowser, startSyncServer } from "./harness.js";
import { buildDemoSite } from "../../scripts/demo-site.js";

const ARTIFACTS = path.join(ROOT, "test-results");

let server;
let browser;
let workDir;

before(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "idbsql-demo-"));
  const site = buildDemoSite(path.join(workDir, "site"));
  server = await startSyncServer({ dataDir: path.join(workDir, "data"), staticDir: site });
  browser = await launchBrowser();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

async function openDemo(context) {
  const page = await context.newPage();
  page.pageErrors = [];
  page.on("pageerror", (error) => page.pageErrors.push(error.message));
  page.on("dialog", (dialog) => dialog.accept());
  await page.goto(`http://${server.address}/demo/`);
  await page.waitForFunction(() => window.demoReady === true);
  return page;
}

const idle = (page) => page.waitForFunction(() => !document.querySelector("#run").disabled, null, { timeout: 60_000 });

/**
 * Clicks Export and saves what it offers. Chromium: the real download. Where the driver sees no
 * download (lacks("download") names the engine), the file the link carries: the Blob given to
 * URL.createObjectURL, read in the page.
 */
async function exportDump(page, file) {
  if (!lacks("download")) {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
    await download.saveAs(file);
    return;
  }
  await page.evaluate(() => {
    const real = URL.createObjectURL;
    URL.createObjectURL = (blob) => {
      window.exportedBlob = blob;
      return real(blob);
    };
  });
  await page.click("#export");
  await page.waitForFunction(() => window.exportedBlob !== undefined);
  fs.writeFileSync(file, await page.evaluate(() => window.exportedBlob.text()));
}

/** Types SQL into the editor and runs it with the keyboard, as a person would. */
async function runSql(page, sql) {
  await page.fill("#sql", sql);
  await page.focus("#sql");
  await page.keyboard.press("Control+Enter");
  await idle(page);
}

// What the page shows, read in the page (the same in every engine's driver).
const gridRows = (page) =>
  page.evaluate(() =>
    [...document.querySelectorAll(".result table tbody tr")].map((row) => [...row.cells].map((cell) => cell.textContent)));

const sidebarTables = (page) =>
  page.evaluate(() =>
    [...document.querySelectorAll(".table-entry")].map((entry) => [entry.dataset.table, entry.querySelector(".count").textContent]));

const texts = (page, selector) => page.evaluate((s) => [...document.querySelectorAll(s)].map((e) => e.textContent), selector);
const noError = (page) => page.evaluate(() => document.querySelector(".error") === null);

test("console: run a query, see rows with types, errors inline, history kept", async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await openDemo(context);

  // The statements the editor opens with work, and again (the first thing a visitor does).
  for (const run of [1, 2]) {
    await page.click("#run");
    await idle(page);
    assert.ok(await noError(page), await page.textContent("#output"));
    assert.equal((await gridRows(page)).length, run);
  }

  await runSql(page, "CREATE TABLE city (name TEXT PRIMARY KEY, people INTEGER); INSERT INTO city VALUES ('Oslo', 709000), ('Lyon', 522000);");
  await runSql(page, "SELECT name, people FROM city ORDER BY people DESC");
  assert.deepEqual(await gridRows(page), [["Oslo", "709000"], ["Lyon", "522000"]]);
  assert.deepEqual(await texts(page, ".result th .column-type"), ["TEXT", "INT"]);
  assert.match(await page.textContent("#status"), /1 statement · 2 rows · [\d.]+ ms/);
  assert.deepEqual(await sidebarTables(page), [["city", "2"], ["note", "2"]]);

  // An invalid statement shows its error and changes nothing.
  await runSql(page, "INSERT INTO city VALUES ('Bad', 'not a number')");
  assert.equal(await page.textContent(".error .error-code"), "execute");
  await runSql(page, "SELEC * FROM city");
  assert.equal(await page.textContent(".error .error-code"), "parse");
  await runSql(page, "INSERT INTO city VALUES ('Oslo', 1)");
  assert.equal(await page.textContent(".error .error-code"), "constraint");
  await runSql(page, "SELECT COUNT(*) AS n FROM city");
  assert.deepEqual(await gridRows(page), [["2"]]);

  const history = await texts(page, "#history .history-entry");
  assert.equal(history[0], "SELECT COUNT(*) AS n FROM city");
  assert.ok(history.includes("SELEC * FROM city"));
  await page.reload();
  await page.waitForFunction(() => window.demoReady === true);
  assert.equal(await page.textContent("#history .history-entry"), "SELECT COUNT(*) AS n FROM city");
  assert.deepEqual(page.pageErrors, []);
  await context.close();
});

test("sample data, every example, reload, export and import into another browser", async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await openDemo(context);
  await page.click("#load-sample");
  await idle(page);
  assert.match(await page.textContent("#status"), /^sample data: [\d,]+ rows/);
  const tables = await sidebarTables(page);
  assert.deepEqual(tables.map(([name]) => name), ["customer", "order_item", "orders", "product"]);
  const totalRows = tables.reduce((sum, [, count]) => sum + Number(count.replaceAll(",", "")), 0);
  assert.ok(totalRows > 2000, `a few thousand rows, got ${totalRows}`);

  const examples = await texts(page, ".example");
  assert.ok(examples.length >= 5);
  // Numbered, so that every engine's driver can click the n-th by a plain CSS selector.
  await page.evaluate(() => document.querySelectorAll(".example").forEach((e, n) => { e.dataset.n = n; }));
  for (const [n, title] of examples.entries()) {
    await page.click(`.example[data-n="${n}"]`);
    await idle(page);
    assert.ok(await noError(page), `${title}: ${await page.textContent(".output")}`);
    assert.ok((await gridRows(page)).length > 0, `${title} returns rows`);
  }
  await page.click('.example[data-n="0"]');
  await idle(page);
  await page.screenshot({ path: path.join(ARTIFACTS, "demo-console.png") });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(ARTIFACTS, "demo-phone.png"), fullPage: true });

  await page.reload();
  await page.waitForFunction(() => window.demoReady === true);
  assert.deepEqual(await sidebarTables(page), tables);

  const dumpPath = path.join(workDir, "demo.sql");
  await exportDump(page, dumpPath);
  const dump = fs.readFileSync(dumpPath, "utf8");
  assert.match(dump, /^-- idbsql dump\n/);
  assert.match(dump, /CREATE TABLE "customer"/);

  const other = await browser.newContext();
  const copy = await openDemo(other);
  assert.deepEqual(await sidebarTables(copy), []);
  await copy.setInputFiles("#import", dumpPath);
  await copy.waitForFunction(() => document.querySelector("#status").textContent.startsWith("imported"));
  await idle(copy);
  assert.deepEqual(await sidebarTables(copy), tables);
  // Importing the same file again fails as a whole and leaves the copy as it was.
  await copy.setInputFiles("#import", dumpPath);
  await copy.waitForFunction(() => document.querySelector("#status").textContent.startsWith("import failed"));
  assert.deepEqual(await sidebarTables(copy), tables);

  await copy.click("#delete-db");
  await copy.waitForFunction(() => document.querySelector("#status").textContent === "deleted");
  assert.deepEqual(await sidebarTables(copy), []);
  assert.deepEqual([...page.pageErrors, ...copy.pageErrors], []);
  await other.close();
  await context.close();
});

test("two browsers synced through the demo's server", async () => {
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  const [a, b] = [await openDemo(contextA), await openDemo(contextB)];
  for (const page of [a, b]) {
    assert.equal(await page.textContent("#sync-status-text"), "not connected");
    await page.click("#sync-toggle");
    await page.waitForFunction(() => document.querySelector("#sync-status-text").textContent === "synced");
    assert.equal(await page.getAttribute("#sync-light", "data-status"), "synced");
  }

  await runSql(a, "CREATE TABLE shared (id INTEGER PRIMARY KEY, note TEXT); INSERT INTO shared VALUES (1, 'from A');");
  await b.waitForSelector('.table-entry[data-table="shared"]');
  assert.match(await b.textContent("#sync-last"), /shared/);
  await runSql(b, "SELECT note FROM shared");
  assert.deepEqual(await gridRows(b), [["from A"]]);

  // B goes offline, writes, and its change waits as pending until it reconnects.
  await b.click("#sync-toggle");
  await b.waitForFunction(() => document.querySelector("#sync-status-text").textContent === "offline");
  await runSql(b, "INSERT INTO shared VALUES (2, 'from B, offline')");
  await b.waitForFunction(() => document.querySelector("#sync-pending").textContent === "1");
  await b.click("#sync-toggle");
  await b.waitForFunction(() => document.querySelector("#sync-pending").textContent === "0", null, { timeout: 15_000 });
  await a.waitForFunction(() => document.querySelector('.table-entry[data-table="shared"] .count')?.textContent === "2");
  await runSql(a, "SELECT id, note FROM shared ORDER BY id");
  assert.deepEqual(await gridRows(a), [["1", "from A"], ["2", "from B, offline"]]);
  assert.deepEqual([...a.pageErrors, ...b.pageErrors], []);
  await contextA.close();
  await contextB.close();
});
