// Storage the browser never empties silently, in each engine: persistent storage asked for,
// db.storage() reporting it, a database deleted behind idbsql's back refused with `evicted`
// until the app accepts the loss, and a commit past the origin's quota (lowered as engines.js
// can) rejected with `storage`, memory reverted. Main thread and worker.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { lacks, openPage, quotaContext, readmeSnippets, reloadPage } from "./harness.js";
import { MODES, useBrowser, withPageOf } from "./suite.js";

/** README's snippet under "Storage the browser may evict", as a function of the page. */
function readmeSnippet() {
  const [snippet] = readmeSnippets("Storage the browser may evict");
  assert.ok(snippet, "README has the snippet");
  const body = snippet.replace('import { connect, deleteDatabase } from "idbsql";', "const { connect, deleteDatabase } = window.idbsql;");
  assert.ok(!body.includes("import "), "the snippet imports only idbsql");
  return `(async () => { ${body}\n const tables = (await db.tables()).map((t) => t.name);\n await db.disconnect();\n return { persisted, usage, quota, tables }; })()`;
}

const env = useBrowser();
let mode = MODES[0];
const withPage = (fn) => withPageOf(env, mode.worker, fn);

for (const current of MODES) {
  describe(current.worker ? "engine in a Worker" : "engine on the main thread", () => {
    before(() => {
      mode = current;
    });

    test(`persist asks the browser once; db.storage() reports persisted, usage and quota${current.name}`, { skip: lacks("storage.persist") }, () =>
      withPage(async (page) => {
        const out = await page.evaluate(async () => {
          const { connect, deleteDatabase } = window.idbsql;
          await deleteDatabase("storage-persist");
          let asked = 0;
          const real = navigator.storage.persist.bind(navigator.storage);
          const realPersisted = navigator.storage.persisted.bind(navigator.storage);
          // Not granted yet (an earlier test may have been granted it), so connect asks.
          navigator.storage.persisted = async () => false;
          navigator.storage.persist = () => {
            asked += 1;
            // An answer that never comes (a prompt nobody clicks): connect must not wait for it.
            real();
            return new Promise(() => {});
          };
          const plain = await connect("storage-persist");
          const askedWithout = asked;
          const db = await connect("storage-persist", { persist: true });
          navigator.storage.persist = real;
          navigator.storage.persisted = realPersisted;
          const granted = await real();
          const info = await db.storage();
          const refused = await connect("storage-persist", { persist: "yes" }).catch((e) => e.code);
          await db.disconnect();
          await plain.disconnect();
          const closed = await db.storage().catch((e) => e.code);
          return { askedWithout, asked, info, refused, closed, granted, persisted: await navigator.storage.persisted() };
        });
        assert.equal(out.askedWithout, 0, "not asked by default");
        assert.equal(out.asked, 1);
        assert.equal(typeof out.info.persisted, "boolean");
        assert.equal(out.info.persisted, out.persisted);
        assert.equal(out.persisted, out.granted);
        assert.ok(out.info.usage > 0, "the database uses some of the origin's storage");
        assert.ok(out.info.quota > out.info.usage);
        assert.equal(out.refused, "params");
        assert.equal(out.closed, "closed");
      }));

    test(`a database deleted behind idbsql's back is refused with evicted until deleteDatabase${current.name}`, () =>
      withPage(async (page) => {
        const out = await page.evaluate(async () => {
          const { connect, deleteDatabase } = window.idbsql;
          const codeOf = (promise) => promise.then(() => "opened", (e) => e.code);
          await deleteDatabase("storage-evicted");
          const db = await connect("storage-evicted");
          await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)");
          await db.disconnect();
          // What storage pressure or "clear site data" (IndexedDB only) does.
          await new Promise((resolve, reject) => {
            const request = indexedDB.deleteDatabase("idbsql/storage-evicted");
            request.onsuccess = resolve;
            request.onerror = () => reject(request.error);
          });
          const evicted = await connect("storage-evicted").catch((e) => ({ code: e.code, message: e.message }));
          const again = await codeOf(connect("storage-evicted"));
          // The app accepts the loss: an empty database from then on.
          await deleteDatabase("storage-evicted");
          const fresh = await connect("storage-evicted");
          const empty = await codeOf(fresh.query("SELECT * FROM t"));
          await fresh.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
          await fresh.disconnect();
          // Deleted by the app, or never made: nothing was lost, nothing is said.
          await deleteDatabase("storage-evicted");
          const afterDelete = await codeOf(connect("storage-evicted").then((d) => d.disconnect()));
          const neverMade = await codeOf(connect(`storage-new-${Math.random()}`).then((d) => d.disconnect()));
          return { evicted, again, empty, afterDelete, neverMade };
        });
        assert.equal(out.evicted.code, "evicted");
        assert.match(out.evicted.message, /deleteDatabase\("storage-evicted"\)/);
        assert.equal(out.again, "evicted", "refused every time until the app accepts the loss");
        assert.equal(out.empty, "execute");
        assert.equal(out.afterDelete, "opened");
        assert.equal(out.neverMade, "opened");
      }));

    test(`README's snippet opens an evicted database again, empty${current.name}`, () =>
      withPage(async (page) => {
        await page.evaluate(async () => {
          const { connect, deleteDatabase } = window.idbsql;
          await deleteDatabase("notes");
          const db = await connect("notes");
          await db.exec("CREATE TABLE note (id INTEGER PRIMARY KEY)");
          await db.disconnect();
          await new Promise((resolve) => {
            indexedDB.deleteDatabase("idbsql/notes").onsuccess = resolve;
          });
        });
        const out = await page.evaluate(readmeSnippet());
        assert.deepEqual(out.tables, []);
        if (lacks("storage.persist")) {
          // No StorageManager (WebKitGTK): persist is not asked, db.storage() says it cannot tell.
          assert.deepEqual([out.persisted, out.usage, out.quota], [null, null, null]);
        } else {
          assert.equal(typeof out.persisted, "boolean");
          assert.ok(out.quota > 0);
        }
        await page.evaluate(() => window.idbsql.deleteDatabase("notes"));
      }));

    test(`a commit past the origin's quota rejects with storage and changes nothing${current.name}`, { skip: lacks("storage.quota") }, async () => {
      // Room for a new database's own files (Chromium counts them: 0.1 to a few MiB), not for a
      // 12 MB value; set before any database opens (Firefox: 10 MiB, its least).
      const quota = await quotaContext(env.browser, 8 * 1024 * 1024);
      try {
        const page = await openPage(quota.context, env.server.url, { worker: current.worker });
        await quota.limit(page);
        const out = await page.evaluate(async () => {
          const db = await window.idbsql.connect("storage-quota");
          await db.exec("CREATE TABLE blob (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO blob VALUES (1, 'small')");
          // Random text: Chromium compresses IndexedDB values, and a repeated letter would fit.
          const bytes = new Uint8Array(6 * 1024 * 1024);
          for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
          const big = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
          const failed = await db.query("INSERT INTO blob VALUES (2, $1)", [big]).catch((e) => ({ code: e.code, message: e.message }));
          const inTx = await db
            .transaction(async (tx) => {
              await tx.query("INSERT INTO blob VALUES (3, 'in the transaction')");
              await tx.query("UPDATE blob SET body = $1 WHERE id = 1", [big]);
            })
            .catch((e) => e.code);
          const rows = (await db.query("SELECT id, body FROM blob ORDER BY id")).rows;
          // (No write after these: Chromium may count an aborted write's space for a while.)
          await db.disconnect();
          return { failed, inTx, rows };
        });
        assert.equal(out.failed.code, "storage");
        assert.match(out.failed.message, /undone/);
        assert.match(out.failed.message, /quota/i, "the browser's reason is in the message");
        assert.equal(out.inTx, "storage");
        assert.deepEqual(out.rows, [{ id: 1, body: "small" }], "memory reverted to before each failed commit");
        await reloadPage(page);
        const kept = await page.evaluate(async () => {
          const db = await window.idbsql.connect("storage-quota");
          const rows = (await db.query("SELECT id FROM blob ORDER BY id")).rows.map((r) => r.id);
          await db.disconnect();
          return rows;
        });
        assert.deepEqual(kept, [1], "nothing of the refused commits reached IndexedDB");
      } finally {
        await quota.close();
      }
    });
  });
}
