// The demo page end to end, served by the real idbsql-server (static files + sync) as
// `npm run demo` serves it: console, sample data and examples, errors, reload, export/import,
// two synced browser contexts, delete. Screenshots land in test-results/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, launchBrowser, startSyncServer } from "./harness.js";
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

/** Types SQL into the editor and runs it with the keyboard, as a person would. */
async function runSql(page, sql) {
  await page.fill("#sql", sql);
  await page.focus("#sql");
  await page.keyboard.press("Control+Enter");
  await idle(page);
}

const gridRows = (page) =>
  page.$$eval(".result table tbody tr", (rows) => rows.map((row) => [...row.cells].map((cell) => cell.textContent)));

const sidebarTables = (page) =>
  page.$$eval(".table-entry", (entries) =>
    entries.map((entry) => [entry.dataset.table, entry.querySelector(".count").textContent]));

test("console: run a query, see rows with types, errors inline, history kept", async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await openDemo(context);

  // The statements the editor opens with work, and again (the first thing a visitor does).
  for (const run of [1, 2]) {
    await page.click("#run");
    await idle(page);
    assert.equal(await page.$(".error"), null, await page.textContent("#output"));
    assert.equal((await gridRows(page)).length, run);
  }

  await runSql(page, "CREATE TABLE city (name TEXT PRIMARY KEY, people INTEGER); INSERT INTO city VALUES ('Oslo', 709000), ('Lyon', 522000);");
  await runSql(page, "SELECT name, people FROM city ORDER BY people DESC");
  assert.deepEqual(await gridRows(page), [["Oslo", "709000"], ["Lyon", "522000"]]);
  assert.deepEqual(await page.$$eval(".result th .column-type", (cells) => cells.map((c) => c.textContent)), ["TEXT", "INT"]);
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

  const history = await page.$$eval("#history .history-entry", (entries) => entries.map((e) => e.textContent));
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

  const examples = await page.$$(".example");
  assert.ok(examples.length >= 5);
  for (const example of examples) {
    const title = await example.textContent();
    await example.click();
    await idle(page);
    assert.equal(await page.$(".error"), null, `${title}: ${await page.$eval(".output", (o) => o.textContent)}`);
    assert.ok((await gridRows(page)).length > 0, `${title} returns rows`);
  }
  await page.click(".example >> nth=0");
  await idle(page);
  await page.screenshot({ path: path.join(ARTIFACTS, "demo-console.png") });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(ARTIFACTS, "demo-phone.png"), fullPage: true });

  await page.reload();
  await page.waitForFunction(() => window.demoReady === true);
  assert.deepEqual(await sidebarTables(page), tables);

  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
  const dumpPath = path.join(workDir, "demo.sql");
  await download.saveAs(dumpPath);
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
