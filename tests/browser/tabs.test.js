// Many tabs on one database, in real headless Chromium (several pages of one browser
// context): concurrent writes from every tab, the owner tab closing or reloading mid-burst,
// transactions from two tabs, live queries and change events across tabs, worker mode.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serveStatic, launchBrowser, openPage } from "./harness.js";

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

async function pagesOf(context, count) {
  const pages = [];
  for (let i = 0; i < count; i += 1) pages.push(await openPage(context, server.url));
  return pages;
}

async function connectAll(pages, name, options = {}) {
  for (const page of pages) {
    await page.evaluate(
      async ({ name, options }) => {
        window.db = await window.idbsql.connect(name, options);
      },
      { name, options },
    );
  }
}

test("3 tabs × 300 concurrent increments give exactly 900", async () => {
  const context = await browser.newContext();
  try {
    const pages = await pagesOf(context, 3);
    await pages[0].evaluate(() => window.idbsql.deleteDatabase("tabs-counter"));
    await connectAll(pages, "tabs-counter");
    await pages[0].evaluate(() =>
      window.db.exec("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO counter VALUES (1, 0);"),
    );
    const acked = await Promise.all(
      pages.map((page) =>
        page.evaluate(async () => {
          const calls = [];
          for (let i = 0; i < 300; i += 1) calls.push(window.db.query("UPDATE counter SET n = n + 1 WHERE id = 1"));
          return (await Promise.all(calls)).filter((r) => r.rowCount === 1).length;
        }),
      ),
    );
    assert.deepEqual(acked, [300, 300, 300]);
    const n = await pages[2].evaluate(async () => (await window.db.query("SELECT n FROM counter")).rows[0].n);
    assert.equal(n, 900);
  } finally {
    await context.close();
  }
});

test("the owner tab closing mid-burst: n equals the acknowledged calls, and nothing hangs", async () => {
  const context = await browser.newContext();
  try {
    const [owner, ...others] = await pagesOf(context, 3);
    await owner.evaluate(() => window.idbsql.deleteDatabase("tabs-handover"));
    await connectAll([owner, ...others], "tabs-handover");
    await owner.evaluate(() =>
      window.db.exec("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO counter VALUES (1, 0);"),
    );
    const bursts = others.map((page) =>
      page.evaluate(async () => {
        const outcomes = { acked: 0, failed: [] };
        const calls = [];
        for (let i = 0; i < 300; i += 1) {
          calls.push(
            window.db.query("UPDATE counter SET n = n + 1 WHERE id = 1").then(
              () => {
                outcomes.acked += 1;
              },
              (error) => {
                outcomes.failed.push(error.code);
              },
            ),
          );
          if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await Promise.all(calls);
        return outcomes;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 150));
    await owner.close();
    const outcomes = await Promise.all(bursts);
    for (const { failed } of outcomes) {
      for (const code of failed) assert.ok(["leader_changed", "unavailable"].includes(code), code);
    }
    const acked = outcomes.reduce((sum, o) => sum + o.acked, 0);
    const n = await others[0].evaluate(async () => (await window.db.query("SELECT n FROM counter")).rows[0].n);
    assert.equal(n, acked, `final n ${n}, acknowledged ${acked}`);
  } finally {
    await context.close();
  }
});

test("transfers from two tabs in transaction(fn) never change the total", async () => {
  const context = await browser.newContext();
  try {
    const pages = await pagesOf(context, 3);
    await pages[0].evaluate(() => window.idbsql.deleteDatabase("tabs-bank"));
    await connectAll(pages, "tabs-bank");
    await pages[0].evaluate(() =>
      window.db.exec("CREATE TABLE account (id INTEGER PRIMARY KEY, balance INTEGER); INSERT INTO account VALUES (1, 1000), (2, 1000);"),
    );
    const transfer = (page, from, to) =>
      page.evaluate(
        async ({ from, to }) => {
          for (let i = 0; i < 40; i += 1) {
            await window.db.transaction(async (tx) => {
              const { rows } = await tx.query("SELECT balance FROM account WHERE id = $1", [from]);
              await new Promise((resolve) => setTimeout(resolve, 1));
              await tx.query("UPDATE account SET balance = $1 WHERE id = $2", [rows[0].balance - 7, from]);
              await tx.query("UPDATE account SET balance = balance + 7 WHERE id = $1", [to]);
            });
          }
        },
        { from, to },
      );
    const watcher = pages[2].evaluate(async () => {
      const sums = new Set();
      const until = Date.now() + 1500;
      while (Date.now() < until) {
        sums.add((await window.db.query("SELECT SUM(balance) AS total FROM account")).rows[0].total);
      }
      return [...sums];
    });
    await Promise.all([transfer(pages[0], 1, 2), transfer(pages[1], 2, 1)]);
    assert.deepEqual(await watcher, [2000]);
    const balances = await pages[2].evaluate(async () => (await window.db.query("SELECT balance FROM account ORDER BY id")).rows);
    assert.deepEqual(balances, [{ balance: 1000 }, { balance: 1000 }]);
  } finally {
    await context.close();
  }
});

test("a live query and change events in tab B follow writes in tab A, and not other tables", async () => {
  const context = await browser.newContext();
  try {
    const [a, b] = await pagesOf(context, 2);
    await a.evaluate(() => window.idbsql.deleteDatabase("tabs-live"));
    await connectAll([a, b], "tabs-live");
    await a.evaluate(() => window.db.exec("CREATE TABLE t (x INTEGER); CREATE TABLE u (y INTEGER);"));
    await b.evaluate(async () => {
      window.seen = [];
      window.control = 0;
      window.changes = [];
      window.offChange = window.db.on("change", (event) => window.changes.push(event));
      window.sub = await window.db.live("SELECT COUNT(*) AS n FROM t", [], (result) => window.seen.push(result.rows[0].n));
      window.controlSub = await window.db.live("SELECT COUNT(*) AS n FROM t", [], () => {
        window.control += 1;
      });
    });
    assert.deepEqual(await b.evaluate(() => window.seen), [0], "the first result comes before live() resolves");
    await a.evaluate(() => window.db.query("INSERT INTO t VALUES (1)"));
    await b.waitForFunction(() => window.seen.length === 2);
    // A write to another table, then a write to t as a barrier: only the barrier fires.
    await a.evaluate(() => window.db.query("INSERT INTO u VALUES (1)"));
    await a.evaluate(() => window.db.query("INSERT INTO t VALUES (2)"));
    await b.waitForFunction(() => window.seen.length >= 3 && window.control >= 3);
    assert.deepEqual(await b.evaluate(() => window.seen), [0, 1, 2]);
    const changes = await b.evaluate(() => window.changes);
    assert.deepEqual(
      changes.map((c) => [c.tables.join(","), c.origin]),
      [["t", "tab"], ["u", "tab"], ["t", "tab"]],
    );
    // Stopped, it fires no more: the control subscription is the barrier.
    await b.evaluate(() => window.sub.stop());
    await b.evaluate(() => window.db.query("INSERT INTO t VALUES (3)"));
    await b.waitForFunction(() => window.control >= 4);
    assert.deepEqual(await b.evaluate(() => window.seen), [0, 1, 2]);
    const local = await b.evaluate(() => window.changes.at(-1));
    assert.deepEqual(local, { tables: ["t"], origin: "local" });
  } finally {
    await context.close();
  }
});

test("worker mode: the engine runs in a Worker; tabs with and without it share the database", async () => {
  const context = await browser.newContext();
  try {
    const [a, b] = await pagesOf(context, 2);
    await a.evaluate(() => window.idbsql.deleteDatabase("tabs-worker"));
    await connectAll([a], "tabs-worker", { worker: true });
    const out = await a.evaluate(async () => {
      const db = window.db;
      await db.exec("CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT)");
      const values = Array.from({ length: 2000 }, (_, i) => `(${i}, 'v${i}')`).join(", ");
      await db.exec(`INSERT INTO kv VALUES ${values}`);
      const wasm = window.idbsql.wasmMemoryBytes();
      const count = (await db.query("SELECT COUNT(*) AS n FROM kv")).rows[0].n;
      return { wasm, count };
    });
    assert.equal(out.count, 2000);
    assert.equal(out.wasm, 0, "the page itself never loaded the WebAssembly module");
    await connectAll([b], "tabs-worker");
    const rows = await b.evaluate(async () => {
      await window.db.query("INSERT INTO kv VALUES (5000, 'from a main-thread tab')");
      return (await window.db.query("SELECT COUNT(*) AS n FROM kv")).rows;
    });
    assert.deepEqual(rows, [{ n: 2001 }]);
    const inWorkerTab = await a.evaluate(async () => (await window.db.query("SELECT v FROM kv WHERE id = 5000")).rows);
    assert.deepEqual(inWorkerTab, [{ v: "from a main-thread tab" }]);
    // A private (memory) database with worker: true runs in a Worker of its own.
    const memory = await a.evaluate(async () => {
      const db = await window.idbsql.connect("tabs-worker-memory", { storage: "memory", worker: true });
      await db.exec("CREATE TABLE m (x INTEGER); INSERT INTO m VALUES (1), (2);");
      const { rows } = await db.query("SELECT SUM(x) AS s FROM m");
      await db.disconnect();
      return { rows, wasm: window.idbsql.wasmMemoryBytes() };
    });
    assert.deepEqual(memory, { rows: [{ s: 3 }], wasm: 0 });
  } finally {
    await context.close();
  }
});

test("parameters sent to the owner tab are checked as the owner would: same codes and messages", async () => {
  const context = await browser.newContext();
  try {
    const [owner, other] = await pagesOf(context, 2);
    await owner.evaluate(() => window.idbsql.deleteDatabase("tabs-params"));
    await connectAll([owner, other], "tabs-params");
    await owner.evaluate(() => window.db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, m MAP)"));
    const attempt = (page) =>
      page.evaluate(async () => {
        let deep = 1;
        for (let i = 0; i < 1000; i += 1) deep = [deep];
        const out = [];
        for (const value of [new (class Money {})(), () => 1, Symbol("s"), deep, { a: new Set() }]) {
          try {
            await window.db.query("INSERT INTO t VALUES (1, $1)", [value]);
            out.push("accepted");
          } catch (error) {
            out.push(`${error.code}: ${error.message.split(";")[0]}`);
          }
        }
        out.push((await window.db.query("SELECT COUNT(*) AS n FROM t")).rows[0].n);
        return out;
      });
    const expected = [
      "params: parameter $1: a Money has no SQL counterpart",
      "params: parameter $1: unsupported JS type function",
      "params: parameter $1: unsupported JS type symbol",
      "params: parameter $1: arrays and objects nest deeper than 64 levels",
      "params: parameter $1: a Set has no SQL counterpart",
      0,
    ];
    assert.deepEqual(await attempt(owner), expected, "in the owner tab");
    assert.deepEqual(await attempt(other), expected, "forwarded from another tab");
  } finally {
    await context.close();
  }
});

test("the owner tab reloading while another keeps querying: no call waits past the bound", async () => {
  const context = await browser.newContext();
  try {
    const [owner, reader] = await pagesOf(context, 2);
    await owner.evaluate(() => window.idbsql.deleteDatabase("tabs-reload"));
    await connectAll([owner, reader], "tabs-reload");
    await owner.evaluate(() => window.db.exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);"));
    const reading = reader.evaluate(async () => {
      // A running maximum: calls are fast enough that spreading every duration into
      // Math.max overflows the stack.
      let max = 0;
      let calls = 0;
      const failures = [];
      const until = Date.now() + 2500;
      while (Date.now() < until) {
        const started = performance.now();
        try {
          await window.db.query("SELECT COUNT(*) AS n FROM t");
        } catch (error) {
          failures.push(error.code);
        }
        max = Math.max(max, performance.now() - started);
        calls += 1;
      }
      return { max, calls, failures };
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await owner.reload();
    await owner.waitForFunction(() => window.idbsqlReady === true);
    await connectAll([owner], "tabs-reload");
    const again = await owner.evaluate(async () => (await window.db.query("SELECT COUNT(*) AS n FROM t")).rows[0].n);
    const { max, calls, failures } = await reading;
    assert.equal(again, 1);
    assert.deepEqual(failures, []);
    assert.ok(calls > 10, `${calls} calls`);
    assert.ok(max < 10_000, `the slowest call took ${max} ms`);
  } finally {
    await context.close();
  }
});
