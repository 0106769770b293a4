// The API's edges in real headless Chromium: a failing script with BEGIN, values returned and
// passed back as parameters, rows as arrays and odd column names, no Web Locks, a Rust panic,
// and a database stored by a newer idbsql.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { reloadPage } from "./harness.js";
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

  test(`a failed script rolls back the transaction it opened; later writes survive a reload${current.name}`, () =>
    withPage(async (page) => {
      const failed = await page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        await deleteDatabase("edges-exec");
        const db = await connect("edges-exec");
        await db.exec("CREATE TABLE a (x INTEGER PRIMARY KEY)");
        let error;
        try {
          await db.exec("BEGIN; INSERT INTO a VALUES (1); INSERT INTO missing VALUES (1); COMMIT;");
        } catch (e) {
          error = { code: e.code, message: e.message };
        }
        await db.query("INSERT INTO a VALUES (2)");
        await db.disconnect();
        return error;
      });
      assert.equal(failed.code, "execute");
      assert.match(failed.message, /^statement 3: /);
      await reloadPage(page);
      const rows = await page.evaluate(async () => {
        const db = await window.idbsql.connect("edges-exec");
        const { rows } = await db.query("SELECT x FROM a ORDER BY x");
        await db.disconnect();
        return rows;
      });
      assert.deepEqual(rows, [{ x: 2 }]);
    }));

  test(`every value a query returns is accepted back as a parameter; other objects are refused${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const { connect } = window.idbsql;
        const db = await connect("edges-params", { storage: "memory" });
        await db.exec(
          "CREATE TABLE v (id INTEGER PRIMARY KEY, d DECIMAL, dt DATE, ts TIMESTAMP, tm TIME, " +
            "iv INTERVAL, u UUID, ip INET, m MAP, l LIST, p POINT, b BYTEA, big INT128, u64 UINT64);" +
            "INSERT INTO v VALUES (1, 12.50, '2024-02-29', '2024-02-29T10:11:12.5', '10:11:12', " +
            "INTERVAL '1' DAY, '936da01f-9abd-4d9d-80c7-02af85c822a8', '::1', '{\"k\": [1, 2]}', " +
            "'[1, \"two\"]', POINT(1.5, -2), X'00ff', 170141183460469231731687303715884105727, 18446744073709551615)",
        );
        const [first] = (await db.query("SELECT * FROM v")).rows;
        const copy = { ...first, id: 2 };
        const columns = Object.keys(copy);
        await db.query(
          `INSERT INTO v (${columns.join(", ")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")})`,
          columns.map((c) => copy[c]),
        );
        const [second] = (await db.query("SELECT * FROM v WHERE id = 2")).rows;
        const found = {};
        for (const column of ["d", "dt", "ts", "tm", "iv", "u", "ip", "big", "u64"]) {
          found[column] = (await db.query(`SELECT id FROM v WHERE ${column} = $1 ORDER BY id`, [first[column]])).rows.map((r) => r.id);
        }
        await db.query("INSERT INTO v (id, d) VALUES (3, $1)", [0.5]);
        const decimal = (await db.query("SELECT d FROM v WHERE id = 3")).rows[0].d;
        const refused = [];
        for (const value of [new Map([["a", 1]]), new Set([1]), new ArrayBuffer(4), new (class Money {})()]) {
          try {
            await db.query("INSERT INTO v (id, m) VALUES (9, $1)", [value]);
            refused.push("accepted");
          } catch (error) {
            refused.push(`${error.code}: ${error.message}`);
          }
        }
        const plain = (row) => JSON.stringify(row, (_, v) =>
          typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? [...v] : v);
        await db.disconnect();
        return { first: plain({ ...first, id: 0 }), second: plain({ ...second, id: 0 }), found, decimal, refused };
      });
      assert.equal(out.second, out.first);
      for (const [column, ids] of Object.entries(out.found)) assert.deepEqual(ids, [1, 2], column);
      assert.equal(out.decimal, "0.5");
      assert.equal(out.refused.length, 4);
      for (const [i, kind] of ["Map", "Set", "ArrayBuffer", "Money"].entries()) {
        assert.match(out.refused[i], new RegExp(`^params: parameter \\$1: a ${kind} has no SQL counterpart`));
      }
    }));

  test(`rows cross to JS intact: text of every width beside numbers, NULLs and the rare kinds, row after row${current.name}`, () =>
    withPage(async (page) => {
      const texts = ["", "plain", "é", "日本語", "😀 two units", "a\u0000b", "mixed ü 😀 end", "x".repeat(300)];
      const out = await page.evaluate(async (texts) => {
        const db = await window.idbsql.connect("edges-packed", { storage: "memory" });
        await db.exec("CREATE TABLE p (id INTEGER PRIMARY KEY, s TEXT, f FLOAT, d DECIMAL, big INTEGER, by BYTEA)");
        for (let i = 0; i < 600; i += 1) {
          await db.query("INSERT INTO p VALUES ($1, $2, $3, $4, $5, $6)", [
            i,
            i % 9 === 8 ? null : texts[i % 9],
            i % 5 === 0 ? null : i / 4,
            `${i}.50`,
            i % 7 === 0 ? 9007199254740993n : i,
            new Uint8Array([i % 256]),
          ]);
        }
        const objects = await db.query("SELECT id, s, f, d, big, by, s || '|' AS t FROM p ORDER BY id");
        const arrays = await db.query("SELECT id, s, f, d, big, by FROM p ORDER BY id", [], { rowMode: "array" });
        await db.disconnect();
        const plain = (v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? [...v] : v);
        return {
          objects: objects.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plain(v)]))),
          arrays: arrays.rows.map((row) => row.map(plain)),
        };
      }, texts);
      assert.equal(out.objects.length, 600);
      for (let i = 0; i < 600; i += 1) {
        const s = i % 9 === 8 ? null : texts[i % 9];
        const expected = {
          id: i,
          s,
          f: i % 5 === 0 ? null : i / 4,
          d: `${i}.50`,
          big: i % 7 === 0 ? "9007199254740993n" : i,
          by: [i % 256],
          t: s === null ? null : `${s}|`,
        };
        assert.deepEqual(out.objects[i], expected, `row ${i}`);
        assert.deepEqual(out.arrays[i], [expected.id, s, expected.f, expected.d, expected.big, expected.by], `array row ${i}`);
      }
    }));

  test(`JSON and JSONB columns: text in and out, objects as parameters, operators through a view, a transaction, a reload and export / import${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        await deleteDatabase("edges-json");
        await deleteDatabase("edges-json-copy");
        const db = await connect("edges-json");
        await db.exec("CREATE TABLE doc (id INTEGER PRIMARY KEY, body JSON, meta JSONB)");
        await db.query("INSERT INTO doc VALUES ($1, $2, $3)", [1, '{"b": 1,  "a": [1.50]}', { tags: ["x", "y"], n: 2 }]);
        await db.transaction(async (tx) => {
          await tx.query("INSERT INTO doc VALUES (2, $1, $2)", [[1, null, "z"], '{"tags": []}']);
        });
        let rolledBack;
        try {
          await db.transaction(async (tx) => {
            await tx.query("UPDATE doc SET meta = '{\"tags\": [\"gone\"]}' WHERE id = 1");
            await tx.query("INSERT INTO doc VALUES (3, '{broken', NULL)");
          });
        } catch (error) {
          rolledBack = error.code;
        }
        await db.exec("CREATE VIEW tagged AS SELECT id, meta -> 'tags' AS tags FROM doc WHERE json_array_length(meta -> 'tags') > 0");
        const rows = (await db.query("SELECT id, body, meta FROM doc ORDER BY id")).rows;
        const view = (await db.query("SELECT id, tags, tags ->> 0 AS first FROM tagged")).rows;
        const agg = (await db.query("SELECT json_agg(json_build_object('id', id, 'meta', meta) ORDER BY id) AS all FROM doc")).rows[0].all;
        const types = (await db.tables()).find((t) => t.name === "doc").columns.map((c) => c.type);
        const dump = await db.export();
        await db.disconnect();
        const again = await connect("edges-json");
        const reloaded = (await again.query("SELECT id, body, meta FROM doc ORDER BY id")).rows;
        await again.disconnect();
        const copy = await connect("edges-json-copy");
        await copy.import(dump);
        const copied = (await copy.query("SELECT id, body, meta FROM doc ORDER BY id")).rows;
        await copy.disconnect();
        return { rows, rolledBack, view, agg, types, reloaded, copied };
      });
      const rows = [
        { id: 1, body: '{"b": 1,  "a": [1.50]}', meta: '{"n": 2, "tags": ["x", "y"]}' },
        { id: 2, body: '[1,null,"z"]', meta: '{"tags": []}' },
      ];
      assert.deepEqual(out.rows, rows);
      assert.equal(out.rolledBack, "constraint");
      assert.deepEqual(out.view, [{ id: 1, tags: '["x", "y"]', first: "x" }]);
      assert.deepEqual(JSON.parse(out.agg), [
        { id: 1, meta: { n: 2, tags: ["x", "y"] } },
        { id: 2, meta: { tags: [] } },
      ]);
      assert.deepEqual(out.types, ["INT", "JSON", "JSONB"]);
      assert.deepEqual(out.reloaded, rows);
      assert.deepEqual(out.copied, rows);
    }));

  test(`rowMode array keeps duplicate column names; a column named __proto__ is a plain property${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const { connect } = window.idbsql;
        const db = await connect("edges-rows", { storage: "memory" });
        await db.exec(
          "CREATE TABLE a (id INTEGER, v TEXT); CREATE TABLE b (id INTEGER, v TEXT);" +
            "INSERT INTO a VALUES (1, 'left'); INSERT INTO b VALUES (1, 'right');",
        );
        const objects = await db.query("SELECT * FROM a JOIN b ON a.id = b.id");
        const arrays = await db.query("SELECT * FROM a JOIN b ON a.id = b.id", [], { rowMode: "array" });
        const inTx = await db.transaction((tx) => tx.query("SELECT v FROM a", [], { rowMode: "array" }));
        const proto = await db.query('SELECT v AS "__proto__", id FROM a');
        const row = proto.rows[0];
        let badMode;
        try {
          await db.query("SELECT 1", [], { rowMode: "table" });
        } catch (error) {
          badMode = error.code;
        }
        await db.disconnect();
        return {
          objects: objects.rows,
          arrays: arrays.rows,
          columns: arrays.columns,
          inTx: inTx.rows,
          protoOwn: Object.prototype.hasOwnProperty.call(row, "__proto__"),
          protoValue: Object.getOwnPropertyDescriptor(row, "__proto__")?.value,
          prototypeIntact: Object.getPrototypeOf(row) === Object.prototype,
          badMode,
        };
      });
      assert.deepEqual(out.arrays, [[1, "left", 1, "right"]]);
      assert.deepEqual(out.columns, ["id", "v", "id", "v"]);
      assert.deepEqual(out.objects, [{ id: 1, v: "right" }]);
      assert.deepEqual(out.inTx, [["left"]]);
      assert.ok(out.protoOwn && out.prototypeIntact);
      assert.equal(out.protoValue, "left");
      assert.equal(out.badMode, "params");
    }));

  test(`a value nested deeper than 64 levels is refused and nothing is stored${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        await deleteDatabase("edges-deep");
        const db = await connect("edges-deep");
        await db.exec("CREATE TABLE d (id INTEGER PRIMARY KEY, l LIST)");
        const nest = (levels) => "[".repeat(levels) + "1" + "]".repeat(levels);
        await db.query(`INSERT INTO d VALUES (1, '${nest(64)}')`);
        let refused;
        try {
          await db.query(`INSERT INTO d VALUES (2, '${nest(65)}')`);
        } catch (error) {
          refused = `${error.code}: ${error.message}`;
        }
        const ids = (await db.query("SELECT id FROM d ORDER BY id")).rows.map((r) => r.id);
        await db.disconnect();
        const again = await connect("edges-deep");
        const stored = (await again.query("SELECT id FROM d ORDER BY id")).rows.map((r) => r.id);
        await again.disconnect();
        return { refused, ids, stored };
      });
      assert.match(out.refused, /^execute: .*nest deeper than 64 levels/);
      assert.deepEqual(out.ids, [1]);
      assert.deepEqual(out.stored, [1]);
    }));

  test(`without Web Locks persistent storage is refused with unsupported; memory storage works${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        Object.defineProperty(navigator, "locks", { value: undefined, configurable: true });
        const { connect } = window.idbsql;
        let persistent;
        try {
          await connect("edges-nolocks");
        } catch (error) {
          persistent = { code: error.code, message: error.message };
        }
        const memory = await connect("edges-nolocks", { storage: "memory" });
        const { rows } = await memory.query("SELECT 1 AS one");
        await memory.disconnect();
        return { persistent, rows };
      });
      assert.equal(out.persistent.code, "unsupported");
      assert.match(out.persistent.message, /Web Locks/);
      assert.deepEqual(out.rows, [{ one: 1 }]);
    }));

  test(`calls GlueSQL crashed the page on are execute errors, and the database goes on${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const db = await window.idbsql.connect("edges-guards", { storage: "memory" });
        await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, d DATE, iv INTERVAL)");
        await db.query("INSERT INTO t VALUES (1, 'é', '2024-01-01', INTERVAL '36000000' DAY)");
        const codes = [];
        for (const sql of [
          "SELECT LPAD('x', 10, '')",
          "SELECT LPAD(s, 1) FROM t",
          "SELECT REPEAT('x', 99999999)",
          "SELECT SUBSTR(s, 2) FROM t",
          "SELECT FORMAT(d, '%H') FROM t",
          "SELECT d + iv + iv + iv FROM t",
        ]) {
          try {
            await db.query(sql);
            codes.push("answered");
          } catch (e) {
            codes.push(e.code);
          }
        }
        const { rows } = await db.query("SELECT REPEAT('ab', -1) AS r, SUBSTR('José', 1, 2) AS j");
        await db.disconnect();
        return { codes, rows };
      });
      assert.deepEqual(out.codes, ["execute", "execute", "execute", "execute", "execute", "execute"]);
      assert.deepEqual(out.rows, [{ r: "", j: "Jo" }]);
    }));

  test(`after a Rust panic every call fails with internal; a reload finds every acknowledged commit${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        await deleteDatabase("edges-panic");
        const db = await connect("edges-panic");
        await db.exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2);");
        const codes = [];
        for (const attempt of [
          () => db._panicForTest(),
          () => db.query("SELECT * FROM t"),
          () => db.exec("INSERT INTO t VALUES (3)"),
          () => connect("edges-panic"),
        ]) {
          try {
            await attempt();
            codes.push("ok");
          } catch (error) {
            codes.push(error.code);
          }
        }
        return codes;
      });
      assert.deepEqual(out, ["internal", "internal", "internal", "internal"]);
      await reloadPage(page);
      const rows = await page.evaluate(async () => {
        const db = await window.idbsql.connect("edges-panic");
        const { rows } = await db.query("SELECT x FROM t ORDER BY x");
        await db.disconnect();
        return rows;
      });
      assert.deepEqual(rows, [{ x: 1 }, { x: 2 }]);
    }));

  test(`a database stored by a newer idbsql is refused with format${current.name}`, () =>
    withPage(async (page) => {
      const out = await page.evaluate(async () => {
        const { connect, deleteDatabase } = window.idbsql;
        await deleteDatabase("edges-newer");
        await new Promise((resolve, reject) => {
          const request = indexedDB.open("idbsql/edges-newer", 99);
          request.onsuccess = () => {
            request.result.close();
            resolve();
          };
          request.onerror = () => reject(request.error);
        });
        try {
          await connect("edges-newer");
          return { code: "connected" };
        } catch (error) {
          return { code: error.code, message: error.message };
        }
      });
      assert.equal(out.code, "format");
      assert.match(out.message, /newer idbsql/);
    }));

  });
}
