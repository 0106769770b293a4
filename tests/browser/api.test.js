// The JS API in real headless Chromium with real IndexedDB: the calls a user makes, values,
// error codes, ordering, reload persistence, the Web Lock and a failed IndexedDB write.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { openPage, reloadPage } from "./harness.js";
import { MODES, useBrowser, withPageOf } from "./suite.js";

const env = useBrowser();

/** Every test runs twice: engine on the page's main thread, and in a Worker. */
let mode = MODES[0];
const withPage = (fn) => withPageOf(env, mode.worker, fn);

for (const current of MODES) {
  describe(current.worker ? "engine in a Worker" : "engine on the main thread", () => {
  before(() => {
    mode = current;
  });

  test(`connect, query with parameters, exec, disconnect${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        await deleteDatabase("api-basic");
        const db = await connect("api-basic");
        const created = await db.exec(
          "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO note VALUES (7, 'seven'), (8, 'eight');",
        );
        const selected = await db.query("SELECT id, body FROM note WHERE id = $1", [7]);
        const updated = await db.query("UPDATE note SET body = $1 WHERE id > $2", ["big", 7]);
        await db.disconnect();
        let closedCode;
        try {
          await db.query("SELECT 1");
        } catch (error) {
          closedCode = error.code;
        }
        return { created, selected, updated, closedCode, closed: db.closed };
      });
      assert.deepEqual(out.created.map((r) => [r.command, r.rowCount]), [["CREATE", 0], ["INSERT", 2]]);
      assert.deepEqual(out.selected, {
        command: "SELECT",
        columns: ["id", "body"],
        types: ["INT", "TEXT"],
        rows: [{ id: 7, body: "seven" }],
        rowCount: 1,
      });
      assert.equal(out.updated.command, "UPDATE");
      assert.equal(out.updated.rowCount, 1);
      assert.equal(out.closedCode, "closed");
      assert.equal(out.closed, true);
    }));

  test(`data survives a page reload${current.name}`, async () => {
    await withPage((page) =>
      page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        await deleteDatabase("api-reload");
        const db = await connect("api-reload");
        await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'persisted');");
        // No disconnect: the page goes away as a closed tab would.
      }),
    );
    const rows = await withPage((page) =>
      page.evaluate(async () => {
        const db = await window.idbsql.connect("api-reload");
        const { rows } = await db.query("SELECT * FROM t");
        await db.disconnect();
        return rows;
      }),
    );
    assert.deepEqual(rows, [{ id: 1, v: "persisted" }]);
  });

  test(`generated keys: SERIAL and IDENTITY go on across a reload, RETURNING gives them${current.name}`, async () => {
    const first = await withPage((page) =>
      page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        await deleteDatabase("api-keys");
        const db = await connect("api-keys");
        await db.exec(`CREATE TABLE post (id SERIAL PRIMARY KEY, title TEXT NOT NULL, tag TEXT DEFAULT 'none');
          CREATE TABLE event (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, what TEXT);
          CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT);`);
        const posted = await db.query("INSERT INTO post (title) VALUES ($1), ($2) RETURNING id, tag", ["a", "b"]);
        await db.query("INSERT INTO post VALUES (DEFAULT, 'c', DEFAULT)");
        await db.query("DELETE FROM post WHERE id = 3");
        await db.query("INSERT INTO event DEFAULT VALUES");
        const item = await db.query("INSERT INTO item (name) VALUES ('x') RETURNING id");
        let refused;
        try {
          await db.query("INSERT INTO event (id, what) VALUES (7, 'mine')");
        } catch (error) {
          refused = error.code;
        }
        // No disconnect: the page goes away as a closed tab would.
        return { posted: posted.rows, item: item.rows, refused };
      }),
    );
    assert.deepEqual(first, { posted: [{ id: 1, tag: "none" }, { id: 2, tag: "none" }], item: [{ id: 1 }], refused: "constraint" });
    const after = await withPage((page) =>
      page.evaluate(async () => {
        const db = await window.idbsql.connect("api-keys");
        const post = (await db.query("INSERT INTO post (title) VALUES ('d') RETURNING id")).rows;
        const event = (await db.query("INSERT INTO event (what) VALUES ('later') RETURNING id, what")).rows;
        const item = (await db.query("INSERT INTO item VALUES (NULL, 'y') RETURNING id")).rows;
        const posts = (await db.query("SELECT id, title FROM post ORDER BY id")).rows;
        await db.disconnect();
        return { post, event, item, posts };
      }),
    );
    // The deleted largest key (3) is not handed out again.
    assert.deepEqual(after, {
      post: [{ id: 4 }],
      event: [{ id: 2, what: "later" }],
      item: [{ id: 2 }],
      posts: [{ id: 1, title: "a" }, { id: 2, title: "b" }, { id: 4, title: "d" }],
    });
  });

  test(`values map to JS types and parameters accept them back${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const db = await window.idbsql.connect("api-values", { storage: "memory" });
        await db.exec(`CREATE TABLE v (
          id INTEGER PRIMARY KEY, big INTEGER, f FLOAT, d DECIMAL, s TEXT, b BOOLEAN, n TEXT NULL,
          by BYTEA, dt DATE, ts TIMESTAMP, tm TIME, iv INTERVAL, u UUID, m MAP, l LIST)`);
        await db.query(
          "INSERT INTO v VALUES ($1, $2, $3, 12.50, $4, $5, $6, $7, $8, $9, $10, INTERVAL '1 02:03:04' DAY TO SECOND, $11, $12, $13)",
          [
            1, 9007199254740993n, 1.25, "text", true, null, new Uint8Array([0, 255]), "2024-02-29",
            "2024-02-29T10:11:12.5", "10:11:12", "936da01f-9abd-4d9d-80c7-02af85c822a8",
            { a: 1, nested: { b: [true, null] } }, [1, "two", [3]],
          ],
        );
        const { rows } = await db.query("SELECT * FROM v");
        const row = rows[0];
        // Every value read comes back through a parameter to the same row.
        const again = await db.query(
          "SELECT COUNT(*) AS c FROM v WHERE big = $1 AND f = $2 AND s = $3 AND b = $4 AND dt = $5 AND ts = $6 AND tm = $7 AND u = $8",
          [row.big, row.f, row.s, row.b, row.dt, row.ts, row.tm, row.u],
        );
        await db.disconnect();
        return {
          row: { ...row, by: Array.from(row.by), bigType: typeof row.big, big: String(row.big), byIsU8: row.by instanceof Uint8Array },
          again: again.rows[0].c,
        };
      });
      assert.deepEqual(out.row, {
        id: 1,
        big: "9007199254740993",
        bigType: "bigint",
        f: 1.25,
        d: "12.50",
        s: "text",
        b: true,
        n: null,
        by: [0, 255],
        byIsU8: true,
        dt: "2024-02-29",
        ts: "2024-02-29T10:11:12.500",
        tm: "10:11:12",
        iv: "P1DT2H3M4S",
        u: "936da01f-9abd-4d9d-80c7-02af85c822a8",
        m: { a: 1, nested: { b: [true, null] } },
        l: [1, "two", [3]],
      });
      assert.equal(out.again, 1);
    }));

  test(`errors carry codes and a failed statement changes nothing${current.name}`, () =>
    withPage(async (page) => {
      const codes = await page.evaluate(async () => {
        const { connect, IdbsqlError } = window.idbsql;
        const db = await connect("api-errors", { storage: "memory" });
        await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL); INSERT INTO t VALUES (1, 'a');");
        const codeOf = async (promise) => {
          try {
            await promise;
            return "resolved";
          } catch (error) {
            return `${error instanceof IdbsqlError && error instanceof Error}:${error.code}`;
          }
        };
        const result = {
          parse: await codeOf(db.query("SELEC * FROM t")),
          multiple: await codeOf(db.query("SELECT 1; SELECT 2")),
          constraint: await codeOf(db.query("INSERT INTO t VALUES (2, 'b'), (1, 'dup')")),
          notNull: await codeOf(db.query("INSERT INTO t VALUES (3, NULL)")),
          execute: await codeOf(db.query("SELECT * FROM missing")),
          params: await codeOf(db.query("SELECT * FROM t WHERE id = $1", "not an array")),
          badParam: await codeOf(db.query("SELECT * FROM t WHERE id = $1", [Symbol("x")])),
          plan: await codeOf(db.query("SELECT * FROM t WHERE id = $2", [1])),
          badWasm: await codeOf(connect("api-errors-2", { storage: "memory", wasm: 42 })),
          badWorkerUrl: await codeOf(connect("api-errors-2", { storage: "memory", workerUrl: {} })),
          responseToWorker: await codeOf(
            connect("api-errors-2", { storage: "memory", worker: true, wasm: new Response("") }),
          ),
        };
        result.rows = (await db.query("SELECT id FROM t")).rows;
        await db.disconnect();
        return result;
      });
      assert.deepEqual(codes, {
        parse: "true:parse",
        multiple: "true:multiple_statements",
        constraint: "true:constraint",
        notNull: "true:constraint",
        execute: "true:execute",
        params: "true:params",
        badParam: "true:params",
        plan: "true:plan",
        badWasm: "true:params",
        badWorkerUrl: "true:params",
        responseToWorker: "true:params",
        rows: [{ id: 1 }],
      });
    }));

  test(`calls run in the order made, even when not awaited${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const db = await window.idbsql.connect("api-order", { storage: "memory" });
        const pending = [db.query("CREATE TABLE t (n INT)")];
        for (let i = 0; i < 50; i += 1) pending.push(db.query("INSERT INTO t VALUES ($1)", [i]));
        pending.push(db.query("SELECT n FROM t"));
        const results = await Promise.all(pending);
        await db.disconnect();
        return results.at(-1).rows.map((r) => r.n);
      });
      assert.deepEqual(out, Array.from({ length: 50 }, (_, i) => i));
    }));

  test(`transaction commits, or rolls back when the function throws${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        await deleteDatabase("api-tx");
        const db = await connect("api-tx");
        await db.query("CREATE TABLE acct (id INTEGER PRIMARY KEY, balance INTEGER)");
        const value = await db.transaction(async (tx) => {
          await tx.query("INSERT INTO acct VALUES (1, 100)");
          await tx.query("INSERT INTO acct VALUES (2, 0)");
          return "committed";
        });
        let thrown;
        try {
          await db.transaction(async (tx) => {
            await tx.query("UPDATE acct SET balance = balance - 50 WHERE id = 1");
            throw new Error("boom");
          });
        } catch (error) {
          thrown = error.message;
        }
        const afterRollback = (await db.query("SELECT balance FROM acct WHERE id = 1")).rows[0].balance;
        await db.disconnect();
        const again = await connect("api-tx");
        const persisted = (await again.query("SELECT id, balance FROM acct ORDER BY id")).rows;
        await again.disconnect();
        return { value, thrown, afterRollback, persisted };
      });
      assert.deepEqual(out, {
        value: "committed",
        thrown: "boom",
        afterRollback: 100,
        persisted: [{ id: 1, balance: 100 }, { id: 2, balance: 0 }],
      });
    }));

  test(`nested transactions are savepoints; RETURNING gives the written rows, BigInt and DECIMAL exact${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        await deleteDatabase("api-nested");
        const db = await connect("api-nested");
        await db.query("CREATE TABLE acct (id INTEGER PRIMARY KEY, owner TEXT, balance DECIMAL)");
        const inserted = await db.query(
          "INSERT INTO acct VALUES ($1, 'ann', 10.50), (2, 'bob', 0.50) RETURNING id, balance, upper(owner) AS who",
          [9007199254740993n],
        );
        // Rows RETURNING packs as it evaluates them, as arrays: a value beyond 2^53, a text
        // changing case in place, a column twice.
        const asArrays = await db.query(
          "UPDATE acct SET owner = owner RETURNING id, lower(owner), owner, upper(owner) AS owner",
          [],
          { rowMode: "array" },
        );
        const innerError = await db.transaction(async (tx) => {
          await tx.query("UPDATE acct SET balance = balance + 1 WHERE id = 2");
          // An inner transaction that throws undoes only its own writes.
          const caught = await tx
            .transaction(async (inner) => {
              await inner.query("UPDATE acct SET balance = 0 WHERE id = 2");
              await inner.transaction(async (deepest) => deepest.query("DELETE FROM acct"));
              throw new Error("inner failed");
            })
            .catch((error) => error.message);
          // One that resolves keeps them.
          await tx.transaction((inner) => inner.query("INSERT INTO acct VALUES (3, 'cy', 3)"));
          return caught;
        });
        // db.transaction while a transaction opened with BEGIN is open nests too.
        await db.query("BEGIN");
        const nested = await db
          .transaction(async (tx) => {
            await tx.query("INSERT INTO acct VALUES (4, 'dee', 4)");
            throw new Error("nested failed");
          })
          .catch((error) => error.message);
        await db.query("INSERT INTO acct VALUES (5, 'eve', 5)");
        await db.query("COMMIT");
        const deleted = await db.query("DELETE FROM acct WHERE id = 5 RETURNING *");
        // An upsert keyed by a BigInt: the stored DECIMAL grows exactly.
        const upserted = await db.query(
          "INSERT INTO acct VALUES ($1, 'ann', $2) ON CONFLICT (id) DO UPDATE SET balance = acct.balance + excluded.balance RETURNING balance",
          [9007199254740993n, "0.25"],
        );
        await db.disconnect();
        const again = await connect("api-nested");
        const rows = (await again.query("SELECT id, balance FROM acct ORDER BY id")).rows;
        await again.disconnect();
        const text = (rows) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "bigint" ? `${v}n` : v])));
        return {
          inserted: { command: inserted.command, rowCount: inserted.rowCount, columns: inserted.columns, types: inserted.types, rows: text(inserted.rows) },
          asArrays: { columns: asArrays.columns, types: asArrays.types, rows: asArrays.rows.map((r) => r.map((v) => (typeof v === "bigint" ? `${v}n` : v))) },
          innerError,
          nested,
          deleted: { command: deleted.command, rowCount: deleted.rowCount, rows: deleted.rows },
          upserted: upserted.rows,
          rows: text(rows),
        };
      });
      assert.deepEqual(out.inserted, {
        command: "INSERT",
        rowCount: 2,
        columns: ["id", "balance", "who"],
        types: ["INT", "DECIMAL", "TEXT"],
        rows: [
          { id: "9007199254740993n", balance: "10.50", who: "ANN" },
          { id: 2, balance: "0.50", who: "BOB" },
        ],
      });
      assert.deepEqual(out.asArrays, {
        columns: ["id", "lower(owner)", "owner", "owner"],
        types: ["INT", "TEXT", "TEXT", "TEXT"],
        rows: [
          [2, "bob", "bob", "BOB"],
          ["9007199254740993n", "ann", "ann", "ANN"],
        ],
      });
      assert.equal(out.innerError, "inner failed");
      assert.equal(out.nested, "nested failed");
      assert.deepEqual(out.deleted, { command: "DELETE", rowCount: 1, rows: [{ id: 5, owner: "eve", balance: "5" }] });
      assert.deepEqual(out.upserted, [{ balance: "10.75" }]);
      assert.deepEqual(out.rows, [
        { id: 2, balance: "1.50" },
        { id: 3, balance: "3" },
        { id: "9007199254740993n", balance: "10.75" },
      ]);
    }));

  test(`WITH, WITH RECURSIVE, set operations in FROM and in a correlated subquery, RIGHT JOIN, FULL JOIN, LATERAL and USING: in a transaction, through a view, refused past the limit${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        await deleteDatabase("api-with");
        const db = await connect("api-with");
        await db.exec(
          "CREATE TABLE emp (id INTEGER PRIMARY KEY, boss INTEGER, name TEXT);" +
            "INSERT INTO emp VALUES (1, NULL, 'ann'), (2, 1, 'bob'), (3, 2, 'cy'), (4, NULL, 'dee');" +
            "CREATE VIEW team AS WITH RECURSIVE r(id, depth) AS (SELECT id, 0 FROM emp WHERE id = 1 " +
            "UNION ALL SELECT emp.id, r.depth + 1 FROM emp JOIN r ON emp.boss = r.id) SELECT id, depth FROM r;" +
            "CREATE VIEW pairs AS SELECT b.name AS boss, e.name AS name FROM emp AS b FULL JOIN emp AS e ON e.boss = b.id",
        );
        const chain = "WITH RECURSIVE r(id, depth) AS (SELECT id, 0 FROM emp WHERE id = $1 " +
          "UNION ALL SELECT emp.id, r.depth + 1 FROM emp JOIN r ON emp.boss = r.id) " +
          "SELECT emp.name, r.depth FROM r JOIN emp ON emp.id = r.id ORDER BY r.depth";
        const inTx = await db.transaction(async (tx) => {
          await tx.query("INSERT INTO emp VALUES (5, 3, 'eve')");
          return {
            chain: (await tx.query(chain, [2])).rows,
            view: (await tx.query("SELECT COUNT(*) AS n, MAX(depth) AS deepest FROM team")).rows[0],
            union: (await tx.query(
              "WITH roots AS (SELECT name FROM emp WHERE boss IS NULL) " +
                "SELECT COUNT(*) AS n FROM (SELECT name FROM roots UNION SELECT name FROM emp WHERE id < $1) AS s",
              [3],
            )).rows[0].n,
            // The other join forms of this issue: RIGHT JOIN and USING, `*` in written order.
            right: (await tx.query(
              "SELECT * FROM emp AS b RIGHT JOIN emp AS e ON e.boss = b.id WHERE e.id IN (1, 5) ORDER BY e.id",
              [],
              { rowMode: "array" },
            )).rows,
            // FULL JOIN and a RIGHT JOIN after another join see the row this transaction wrote.
            full: (await tx.query(
              "SELECT COUNT(*) AS n, COUNT(b.id) AS bosses, COUNT(e.id) AS staff " +
                "FROM emp AS b FULL JOIN emp AS e ON e.boss = b.id AND b.id > $1",
              [2],
            )).rows[0],
            rightAfter: (await tx.query(
              "SELECT b.name AS boss, e.name, x.name AS peer FROM emp AS b JOIN emp AS e ON e.boss = b.id " +
                "RIGHT JOIN emp AS x ON x.boss = e.id ORDER BY x.id",
              [],
              { rowMode: "array" },
            )).rows,
            lateral: (await tx.query(
              "SELECT e.name, s.n FROM emp AS e LEFT JOIN LATERAL " +
                "(SELECT COUNT(*) AS n FROM emp AS r WHERE r.boss = e.id) AS s ON true WHERE e.id < $1 ORDER BY e.id",
              [5],
            )).rows,
            using: (await tx.query(
              "SELECT * FROM emp JOIN (SELECT id, name AS alias FROM emp) AS x USING (id) WHERE id = $1",
              [4],
            )).rows,
            // A subquery reading the outer row that holds a set operation, run per row.
            correlated: (await tx.query(
              "SELECT e.name FROM emp AS e WHERE EXISTS (SELECT 1 FROM emp AS r WHERE r.boss = e.id " +
                "UNION SELECT 2 WHERE e.id = $1) ORDER BY e.id",
              [4],
              { rowMode: "array" },
            )).rows.flat(),
          };
        });
        let limit;
        try {
          await db.query("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT COUNT(*) FROM t");
        } catch (error) {
          limit = { code: error.code, message: error.message };
        }
        const afterCommit = (await db.query("SELECT COUNT(*) AS n FROM team")).rows[0].n;
        const pairs = (await db.query("SELECT COUNT(*) AS n FROM pairs")).rows[0].n;
        await db.disconnect();
        return { inTx, limit, afterCommit, pairs };
      });
      assert.deepEqual(out.inTx, {
        chain: [{ name: "bob", depth: 0 }, { name: "cy", depth: 1 }, { name: "eve", depth: 2 }],
        view: { n: 4, deepest: 3 },
        union: 3,
        right: [[null, null, null, 1, null, "ann"], [3, 2, "cy", 5, 3, "eve"]],
        full: { n: 9, bosses: 5, staff: 5 },
        lateral: [{ name: "ann", n: 1 }, { name: "bob", n: 1 }, { name: "cy", n: 1 }, { name: "dee", n: 0 }],
        rightAfter: [
          [null, null, "ann"],
          [null, null, "bob"],
          ["ann", "bob", "cy"],
          [null, null, "dee"],
          ["bob", "cy", "eve"],
        ],
        using: [{ id: 4, boss: null, name: "dee", alias: "dee" }],
        correlated: ["ann", "bob", "cy", "dee"],
      });
      assert.equal(out.limit.code, "execute");
      assert.match(out.limit.message, /recursive WITH query "t" stopped: 10000 iterations/);
      assert.equal(out.afterCommit, 4);
      assert.equal(out.pairs, 7);
    }));

  test(`string_agg and group_concat: with parameters, in a transaction, through a view, in a correlated subquery${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        await deleteDatabase("api-string-agg");
        const db = await connect("api-string-agg");
        await db.exec(
          "CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT);" +
            "CREATE TABLE tag (id INTEGER PRIMARY KEY, post_id INTEGER, name TEXT);" +
            "INSERT INTO post VALUES (1, 'first'), (2, 'second'), (3, 'untagged');" +
            "INSERT INTO tag VALUES (1, 1, 'sql'), (2, 1, 'browser'), (3, 2, 'sql'), (4, 2, NULL);" +
            "CREATE VIEW tag_list AS SELECT post_id, string_agg(name, ', ' ORDER BY name) AS names FROM tag GROUP BY post_id",
        );
        const inTx = await db.transaction(async (tx) => {
          await tx.query("INSERT INTO tag VALUES (5, 2, $1)", ["wasm"]);
          return {
            grouped: (await tx.query(
              "SELECT post_id, string_agg(name, $1 ORDER BY id DESC) AS names, COUNT(*) AS n FROM tag WHERE id > $2 GROUP BY post_id ORDER BY post_id",
              [";", 0],
            )).rows,
            view: (await tx.query("SELECT post_id, names FROM tag_list ORDER BY post_id")).rows,
            correlated: (await tx.query(
              "SELECT p.title, (SELECT string_agg(t.name, '+' ORDER BY t.name) FROM tag AS t WHERE t.post_id = p.id) AS tags FROM post AS p ORDER BY p.id",
            )).rows,
            concat: (await tx.query("SELECT group_concat(DISTINCT name) AS names FROM tag WHERE post_id = 1")).rows[0].names,
          };
        });
        let refused;
        try {
          await db.query("SELECT string_agg(name) FROM tag");
        } catch (error) {
          refused = { code: error.code, message: error.message };
        }
        const afterCommit = (await db.query("SELECT string_agg(name, ',' ORDER BY id) AS s FROM tag")).rows[0].s;
        await db.disconnect();
        return { inTx, refused, afterCommit };
      });
      assert.deepEqual(out.inTx, {
        grouped: [
          { post_id: 1, names: "browser;sql", n: 2 },
          { post_id: 2, names: "wasm;sql", n: 3 },
        ],
        view: [
          { post_id: 1, names: "browser, sql" },
          { post_id: 2, names: "sql, wasm" },
        ],
        correlated: [
          { title: "first", tags: "browser+sql" },
          { title: "second", tags: "sql+wasm" },
          { title: "untagged", tags: null },
        ],
        concat: "sql,browser",
      });
      assert.equal(out.refused.code, "plan");
      assert.match(out.refused.message, /string_agg takes a value and a separator/);
      assert.equal(out.afterCommit, "sql,browser,sql,wasm");
    }));

  test(`window functions, NULLS FIRST / LAST and IS DISTINCT FROM: with parameters, in a transaction, through a view${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        await deleteDatabase("api-windows");
        const db = await connect("api-windows");
        await db.exec(
          "CREATE TABLE sale (id INTEGER PRIMARY KEY, region TEXT, amount INTEGER);" +
            "INSERT INTO sale VALUES (1, 'north', 10), (2, 'north', 30), (3, 'south', 20), (4, 'south', NULL), (5, NULL, 5);" +
            "CREATE VIEW top_sale AS SELECT region, id FROM (SELECT region, id, " +
            "ROW_NUMBER() OVER (PARTITION BY region ORDER BY amount DESC NULLS LAST, id) AS rn FROM sale) AS r WHERE rn = 1",
        );
        const inTx = await db.transaction(async (tx) => {
          await tx.query("INSERT INTO sale VALUES (6, 'north', 25)");
          return {
            running: (await tx.query(
              "SELECT id, SUM(amount) OVER (ORDER BY id) AS total, " +
                "LAG(amount, 1, $1) OVER (ORDER BY id) AS previous FROM sale WHERE id > $2 ORDER BY id",
              [-1, 2],
            )).rows,
            ranked: (await tx.query(
              "SELECT region, RANK() OVER w AS r, amount - AVG(amount) OVER (PARTITION BY region) AS diff " +
                "FROM sale WHERE region = $1 WINDOW w AS (ORDER BY amount DESC) ORDER BY r",
              ["north"],
            )).rows,
            view: (await tx.query("SELECT region, id FROM top_sale ORDER BY region NULLS FIRST")).rows,
            distinct: (await tx.query(
              "SELECT id FROM sale WHERE region IS DISTINCT FROM $1 AND amount IS NOT DISTINCT FROM NULL OR id = 5 ORDER BY id",
              ["north"],
            )).rows.map((row) => row.id),
          };
        });
        let misplaced;
        try {
          await db.query("SELECT id FROM sale WHERE ROW_NUMBER() OVER () = 1");
        } catch (error) {
          misplaced = { code: error.code, message: error.message };
        }
        const afterCommit = (await db.query("SELECT COUNT(*) OVER () AS n FROM sale LIMIT 1")).rows[0].n;
        await db.disconnect();
        return { inTx, misplaced, afterCommit };
      });
      assert.deepEqual(out.inTx, {
        running: [
          { id: 3, total: 20, previous: -1 },
          { id: 4, total: 20, previous: 20 },
          { id: 5, total: 25, previous: null },
          { id: 6, total: 50, previous: 5 },
        ],
        ranked: [
          { region: "north", r: 1, diff: 8.333333333333332 },
          { region: "north", r: 2, diff: 3.333333333333332 },
          { region: "north", r: 3, diff: -11.666666666666668 },
        ],
        view: [{ region: null, id: 5 }, { region: "north", id: 2 }, { region: "south", id: 3 }],
        distinct: [4, 5],
      });
      assert.equal(out.misplaced.code, "plan");
      assert.match(out.misplaced.message, /window functions are not allowed in WHERE/);
      assert.equal(out.afterCommit, 6);
    }));

  test(`a second connection in the same tab shares the database; deleteDatabase waits for both${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        await deleteDatabase("api-share");
        const first = await connect("api-share");
        const second = await connect("api-share");
        await first.exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);");
        await second.query("INSERT INTO t VALUES (2)");
        const seenByFirst = (await first.query("SELECT x FROM t ORDER BY x")).rows;
        let deleteCode;
        try {
          await deleteDatabase("api-share");
        } catch (error) {
          deleteCode = error.code;
        }
        await first.disconnect();
        const afterFirstLeft = (await second.query("SELECT COUNT(*) AS n FROM t")).rows[0].n;
        await second.disconnect();
        await deleteDatabase("api-share");
        const fresh = await connect("api-share");
        const tables = (await fresh.tables()).length;
        await fresh.disconnect();
        return { seenByFirst, deleteCode, afterFirstLeft, tables };
      });
      assert.deepEqual(out, { seenByFirst: [{ x: 1 }, { x: 2 }], deleteCode: "locked", afterFirstLeft: 2, tables: 0 });
    }));

  test(`another tab shares it too${current.name}`, async () => {
    const pageA = await openPage(env.context, env.server.url, { worker: mode.worker });
    const pageB = await openPage(env.context, env.server.url, { worker: mode.worker });
    try {
      await pageA.evaluate(async () => {
        await window.idbsql.deleteDatabase("api-share-tabs").catch(() => {});
        window.held = await window.idbsql.connect("api-share-tabs");
        await window.held.exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);");
      });
      const rows = await pageB.evaluate(async () => {
        const db = await window.idbsql.connect("api-share-tabs");
        await db.query("INSERT INTO t VALUES (2)");
        const { rows } = await db.query("SELECT x FROM t ORDER BY x");
        await db.disconnect();
        return rows;
      });
      assert.deepEqual(rows, [{ x: 1 }, { x: 2 }]);
    } finally {
      await pageA.close();
      await pageB.close();
    }
  });

  test(`a failed IndexedDB write rejects with storage and leaves the data as it was${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        await deleteDatabase("api-abort");
        const db = await connect("api-abort");
        await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'kept');");
        db._failNextWrite();
        let code;
        try {
          await db.query("UPDATE t SET v = 'lost'");
        } catch (error) {
          code = error.code;
        }
        const inMemory = (await db.query("SELECT v FROM t")).rows;
        await db.disconnect();
        const again = await connect("api-abort");
        const onDisk = (await again.query("SELECT v FROM t")).rows;
        await again.disconnect();
        return { code, inMemory, onDisk };
      });
      assert.deepEqual(out, { code: "storage", inMemory: [{ v: "kept" }], onDisk: [{ v: "kept" }] });
    }));

  test(`DECIMALs keep every digit and their scale through parameters and export → import${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        for (const name of ["api-decimal-a", "api-decimal-b"]) await deleteDatabase(name);
        const db = await connect("api-decimal-a");
        await db.exec("CREATE TABLE d (id INTEGER PRIMARY KEY, v DECIMAL)");
        await db.exec(
          "INSERT INTO d VALUES (1, 0.00), (2, 12.50), (3, -0.00), (4, 9999999999999999999999999999), (5, -0.0000000000000000000000000001)",
        );
        await db.query("INSERT INTO d VALUES (6, $1), (7, $2)", ["12.50", "0.000"]);
        const refused = [];
        for (const beyond of ["1e-30", "123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890"]) {
          refused.push(await db.query("INSERT INTO d VALUES (8, $1)", [beyond]).then(() => "stored", (e) => e.code));
          refused.push(await db.exec(`INSERT INTO d VALUES (8, ${beyond})`).then(() => "stored", (e) => e.code));
        }
        const dump = await db.export();
        await db.disconnect();
        const copy = await connect("api-decimal-b");
        await copy.import(dump);
        const rows = (await copy.query("SELECT v FROM d ORDER BY id")).rows.map((r) => r.v);
        const importRefused = await copy.import("INSERT INTO d VALUES (9, 0.00000000000000000000000000001)").catch((e) => e.code);
        await copy.disconnect();
        return { rows, refused, importRefused };
      });
      assert.deepEqual(out.rows, [
        "0.00", "12.50", "0.00", "9999999999999999999999999999", "-0.0000000000000000000000000001", "12.50", "0.000",
      ]);
      assert.deepEqual(out.refused, ["params", "execute", "params", "execute"], "refused, never rounded");
      assert.equal(out.importRefused, "execute");
    }));

  test(`export writes SQL that import turns back into the same database${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async (every) => {
        const { connect, deleteDatabase } = window.idbsql;
        for (const name of ["api-export-a", "api-export-b"]) await deleteDatabase(name);
        const source = await connect("api-export-a");
        await source.exec(every);
        await source.exec(
          "CREATE TABLE author (id INT PRIMARY KEY, name TEXT NOT NULL UNIQUE);" +
            "CREATE TABLE book (id INT PRIMARY KEY, author_id INT, FOREIGN KEY (author_id) REFERENCES author (id));" +
            "CREATE INDEX book_author ON book (author_id);" +
            "INSERT INTO author VALUES (1, 'Le Guin'); INSERT INTO book VALUES (1, 1), (2, 1);",
        );
        const dump = await source.export();
        const before = await source.query("SELECT * FROM v");
        const tables = await source.tables();
        await source.disconnect();

        const copy = await connect("api-export-b");
        const summary = await copy.import(dump);
        const after = await copy.query("SELECT * FROM v");
        const again = await copy.export();
        let failed;
        try {
          await copy.import("CREATE TABLE extra (x INT); INSERT INTO extra VALUES ('nope');");
        } catch (error) {
          failed = { code: error.code, message: error.message };
        }
        const tablesAfterFailure = (await copy.tables()).map((t) => t.name);
        await copy.disconnect();
        let closedCode;
        try {
          await copy.export();
        } catch (error) {
          closedCode = error.code;
        }
        const plain = (result) => JSON.stringify(result, (_, v) =>
          typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? [...v] : v);
        return { dump, same: plain(before) === plain(after), before: plain(before), after: plain(after),
          again: again === dump, summary, tables, failed, tablesAfterFailure, closedCode };
      }, readFileSync(new URL("../fixtures/every_value_type.sql", import.meta.url), "utf8"));
      assert.match(out.dump, /^-- idbsql dump\n/);
      assert.ok(out.same, `${out.before}\n!=\n${out.after}`);
      assert.ok(out.again, "exporting the imported copy gives the same SQL");
      assert.deepEqual(out.summary, { statements: 8, rows: 4 });
      assert.deepEqual(out.tables.map((t) => [t.name, t.rowCount]), [["author", 1], ["book", 2], ["v", 1]]);
      assert.deepEqual(out.tables[1].foreignKeys, [{
        name: "book_author_id_fkey", column: "author_id", referencesTable: "author", referencesColumn: "id",
        columns: ["author_id"], referencesColumns: ["id"], onDelete: "NO ACTION", onUpdate: "NO ACTION",
      }]);
      assert.deepEqual(out.tables[1].indexes.map((i) => i.name), ["book_author"]);
      assert.deepEqual(out.tables[0].columns[1], {
        name: "name", type: "TEXT", nullable: false, primaryKey: false, unique: true, default: null, generated: null,
      });
      assert.equal(out.failed.code, "execute");
      assert.match(out.failed.message, /^statement 2: /);
      assert.deepEqual(out.tablesAfterFailure, ["author", "book", "v"]);
      assert.equal(out.closedCode, "closed");
    }));

  });
}
