// Sync through two idbsql-server processes sharing one real PostgreSQL: browsers on different
// instances converge, and a browser whose instance is killed moves to the other URL in its
// list and loses nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { eventually, serveStatic, launchBrowser, openPage, startSyncServer } from "./harness.js";
import { startPgCluster } from "./pg-cluster.js";

let pages;
let browser;
let cluster;
let dataDir;

before(async () => {
  pages = await serveStatic();
  browser = await launchBrowser();
  cluster = await startPgCluster();
  dataDir = await mkdtemp(path.join(os.tmpdir(), "idbsql-pg-sync-"));
});

after(async () => {
  await browser?.close();
  await pages?.close();
  await cluster?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const startInstance = () => startSyncServer({ dataDir, extraArgs: ["--postgres", cluster.url] });

async function openSynced(context, urls) {
  const page = await openPage(context, pages.url);
  await page.evaluate(async (url) => {
    window.db = await window.idbsql.connect("pg-notes", { sync: { url } });
  }, urls);
  return page;
}

/** Rows of `note` once the table exists (before a remote CREATE arrives, the query throws). */
async function waitForRows(page, count) {
  await eventually(
    page,
    async (n) => (await window.db.query("SELECT COUNT(*) AS n FROM note")).rows[0].n === n,
    count,
    { timeout: 20_000 },
  );
  return page.evaluate(async () => (await window.db.query("SELECT id, body FROM note ORDER BY id")).rows);
}

test("browsers on two instances on one PostgreSQL converge; a killed instance's browser moves on", async () => {
  const first = await startInstance();
  const second = await startInstance();
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  try {
    // A prefers the first instance and falls back to the second; B is on the second.
    const a = await openSynced(contextA, [first.url, second.url]);
    const b = await openSynced(contextB, second.url);
    await a.evaluate(async () => {
      await window.db.exec("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)");
      await window.db.query("INSERT INTO note VALUES (1, 'from A')");
      await window.db.sync.flush();
    });
    assert.deepEqual(await waitForRows(b, 1), [{ id: 1, body: "from A" }]);
    // Both write at once, each through its own instance.
    await Promise.all([
      a.evaluate(async () => {
        for (let i = 0; i < 10; i++) await window.db.query("INSERT INTO note VALUES ($1, 'A')", [100 + i]);
        await window.db.sync.flush();
      }),
      b.evaluate(async () => {
        for (let i = 0; i < 10; i++) await window.db.query("INSERT INTO note VALUES ($1, 'B')", [200 + i]);
        await window.db.sync.flush();
      }),
    ]);
    const together = await waitForRows(a, 21);
    assert.deepEqual(await waitForRows(b, 21), together);

    // A's instance dies (SIGKILL); A keeps writing and its sync moves to the second URL.
    await first.stop();
    await a.evaluate(async () => {
      await window.db.query("INSERT INTO note VALUES (300, 'A after the kill')");
      await window.db.sync.flush();
    });
    const after = await waitForRows(b, 22);
    assert.deepEqual(after.at(-1), { id: 300, body: "A after the kill" });
    assert.deepEqual(await waitForRows(a, 22), after);
  } finally {
    await contextA.close();
    await contextB.close();
    await first.stop();
    await second.stop();
  }
});
