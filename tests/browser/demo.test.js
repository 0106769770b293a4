// The demo page end to end: type SQL, run it, see rows and errors, reload and find the data.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serveStatic, launchBrowser } from "./harness.js";

let server;
let browser;

before(async () => {
  server = await serveStatic();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function runSql(page, sql) {
  await page.fill("#sql", sql);
  await page.click("#run");
  await page.waitForFunction(() => !document.querySelector("#run").disabled);
}

test("the demo runs SQL, shows errors inline and keeps data across reloads", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/demo/`);
  await page.waitForFunction(() => window.demoReady === true);

  await runSql(page, "CREATE TABLE city (name TEXT, people INTEGER); INSERT INTO city VALUES ('Oslo', 709000), ('Lyon', 522000);");
  await runSql(page, "SELECT name, people FROM city ORDER BY people DESC");
  assert.deepEqual(await page.$$eval("table tbody tr", (rows) => rows.map((r) => r.innerText.split("\t"))), [
    ["Oslo", "709000"],
    ["Lyon", "522000"],
  ]);

  await runSql(page, "INSERT INTO city VALUES ('Bad', 'not a number')");
  assert.match(await page.textContent(".error"), /^execute: /);

  await page.reload();
  await page.waitForFunction(() => window.demoReady === true);
  await runSql(page, "SELECT COUNT(*) AS n FROM city");
  assert.equal(await page.textContent("table tbody td"), "2");
  await context.close();
});
