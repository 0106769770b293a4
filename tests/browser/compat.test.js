// Data written by the last release opens: tests/fixtures/idb-0.1.0.json holds the IndexedDB
// records idbsql 0.1.0 wrote (made by tests/fixtures/make-idb-fixture.js with that release).
// They are put back into IndexedDB as they were, and today's code opens them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { openPage } from "./harness.js";
import { useBrowser } from "./suite.js";

const fixture = JSON.parse(readFileSync(new URL("../fixtures/idb-0.1.0.json", import.meta.url), "utf8"));

const env = useBrowser();

test("databases written by idbsql 0.1.0 open with every row, index and pending sync change", async () => {
  const page = await openPage(env.context, env.server.url);
  try {
    const out = await page.evaluate(async (databases) => {
      const { connect, deleteDatabase } = window.idbsql;
      const decode = (record) =>
        record.bytes === undefined ? record.value : Uint8Array.from(atob(record.bytes), (c) => c.charCodeAt(0));
      for (const [name, db] of Object.entries(databases)) {
        await deleteDatabase(name);
        await new Promise((resolve, reject) => {
          const request = indexedDB.open(`idbsql/${name}`, db.version);
          request.onupgradeneeded = () => {
            for (const store of Object.keys(db.stores)) request.result.createObjectStore(store);
          };
          request.onsuccess = () => {
            const idb = request.result;
            const tx = idb.transaction(Object.keys(db.stores), "readwrite");
            for (const [store, records] of Object.entries(db.stores)) {
              for (const record of records) tx.objectStore(store).put(decode(record), record.key);
            }
            tx.oncomplete = () => {
              idb.close();
              resolve();
            };
            tx.onerror = () => reject(tx.error);
          };
          request.onerror = () => reject(request.error);
        });
      }
      const plain = await connect("fixture-plain");
      const notes = (await plain.query("SELECT id, body, score FROM note ORDER BY id")).rows;
      const indexed = (await plain.query("SELECT id FROM note WHERE score < 0")).rows;
      const every = (await plain.query("SELECT * FROM v")).rows.length;
      await plain.query("INSERT INTO note VALUES (4, 'written by today', 0)");
      await plain.disconnect();
      const again = await connect("fixture-plain");
      const count = (await again.query("SELECT COUNT(*) AS n FROM note")).rows[0].n;
      await again.disconnect();
      const synced = await connect("fixture-synced", { sync: { url: "ws://127.0.0.1:9/sync" } });
      synced.sync.stop();
      const todos = (await synced.query("SELECT id, done FROM todo ORDER BY id")).rows;
      const pending = synced.sync.pending;
      await synced.disconnect();
      return { notes, indexed, every, count, todos, pending };
    }, fixture.databases);
    assert.deepEqual(out.notes, [
      { id: 1, body: "changed in the log", score: 1.5 },
      { id: 3, body: "in the log tail", score: -2.25 },
    ]);
    assert.deepEqual(out.indexed, [{ id: 3 }]);
    assert.equal(out.every, 1);
    assert.equal(out.count, 3);
    assert.deepEqual(out.todos, [{ id: 1, done: false }, { id: 2, done: true }]);
    assert.equal(out.pending, 2, "the outbox's two change sets are still waiting for the server");
  } finally {
    await page.close();
  }
});
