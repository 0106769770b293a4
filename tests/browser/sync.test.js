// Sync end to end: two isolated Chromium contexts (two IndexedDBs) and the real idbsql-server
// binary. A write in A shows in B; with the server down both write, and after it restarts
// both converge and keep the result across a reload.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createHmac } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { eventually, serveStatic, launchBrowser, openPage, startSyncServer } from "./harness.js";

let pages;
let browser;
let dataDir;

before(async () => {
  pages = await serveStatic();
  browser = await launchBrowser();
  dataDir = await mkdtemp(path.join(os.tmpdir(), "idbsql-sync-"));
});

after(async () => {
  await browser?.close();
  await pages?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function openSynced(context, url) {
  const page = await openPage(context, pages.url);
  await page.evaluate(async (syncUrl) => {
    window.db = await window.idbsql.connect("shared-notes", { sync: { url: syncUrl } });
    window.changes = 0;
    window.db.sync.addEventListener("change", () => {
      window.changes += 1;
    });
  }, url);
  return page;
}

const rowsOf = (page) =>
  page.evaluate(async () => (await window.db.query("SELECT id, body FROM note ORDER BY id")).rows);

async function waitFor(page, predicate, arg) {
  await eventually(page, predicate, arg);
}

test("a write in A shows in B, and offline writes on both converge after a restart", async () => {
  let server = await startSyncServer({ dataDir });
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  try {
    const a = await openSynced(contextA, server.url);
    const b = await openSynced(contextB, server.url);
    await a.evaluate(async () => {
      await window.db.exec("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)");
      await window.db.sync.flush();
    });
    await waitFor(b, () => window.changes >= 1);
    await a.evaluate(async () => {
      await window.db.query("INSERT INTO note VALUES (1, 'from A')");
      await window.db.sync.flush();
    });
    await waitFor(b, async () => (await window.db.query("SELECT COUNT(*) AS n FROM note")).rows[0].n === 1);
    assert.deepEqual(await rowsOf(b), [{ id: 1, body: "from A" }]);

    // The server goes away; both keep working offline.
    await server.stop();
    await waitFor(a, () => window.db.sync.status === "offline");
    await waitFor(b, () => window.db.sync.status === "offline");
    await a.evaluate(() => window.db.exec("INSERT INTO note VALUES (2, 'A offline'); UPDATE note SET body = 'A edit' WHERE id = 1;"));
    await b.evaluate(() => window.db.exec("INSERT INTO note VALUES (3, 'B offline'); UPDATE note SET body = 'B edit' WHERE id = 1;"));
    assert.equal(await a.evaluate(() => window.db.sync.pending), 2, "one change set per statement");
    assert.equal(await b.evaluate(() => window.db.sync.pending), 2);

    // Back on the same port, from the same data folder: both reconnect by themselves.
    server = await startSyncServer({ dataDir, port: server.port });
    await a.evaluate(() => window.db.sync.flush());
    await b.evaluate(() => window.db.sync.flush());
    await waitFor(a, async () => (await window.db.query("SELECT COUNT(*) AS n FROM note")).rows[0].n === 3);
    await waitFor(b, async () => (await window.db.query("SELECT COUNT(*) AS n FROM note")).rows[0].n === 3);
    const converged = await rowsOf(a);
    assert.deepEqual(await rowsOf(b), converged);
    assert.equal(converged.length, 3);

    // Reloads keep the converged data, before and after reconnecting.
    for (const page of [a, b]) {
      await page.evaluate(() => window.db.disconnect());
      await page.reload();
      await page.waitForFunction(() => window.idbsqlReady === true);
      await page.evaluate(async (syncUrl) => {
        window.db = await window.idbsql.connect("shared-notes", { sync: { url: syncUrl } });
      }, server.url);
      assert.deepEqual(await rowsOf(page), converged);
      await page.evaluate(() => window.db.sync.flush());
      assert.deepEqual(await rowsOf(page), converged);
    }
  } finally {
    await contextA.close();
    await contextB.close();
    await server.stop();
  }
});

test("a savepoint rolled back is never pushed; RETURNING and upserts sync like any other write", async () => {
  const server = await startSyncServer({ dataDir: path.join(dataDir, "savepoints") });
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  try {
    const a = await openSynced(contextA, server.url);
    const b = await openSynced(contextB, server.url);
    const returned = await a.evaluate(async () => {
      await window.db.exec("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)");
      await window.db.transaction(async (tx) => {
        await tx.query("INSERT INTO note VALUES (1, 'kept')");
        await tx
          .transaction(async (inner) => {
            await inner.query("INSERT INTO note VALUES (2, 'rolled back')");
            await inner.query("UPDATE note SET body = 'rolled back' WHERE id = 1");
            throw new Error("undo");
          })
          .catch(() => {});
      });
      const { rows } = await window.db.query("INSERT INTO note VALUES (3, 'returned') RETURNING id, body");
      await window.db.sync.flush();
      return rows;
    });
    assert.deepEqual(returned, [{ id: 3, body: "returned" }]);
    await waitFor(b, async () => (await window.db.query("SELECT COUNT(*) AS n FROM note")).rows[0].n === 2);
    assert.deepEqual(await rowsOf(b), [
      { id: 1, body: "kept" },
      { id: 3, body: "returned" },
    ]);
    // An upsert on B updates A's row and inserts a new one; A receives both.
    const upserted = await b.evaluate(async () => {
      const result = await window.db.query(
        "INSERT INTO note VALUES (1, 'upserted'), (4, 'new') ON CONFLICT (id) DO UPDATE SET body = excluded.body || ' by B' RETURNING id, body",
      );
      await window.db.sync.flush();
      return { rowCount: result.rowCount, rows: result.rows };
    });
    assert.deepEqual(upserted, { rowCount: 2, rows: [{ id: 4, body: "new" }, { id: 1, body: "upserted by B" }] });
    await waitFor(a, async () => (await window.db.query("SELECT COUNT(*) AS n FROM note")).rows[0].n === 3);
    assert.deepEqual(await rowsOf(a), [
      { id: 1, body: "upserted by B" },
      { id: 3, body: "returned" },
      { id: 4, body: "new" },
    ]);
    assert.deepEqual(await rowsOf(a), await rowsOf(b));
  } finally {
    await contextA.close();
    await contextB.close();
    await server.stop();
  }
});

test("a synced database refuses to mint keys; UUID keys made offline on two browsers converge", async () => {
  let server = await startSyncServer({ dataDir: path.join(dataDir, "keys") });
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  try {
    const a = await openSynced(contextA, server.url);
    const b = await openSynced(contextB, server.url);
    await a.evaluate(async () => {
      await window.db.exec(`CREATE TABLE item (id INTEGER PRIMARY KEY, body TEXT);
        CREATE TABLE doc (id UUID PRIMARY KEY DEFAULT GENERATE_UUID(), body TEXT);`);
      await window.db.sync.flush();
    });
    await waitFor(b, () => window.changes >= 1);
    await server.stop();
    await waitFor(a, () => window.db.sync.status === "offline");
    await waitFor(b, () => window.db.sync.status === "offline");
    const offline = async (page, who) =>
      page.evaluate(async (who) => {
        const refusals = [];
        for (const sql of [
          "CREATE TABLE counted (id SERIAL PRIMARY KEY)",
          "INSERT INTO item (body) VALUES ('no key')",
        ]) {
          try {
            await window.db.query(sql);
            refusals.push("ran");
          } catch (error) {
            refusals.push([error.code, /this database syncs/.test(error.message) && /UUID/.test(error.message)]);
          }
        }
        const { rows } = await window.db.query("INSERT INTO doc (body) VALUES ($1) RETURNING id", [`by ${who}`]);
        return { refusals, id: rows[0].id };
      }, who);
    const fromA = await offline(a, "A");
    const fromB = await offline(b, "B");
    for (const made of [fromA, fromB]) {
      assert.deepEqual(made.refusals, [["plan", true], ["plan", true]]);
      assert.match(String(made.id), /^[0-9a-f-]{36}$/);
    }
    assert.notEqual(fromA.id, fromB.id);

    server = await startSyncServer({ dataDir: path.join(dataDir, "keys"), port: server.port });
    await a.evaluate(() => window.db.sync.flush());
    await b.evaluate(() => window.db.sync.flush());
    const docs = (page) =>
      page.evaluate(async () => (await window.db.query("SELECT id, body FROM doc ORDER BY body")).rows);
    for (const page of [a, b]) {
      await waitFor(page, async () => (await window.db.query("SELECT COUNT(*) AS n FROM doc")).rows[0].n === 2);
    }
    assert.deepEqual(await docs(a), [
      { id: fromA.id, body: "by A" },
      { id: fromB.id, body: "by B" },
    ]);
    assert.deepEqual(await docs(b), await docs(a));
  } finally {
    await contextA.close();
    await contextB.close();
    await server.stop();
  }
});

test("a commit larger than the server's frame limit fails with too_large and sync goes on", async () => {
  const server = await startSyncServer({
    dataDir: path.join(dataDir, "small-frames"),
    extraArgs: ["--max-frame-bytes", "16384"],
  });
  const context = await browser.newContext();
  try {
    const page = await openPage(context, pages.url);
    const out = await page.evaluate(async (syncUrl) => {
      const db = await window.idbsql.connect("small-frames", { sync: { url: syncUrl } });
      await db.exec("CREATE TABLE blob (id INTEGER PRIMARY KEY, body TEXT)");
      await db.sync.flush();
      const big = await db
        .query("INSERT INTO blob VALUES (1, $1)", ["x".repeat(40_000)])
        .then(() => null, (error) => ({ code: error.code, message: error.message }));
      await db.query("INSERT INTO blob VALUES (2, 'small')");
      await db.sync.flush();
      const rows = (await db.query("SELECT id FROM blob")).rows;
      const status = db.sync.status;
      await db.disconnect();
      return { big, rows, status };
    }, server.url);
    assert.equal(out.big?.code, "too_large");
    assert.match(out.big.message, /smaller transactions/);
    assert.deepEqual(out.rows, [{ id: 2 }]);
    assert.equal(out.status, "synced");
  } finally {
    await context.close();
    await server.stop();
  }
});

test("a live query follows a remote change arriving by sync, with origin remote (also over WITH RECURSIVE, FULL JOIN, LATERAL, a correlated set operation, a window and string_agg)", async () => {
  const server = await startSyncServer({ dataDir: path.join(dataDir, "live") });
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  try {
    const a = await openSynced(contextA, server.url);
    const b = await openSynced(contextB, server.url);
    await a.evaluate(async () => {
      await window.db.exec("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)");
      await window.db.sync.flush();
    });
    await waitFor(b, () => window.changes >= 1);
    await b.evaluate(async () => {
      window.counts = [];
      window.origins = [];
      window.db.on("change", (event) => window.origins.push(event.origin));
      window.live = await window.db.live("SELECT COUNT(*) AS n FROM note", [], (r) => window.counts.push(r.rows[0].n));
      // A WITH RECURSIVE and a set operation in FROM read the synced table too.
      window.derived = [];
      window.liveDerived = await window.db.live(
        "WITH RECURSIVE r(id) AS (SELECT id FROM note WHERE id = 1 UNION ALL SELECT note.id FROM note JOIN r ON note.id = r.id + 1) " +
          "SELECT COUNT(*) AS n FROM (SELECT id FROM r UNION SELECT id FROM note WHERE id > 1) AS s",
        [],
        (r) => window.derived.push(r.rows[0].n),
      );
      // So do a FULL JOIN and a LATERAL subquery after it.
      window.joined = [];
      window.liveJoined = await window.db.live(
        "SELECT COUNT(*) AS n FROM note AS x FULL JOIN note AS y ON y.id = x.id + 1 " +
          "LEFT JOIN LATERAL (SELECT COUNT(*) AS c FROM note AS z WHERE z.id <= x.id) AS l ON true",
        [],
        (r) => window.joined.push(r.rows[0].n),
      );
      // And a subquery reading the outer row that holds a set operation.
      window.correlated = [];
      window.liveCorrelated = await window.db.live(
        "SELECT COUNT(*) AS n FROM note AS x WHERE EXISTS (SELECT 1 FROM note AS y WHERE y.id = x.id " +
          "UNION SELECT 2 WHERE x.id < 0)",
        [],
        (r) => window.correlated.push(r.rows[0].n),
      );
      // And a window function over it.
      window.windowed = [];
      window.liveWindowed = await window.db.live(
        "SELECT id, ROW_NUMBER() OVER (ORDER BY id DESC) AS rn FROM note ORDER BY id",
        [],
        (r) => window.windowed.push(r.rows.map((row) => row.rn)),
      );
      // And a string_agg of it.
      window.joinedBodies = [];
      window.liveBodies = await window.db.live(
        "SELECT string_agg(body, '|' ORDER BY id) AS bodies FROM note",
        [],
        (r) => window.joinedBodies.push(r.rows[0].bodies),
      );
    });
    await a.evaluate(async () => {
      await window.db.query("INSERT INTO note VALUES (1, 'remote')");
      await window.db.sync.flush();
    });
    await waitFor(b, () => window.counts.at(-1) === 1);
    assert.deepEqual(await b.evaluate(() => window.counts), [0, 1]);
    await waitFor(b, () => window.derived.at(-1) === 1);
    assert.deepEqual(await b.evaluate(() => window.derived), [0, 1]);
    await waitFor(b, () => window.joined.at(-1) === 2);
    assert.deepEqual(await b.evaluate(() => window.joined), [0, 2]);
    await waitFor(b, () => window.correlated.at(-1) === 1);
    assert.deepEqual(await b.evaluate(() => window.correlated), [0, 1]);
    await waitFor(b, () => window.windowed.length === 2);
    assert.deepEqual(await b.evaluate(() => window.windowed), [[], [1]]);
    await waitFor(b, () => window.joinedBodies.length === 2);
    assert.deepEqual(await b.evaluate(() => window.joinedBodies), [null, "remote"]);
    await b.evaluate(() => window.liveBodies.stop());
    assert.deepEqual(await b.evaluate(() => window.origins), ["remote"]);
    await b.evaluate(() => window.liveWindowed.stop());
    await b.evaluate(() => window.live.stop());
    await b.evaluate(() => window.liveDerived.stop());
    await b.evaluate(() => window.liveJoined.stop());
    await b.evaluate(() => window.liveCorrelated.stop());
  } finally {
    await contextA.close();
    await contextB.close();
    await server.stop();
  }
});

test("a JSONB column syncs as its text, and a live query with JSON operators follows remote writes", async () => {
  const server = await startSyncServer({ dataDir: path.join(dataDir, "json") });
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  try {
    const a = await openSynced(contextA, server.url);
    const b = await openSynced(contextB, server.url);
    await a.evaluate(async () => {
      await window.db.exec("CREATE TABLE event (id INTEGER PRIMARY KEY, payload JSONB)");
      await window.db.sync.flush();
    });
    await waitFor(b, () => window.changes >= 1);
    await b.evaluate(async () => {
      window.kinds = [];
      window.liveKinds = await window.db.live(
        "SELECT payload ->> 'kind' AS kind, COUNT(*) AS n FROM event WHERE payload @> '{\"ok\": true}' GROUP BY 1 ORDER BY 1",
        [],
        (r) => window.kinds.push(r.rows.map((row) => `${row.kind}:${row.n}`)),
      );
    });
    await a.evaluate(async () => {
      await window.db.query("INSERT INTO event VALUES (1, $1), (2, $2)", [{ kind: "click", ok: true }, '{"ok": false,  "kind": "view"}']);
      await window.db.sync.flush();
    });
    await waitFor(b, () => window.kinds.at(-1)?.length === 1);
    assert.deepEqual(await b.evaluate(() => window.kinds), [[], ["click:1"]]);
    const out = await b.evaluate(async () => {
      const rows = (await window.db.query("SELECT id, payload FROM event ORDER BY id")).rows;
      let refused;
      try {
        await window.db.query("UPDATE event SET payload = 'not json' WHERE id = 1");
      } catch (error) {
        refused = error.code;
      }
      window.liveKinds.stop();
      return { rows, refused };
    });
    assert.deepEqual(out.rows, [
      { id: 1, payload: '{"ok": true, "kind": "click"}' },
      { id: 2, payload: '{"ok": false, "kind": "view"}' },
    ]);
    assert.equal(out.refused, "constraint");
  } finally {
    await contextA.close();
    await contextB.close();
    await server.stop();
  }
});

test("the owner tab closing hands sync over: the next owner pushes and receives", async () => {
  const server = await startSyncServer({ dataDir: path.join(dataDir, "handover") });
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  try {
    // Two tabs of one browser share the database; the first is its owner and runs sync.
    const owner = await openSynced(contextA, server.url);
    const other = await openSynced(contextA, server.url);
    const elsewhere = await openSynced(contextB, server.url);
    await owner.evaluate(async () => {
      await window.db.exec("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)");
      await window.db.sync.flush();
    });
    await waitFor(elsewhere, () => window.changes >= 1);
    await owner.close();
    // The remaining tab becomes the owner; its writes reach the other browser, and back.
    await other.evaluate(async () => {
      await window.db.query("INSERT INTO note VALUES (1, 'after the hand-over')");
      await window.db.sync.flush();
    });
    await waitFor(elsewhere, () => window.changes >= 2);
    assert.deepEqual(await rowsOf(elsewhere), [{ id: 1, body: "after the hand-over" }]);
    await elsewhere.evaluate(async () => {
      await window.db.query("INSERT INTO note VALUES (2, 'from elsewhere')");
      await window.db.sync.flush();
    });
    await waitFor(other, () => window.changes >= 1);
    assert.deepEqual(await rowsOf(other), [
      { id: 1, body: "after the hand-over" },
      { id: 2, body: "from elsewhere" },
    ]);
    assert.equal(await other.evaluate(() => window.db.sync.status), "synced");
  } finally {
    await contextA.close();
    await contextB.close();
    await server.stop();
  }
});

test("a server restored from a backup resets the client to its log; unconfirmed writes survive", async () => {
  const liveDir = await mkdtemp(path.join(os.tmpdir(), "idbsql-sync-live-"));
  const backupDir = await mkdtemp(path.join(os.tmpdir(), "idbsql-sync-backup-"));
  let server = await startSyncServer({ dataDir: liveDir });
  const context = await browser.newContext();
  try {
    const page = await openPage(context, pages.url);
    const connectTo = (url) =>
      page.evaluate(async (syncUrl) => {
        window.db = await window.idbsql.connect("reset-notes", { sync: { url: syncUrl } });
        window.resets = [];
        window.db.sync.addEventListener("reset", (event) => window.resets.push(event.detail));
      }, url);
    await connectTo(server.url);
    await page.evaluate(async () => {
      await window.db.exec("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)");
      await window.db.query("INSERT INTO note VALUES (1, 'kept')");
      await window.db.sync.flush();
    });
    await server.stop();
    await cp(liveDir, backupDir, { recursive: true });
    server = await startSyncServer({ dataDir: liveDir, port: server.port });
    await page.evaluate(async () => {
      await window.db.query("INSERT INTO note VALUES (2, 'lost with the server')");
      await window.db.sync.flush();
    });
    await server.stop();
    await waitFor(page, () => window.db.sync.status === "offline");
    await page.evaluate(() => window.db.query("INSERT INTO note VALUES (3, 'offline')"));

    // The server comes back from the backup: it never had row 2.
    server = await startSyncServer({ dataDir: backupDir, port: server.port });
    await waitFor(page, () => window.resets.length === 1);
    await page.evaluate(() => window.db.sync.flush());
    const expected = [
      { id: 1, body: "kept" },
      { id: 3, body: "offline" },
    ];
    const rows = () => page.evaluate(async () => (await window.db.query("SELECT id, body FROM note ORDER BY id")).rows);
    assert.deepEqual(await rows(), expected);
    assert.deepEqual(await page.evaluate(() => window.resets), [{ serverSeq: 2, hadSeen: 3 }]);
    assert.equal(await page.evaluate(() => window.db.sync.pending), 0);

    await page.evaluate(() => window.db.disconnect());
    await page.reload();
    await page.waitForFunction(() => window.idbsqlReady === true);
    await connectTo(server.url);
    assert.deepEqual(await rows(), expected);
  } finally {
    await context.close();
    await server.stop();
    await rm(liveDir, { recursive: true, force: true });
    await rm(backupDir, { recursive: true, force: true });
  }
});

const SECRET = "a sync test secret of enough bytes";

/** A token as `idbsql-server token` mints it (HMAC-SHA256 over version, expiry, read-only, db). */
function mintToken(database, expiresInSeconds) {
  const payload = `v1\n${Math.floor(Date.now() / 1000) + expiresInSeconds}\n0\n${database}`;
  const signature = createHmac("sha256", SECRET).update(payload).digest();
  return `${Buffer.from(payload).toString("base64url")}.${signature.toString("base64url")}`;
}

async function startWithTokens() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "idbsql-sync-tokens-"));
  const secretFile = path.join(dir, "secret");
  await writeFile(secretFile, SECRET);
  // With a secret the server trusts only its own origin's pages, and those listed.
  const server = await startSyncServer({
    dataDir: dir,
    extraArgs: ["--secret-file", secretFile, "--allow-origin", pages.url],
  });
  return { server, dir };
}

test("a page of an origin the server does not allow cannot sync, whatever its token", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "idbsql-sync-origin-"));
  const secretFile = path.join(dir, "secret");
  await writeFile(secretFile, SECRET);
  // A secret, and no --allow-origin: only the server's own pages may sync.
  const server = await startSyncServer({ dataDir: dir, extraArgs: ["--secret-file", secretFile] });
  const context = await browser.newContext();
  try {
    const page = await openPage(context, pages.url);
    await page.evaluate(
      async ({ url, token }) => {
        window.errors = [];
        window.db = await window.idbsql.connect("origin-notes", { sync: { url, token } });
        window.db.sync.addEventListener("error", (event) => window.errors.push(event.detail));
        await window.db.query("CREATE TABLE t (id INTEGER PRIMARY KEY)");
      },
      { url: server.url, token: mintToken("origin-notes", 3600) },
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const state = await page.evaluate(() => ({ status: window.db.sync.status, pending: window.db.sync.pending }));
    assert.notEqual(state.status, "synced");
    assert.equal(state.pending, 1, "the local change waits; nothing reached the server");
  } finally {
    await context.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("an expired token: status unauthorized, one error, no retries until setToken; URLs tried in order", async () => {
  const { server, dir } = await startWithTokens();
  const context = await browser.newContext();
  try {
    const page = await openPage(context, pages.url);
    await page.evaluate(
      async ({ urls, token }) => {
        window.errors = [];
        window.db = await window.idbsql.connect("token-notes", { sync: { url: urls, token } });
        window.db.sync.addEventListener("error", (event) => window.errors.push(event.detail));
      },
      { urls: ["ws://127.0.0.1:9/sync", server.url], token: mintToken("token-notes", -60) },
    );
    await waitFor(page, () => window.db.sync.status === "unauthorized");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const refused = await page.evaluate(() => ({
      status: window.db.sync.status,
      unauthorized: window.errors.filter((e) => e.code === "unauthorized").length,
    }));
    assert.deepEqual(refused, { status: "unauthorized", unauthorized: 1 }, "one error, no retries");

    await page.evaluate((token) => window.db.sync.setToken(token), mintToken("token-notes", 3600));
    await waitFor(page, () => window.db.sync.status === "synced");
    await page.evaluate(async () => {
      await window.db.exec("CREATE TABLE note (id INTEGER PRIMARY KEY)");
      await window.db.sync.flush();
    });
    assert.equal(await page.evaluate(() => window.db.sync.pending), 0);
  } finally {
    await context.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

for (const worker of [false, true]) {
  test(`a token function is called on every (re)connect${worker ? " [worker mode]" : ""}`, async () => {
    let { server, dir } = await startWithTokens();
    const context = await browser.newContext();
    try {
      const page = await openPage(context, pages.url);
      await page.evaluate(
        async ({ url, token, worker }) => {
          window.calls = 0;
          window.db = await window.idbsql.connect("fn-notes", {
            worker,
            sync: {
              url,
              token: async () => {
                window.calls += 1;
                return token;
              },
            },
          });
        },
        { url: server.url, token: mintToken("fn-notes", 3600), worker },
      );
      await waitFor(page, () => window.db.sync.status === "synced");
      const first = await page.evaluate(() => window.calls);
      assert.ok(first >= 1);
      await server.stop();
      await waitFor(page, () => window.db.sync.status === "offline");
      const port = server.port;
      server = await startSyncServer({
        dataDir: dir,
        port,
        extraArgs: ["--secret-file", path.join(dir, "secret"), "--allow-origin", pages.url],
      });
      await waitFor(page, () => window.db.sync.status === "synced");
      assert.ok((await page.evaluate(() => window.calls)) > first, "asked again on reconnect");
    } finally {
      await context.close();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test("a token that expires mid-session: the server ends the session, the token function gives a fresh one, sync goes on", async () => {
  const { server, dir } = await startWithTokens();
  const context = await browser.newContext();
  try {
    const page = await openPage(context, pages.url);
    const tokens = [mintToken("expiring-notes", 3), mintToken("expiring-notes", 3600)];
    await page.evaluate(
      async ({ url, tokens }) => {
        window.calls = 0;
        window.statuses = [];
        window.db = await window.idbsql.connect("expiring-notes", {
          sync: { url, token: async () => tokens[Math.min(window.calls++, tokens.length - 1)] },
        });
        window.db.sync.addEventListener("status", (event) => window.statuses.push(event.detail.status));
        await window.db.exec("CREATE TABLE note (id INTEGER PRIMARY KEY)");
        await window.db.sync.flush();
      },
      { url: server.url, tokens },
    );
    // The first token lapses after 3 s: the server ends that session; the function is asked again.
    await waitFor(page, () => window.calls >= 2);
    await waitFor(page, () => window.db.sync.status === "synced");
    await page.evaluate(async () => {
      await window.db.exec("INSERT INTO note VALUES (1)");
      await window.db.sync.flush();
    });
    const seen = await page.evaluate(() => ({ pending: window.db.sync.pending, statuses: window.statuses }));
    assert.equal(seen.pending, 0);
    assert.ok(!seen.statuses.includes("unauthorized"), `never stuck: ${seen.statuses}`);
  } finally {
    await context.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("foreign keys: a cascade survives a reload and syncs as rows; the offline parent/child race is rejected", async () => {
  const dir = path.join(dataDir, "foreign-keys");
  let server = await startSyncServer({ dataDir: dir });
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  const books = (page) =>
    page.evaluate(async () => (await window.db.query("SELECT id, author_id FROM book ORDER BY id")).rows);
  const authors = (page) => page.evaluate(async () => (await window.db.query("SELECT COUNT(*) AS n FROM author")).rows[0].n);
  // Opens the database again on a page (after a reload, or to come back online), counting rejects.
  const reopen = (page) =>
    page.evaluate(async (syncUrl) => {
      window.db = await window.idbsql.connect("shared-notes", { sync: { url: syncUrl } });
      window.rejects = [];
      window.db.sync.addEventListener("reject", (event) => window.rejects.push(event.detail));
    }, server.url);
  const goOffline = async () => {
    await server.stop();
    await waitFor(a, () => window.db.sync.status === "offline");
    await waitFor(b, () => window.db.sync.status === "offline");
  };
  let a;
  let b;
  try {
    a = await openSynced(contextA, server.url);
    b = await openSynced(contextB, server.url);
    await a.evaluate(async () => {
      await window.db.exec(
        "CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT);" +
          "CREATE TABLE book (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES author (id) ON DELETE CASCADE, title TEXT);" +
          "INSERT INTO author VALUES (1, 'Ann'), (2, 'Bo'), (3, 'Cy');" +
          "INSERT INTO book VALUES (10, 1, 'a'), (11, 1, 'b'), (12, 2, 'c'), (13, 3, 'd');",
      );
      await window.db.sync.flush();
    });
    await waitFor(b, async () => (await window.db.query("SELECT COUNT(*) AS n FROM book")).rows[0].n === 4);
    // The foreign key came with the tables: B's own writes are checked too.
    const refused = await b.evaluate(() => window.db.query("INSERT INTO book VALUES (14, 9, 'x')").then(() => null, (e) => e.code));
    assert.equal(refused, "constraint");

    // A cascade on A: kept across a reload, and received by B as rows.
    await a.evaluate(async () => {
      await window.db.query("DELETE FROM author WHERE id = 1");
      await window.db.sync.flush();
    });
    await a.evaluate(() => window.db.disconnect());
    await a.reload();
    await a.waitForFunction(() => window.idbsqlReady === true);
    await reopen(a);
    assert.deepEqual(await books(a), [{ id: 12, author_id: 2 }, { id: 13, author_id: 3 }]);
    await waitFor(b, async () => (await window.db.query("SELECT COUNT(*) AS n FROM book")).rows[0].n === 2);

    // Offline race, A's delete reaching the server first: B's child of author 2 is rejected.
    await goOffline();
    await a.evaluate(() => window.db.query("DELETE FROM author WHERE id = 2"));
    await b.evaluate(async () => {
      await window.db.query("INSERT INTO book VALUES (20, 2, 'offline child')");
      await window.db.disconnect();
    });
    server = await startSyncServer({ dataDir: dir, port: server.port });
    await a.evaluate(() => window.db.sync.flush());
    await reopen(b);
    await b.evaluate(() => window.db.sync.flush().catch(() => {}));
    await waitFor(b, () => window.rejects.length === 1);
    assert.match(await b.evaluate(() => window.rejects[0].reason), /violates foreign key constraint/);
    await waitFor(b, async () => (await window.db.query("SELECT COUNT(*) AS n FROM book")).rows[0].n === 1);
    assert.deepEqual(await books(b), [{ id: 13, author_id: 3 }], "B's child taken back, A's cascade received");
    assert.equal(await authors(b), 1);

    // The other order: B's child of author 3 first, then A's delete of author 3, whose
    // cascade never saw that child: A's push is rejected and A gets author 3 back.
    await goOffline();
    await b.evaluate(() => window.db.query("INSERT INTO book VALUES (22, 3, 'B first')"));
    await a.evaluate(async () => {
      await window.db.query("DELETE FROM author WHERE id = 3");
      await window.db.disconnect();
    });
    server = await startSyncServer({ dataDir: dir, port: server.port });
    await b.evaluate(() => window.db.sync.flush());
    await reopen(a);
    await a.evaluate(() => window.db.sync.flush().catch(() => {}));
    await waitFor(a, () => window.rejects.length === 1);
    assert.match(await a.evaluate(() => window.rejects[0].reason), /is still referenced/);
    await waitFor(a, async () => (await window.db.query("SELECT COUNT(*) AS n FROM book")).rows[0].n === 2);
    assert.equal(await authors(a), 1);
    assert.deepEqual(await books(a), [{ id: 13, author_id: 3 }, { id: 22, author_id: 3 }]);
    assert.deepEqual(await books(b), await books(a));
  } finally {
    await contextA.close();
    await contextB.close();
    await server.stop();
  }
});

test("a commit past a server quota is rejected with code quota and rolled back; sync goes on", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "idbsql-sync-quota-"));
  const server = await startSyncServer({ dataDir: dir, extraArgs: ["--max-tables-per-database", "1"] });
  const context = await browser.newContext();
  try {
    const page = await openPage(context, pages.url);
    const rejects = await page.evaluate(async (url) => {
      const rejects = [];
      window.db = await window.idbsql.connect("quota-notes", { sync: { url } });
      window.db.sync.addEventListener("reject", (event) => rejects.push(event.detail));
      await window.db.exec("CREATE TABLE one (id INTEGER PRIMARY KEY)");
      await window.db.sync.flush();
      await window.db.exec("CREATE TABLE two (id INTEGER PRIMARY KEY)");
      await window.db.sync.flush();
      await window.db.exec("INSERT INTO one VALUES (1)");
      await window.db.sync.flush();
      return rejects;
    }, server.url);
    assert.equal(rejects.length, 1, JSON.stringify(rejects));
    assert.equal(rejects[0].code, "quota");
    assert.match(rejects[0].reason, /^quota: .*tables/);
    const tables = await page.evaluate(async () => (await window.db.tables()).map((t) => t.name).sort());
    assert.deepEqual(tables, ["one"], "the refused table was rolled back here");
  } finally {
    await context.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a remote overwrite of a row written here by a writer that had not seen it is a conflict event", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "idbsql-sync-conflict-"));
  const server = await startSyncServer({ dataDir: dir });
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  try {
    const open = async (context) => {
      const page = await openPage(context, pages.url);
      await page.evaluate(async (url) => {
        window.conflicts = [];
        window.db = await window.idbsql.connect("conflict-notes", { sync: { url } });
        window.db.sync.addEventListener("conflict", (event) => window.conflicts.push(event.detail));
      }, server.url);
      return page;
    };
    const a = await open(contextA);
    const b = await open(contextB);
    await a.evaluate(async () => {
      await window.db.exec("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO note VALUES (1, 'start');");
      await window.db.sync.flush();
    });
    // Until A's changes arrive, B has no table: the query throws, and the wait goes on.
    await waitFor(b, async () => (await window.db.query("SELECT COUNT(*) AS n FROM note")).rows[0].n === 1);
    // Calls on one connection run in order: once this query answers, B's sync has stopped.
    await b.evaluate(async () => {
      window.db.sync.stop();
      await window.db.query("SELECT 1");
    });
    await a.evaluate(async () => {
      await window.db.query("UPDATE note SET body = 'by A' WHERE id = 1");
      await window.db.sync.flush();
    });
    await b.evaluate(async () => {
      await window.db.query("UPDATE note SET body = 'by B, offline' WHERE id = 1");
      await window.db.sync.start();
      await window.db.sync.flush();
    });
    await waitFor(a, () => window.conflicts.length === 1);
    assert.deepEqual(await a.evaluate(() => window.conflicts), [
      { table: "note", key: 1, local: { id: 1, body: "by A" }, remote: { id: 1, body: "by B, offline" } },
    ]);
    assert.deepEqual(await b.evaluate(() => window.conflicts), []);
  } finally {
    await contextA.close();
    await contextB.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
