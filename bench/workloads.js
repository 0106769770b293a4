// The benchmark workloads (W1–W5 of the core issue), run inside the page against the real
// package and real IndexedDB, or in Node against its memory or file storage (bench/node.js).
// Each returns raw samples; bench/run.js and bench/node.js take medians and print.
import * as idbsql from "idbsql";

/** Where the workloads' databases go: the package's default storage unless `useTarget` says. */
let defaults = {};

/** Opens every workload's database with `options` (Node: { storage: "file", directory }). */
export function useTarget(options) {
  defaults = options;
}

const connect = (name, options) => idbsql.connect(name, { ...defaults, ...options });
const deleteDatabase = (name) => idbsql.deleteDatabase(name, defaults);
const wasmMemoryBytes = () => idbsql.wasmMemoryBytes();

const KV = "CREATE TABLE kv (id INTEGER PRIMARY KEY, name TEXT, score FLOAT)";

function rowsSql(from, count) {
  const values = [];
  for (let i = from; i < from + count; i += 1) values.push(`(${i}, 'name-${i}', ${(i % 1000) / 10})`);
  return `INSERT INTO kv VALUES ${values.join(",")}`;
}

async function fresh(name, options) {
  if (!options?.storage) await deleteDatabase(name);
  const db = await connect(name, options);
  await db.query(KV);
  return db;
}

/** W1a: one 10,000-row INSERT statement in a transaction, until durable. */
export async function w1Statement() {
  const db = await fresh("bench-w1a");
  const sql = rowsSql(0, 10_000);
  const t0 = performance.now();
  await db.transaction((tx) => tx.query(sql));
  const ms = performance.now() - t0;
  await db.disconnect();
  await deleteDatabase("bench-w1a");
  return ms;
}

/** W1: 10,000 rows in `transaction(fn)` as 20 parameterised 500-row INSERTs (one SQL text,
 * so one parsed statement serves every call), until durable — the issue's W1. */
export async function w1Batched() {
  const db = await fresh("bench-w1");
  const placeholders = [];
  for (let i = 0; i < 500; i += 1) placeholders.push(`($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`);
  const sql = `INSERT INTO kv VALUES ${placeholders.join(", ")}`;
  const batches = [];
  for (let b = 0; b < 20; b += 1) {
    const params = [];
    for (let i = b * 500; i < (b + 1) * 500; i += 1) params.push(i, `name-${i}`, (i % 1000) / 10);
    batches.push(params);
  }
  const t0 = performance.now();
  await db.transaction(async (tx) => {
    for (const params of batches) await tx.query(sql, params);
  });
  const ms = performance.now() - t0;
  await db.disconnect();
  await deleteDatabase("bench-w1");
  return ms;
}

/** W1b: 10,000 single-row parameterised INSERTs in one transaction, until durable. */
export async function w1Params() {
  const db = await fresh("bench-w1b");
  const t0 = performance.now();
  await db.transaction(async (tx) => {
    for (let i = 0; i < 10_000; i += 1) {
      await tx.query("INSERT INTO kv VALUES ($1, $2, $3)", [i, `name-${i}`, (i % 1000) / 10]);
    }
  });
  const ms = performance.now() - t0;
  await db.disconnect();
  await deleteDatabase("bench-w1b");
  return ms;
}

/** W2: mean ms per durable single-row autocommit INSERT, 300 in a row. */
export async function w2(durability) {
  const db = await fresh(`bench-w2-${durability}`);
  await db.disconnect();
  const again = await connect(`bench-w2-${durability}`, { durability });
  const t0 = performance.now();
  for (let i = 0; i < 300; i += 1) {
    await again.query("INSERT INTO kv VALUES ($1, $2, $3)", [i, `name-${i}`, i / 10]);
  }
  const ms = (performance.now() - t0) / 300;
  await again.disconnect();
  return ms;
}

/** Mean µs per `SELECT name FROM kv WHERE id = $1` over 1,000 random ids of 10,000 (the same
 * ids every run), each awaited before the next, after 50 to warm up. */
async function pointQueries(db) {
  let seed = 12345;
  const ids = Array.from({ length: 1000 }, () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % 10_000;
  });
  for (const id of ids.slice(0, 50)) await db.query("SELECT name FROM kv WHERE id = $1", [id]);
  const t0 = performance.now();
  for (const id of ids) {
    const { rows } = await db.query("SELECT name FROM kv WHERE id = $1", [id]);
    if (rows[0].name !== `name-${id}`) throw new Error(`wrong row for ${id}`);
  }
  const us = ((performance.now() - t0) * 1000) / ids.length;
  return us;
}

/** W3: mean µs per point query by primary key, 1,000 random ids over 10,000 rows, each
 * awaited before the next; `storage` "memory", or "indexeddb" (what `connect` gives by default). */
export async function w3(storage = "memory") {
  const db = await fresh(`bench-w3-${storage}`, storage === "memory" ? { storage } : {});
  await db.query(rowsSql(0, 10_000));
  const us = await pointQueries(db);
  await db.disconnect();
  return us;
}

async function load100k(db) {
  await db.transaction(async (tx) => {
    for (let from = 0; from < 100_000; from += 10_000) await tx.query(rowsSql(from, 10_000));
  });
}

/** W4: ms for COUNT(*), SUM(score) over 100,000 rows (5 runs), and the memory high-water mark. */
export async function w4() {
  const memoryBefore = wasmMemoryBytes();
  const db = await fresh("bench-w4", { storage: "memory" });
  await load100k(db);
  const memoryAfter = wasmMemoryBytes();
  const samples = [];
  for (let i = 0; i < 5; i += 1) {
    const t0 = performance.now();
    const { rows } = await db.query("SELECT COUNT(*), SUM(score) FROM kv");
    samples.push(performance.now() - t0);
    if (rows[0]["COUNT(*)"] !== 100_000) throw new Error("wrong count");
  }
  await db.disconnect();
  return { samples, memoryGrowthBytes: memoryAfter - memoryBefore, memoryAfter };
}

/** Prepares W5: a persisted 100,000-row database. */
export async function w5Prepare() {
  const db = await fresh("bench-w5");
  await load100k(db);
  await db.disconnect();
}

/** W5: cold open of the persisted 100,000-row database to the first COUNT(*) result. */
export async function w5Open() {
  const t0 = performance.now();
  const db = await connect("bench-w5");
  const { rows } = await db.query("SELECT COUNT(*) FROM kv");
  const ms = performance.now() - t0;
  if (rows[0]["COUNT(*)"] !== 100_000) throw new Error("wrong count");
  const memoryBytes = wasmMemoryBytes();
  await db.disconnect();
  return { ms, memoryBytes };
}

/** W3 forwarded, part 1 (owner page): a 10,000-row IndexedDB database this page keeps open. */
export async function w3OwnerOpen() {
  const db = await fresh("bench-w3f");
  await db.query(rowsSql(0, 10_000));
  window.w3Owner = db;
}

/** W3 forwarded, part 2 (another page): the same point queries, each forwarded to the owner. */
export async function w3Forwarded() {
  const db = await connect("bench-w3f");
  const us = await pointQueries(db);
  await db.disconnect();
  return us;
}

/** Runs `work` while watching the page's main thread; returns the longest task seen (ms, 0 if
 * none reached the browser's 50 ms long-task threshold) and the work's own duration. */
async function longestTask(work) {
  let longest = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longest = Math.max(longest, entry.duration);
  });
  observer.observe({ type: "longtask", buffered: false });
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  // Long-task entries are delivered after the task ends; let the observer drain.
  await new Promise((resolve) => setTimeout(resolve, 100));
  observer.disconnect();
  return { longestTaskMs: longest, ms };
}

/** W4 with the main thread watched: load 100,000 rows and aggregate them, `worker` or not. */
export async function w4Watched(worker) {
  return longestTask(async () => {
    const db = await connect(`bench-w4w-${worker}`, { storage: "memory", worker });
    await db.query(KV);
    await load100k(db);
    const { rows } = await db.query("SELECT COUNT(*), SUM(score) FROM kv");
    if (rows[0]["COUNT(*)"] !== 100_000) throw new Error("wrong count");
    await db.disconnect();
  });
}

/** W5 with the main thread watched: cold open of the persisted 100,000-row database. */
export async function w5Watched(worker) {
  return longestTask(async () => {
    const db = await connect("bench-w5", { worker });
    const { rows } = await db.query("SELECT COUNT(*) FROM kv");
    if (rows[0]["COUNT(*)"] !== 100_000) throw new Error("wrong count");
    await db.disconnect();
  });
}

const SCALE_TABLE = "CREATE TABLE kv (id INTEGER PRIMARY KEY, name TEXT, score INTEGER)";

/** Scale, part 1: `rows` rows through 10,000-row INSERTs (each its own commit), then 1,100
 * awaited single-row UPDATEs by primary key. Returns the UPDATE times and memory. */
export async function scaleLoadAndUpdate(rows) {
  const name = `bench-scale-${rows}`;
  await deleteDatabase(name);
  const db = await connect(name);
  await db.query(SCALE_TABLE);
  const loadStart = performance.now();
  for (let from = 0; from < rows; from += 10_000) {
    const values = [];
    for (let i = from; i < Math.min(rows, from + 10_000); i += 1) values.push(`(${i}, 'name-${i}', ${i % 1000})`);
    await db.query(`INSERT INTO kv VALUES ${values.join(",")}`);
  }
  const loadMs = performance.now() - loadStart;
  const memoryAfterLoad = wasmMemoryBytes();
  let seed = 42;
  const updates = [];
  // 1,100: past the 1,000 commits after which the log is folded into the checkpoint, so the
  // max shows what a commit waits behind that.
  for (let i = 0; i < 1100; i += 1) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const t0 = performance.now();
    const { rowCount } = await db.query("UPDATE kv SET score = $1 WHERE id = $2", [i, seed % rows]);
    updates.push(performance.now() - t0);
    if (rowCount !== 1) throw new Error("update missed its row");
  }
  await db.disconnect();
  return { loadMs, memoryAfterLoad, updates };
}

/** Scale, part 2 (a fresh page): cold open to the first COUNT(*), and memory then. */
export async function scaleOpen(rows) {
  const t0 = performance.now();
  const db = await connect(`bench-scale-${rows}`);
  const { rows: result } = await db.query("SELECT COUNT(*) AS n FROM kv");
  const ms = performance.now() - t0;
  if (result[0].n !== rows) throw new Error("wrong count");
  const memory = wasmMemoryBytes();
  await db.disconnect();
  await deleteDatabase(`bench-scale-${rows}`);
  return { ms, memory };
}

const JOIN_ROWS = 10_000;

/** Joins, part 1: six 10,000-row tables j0…j5 in memory, each row of j{k} pointing (`p`) at a
 * row of j{k-1}; `v` = id % 10. Kept open on the page for `join`. */
export async function joinPrepare() {
  const db = await connect("bench-joins", { storage: "memory" });
  let seed = 7;
  for (let k = 0; k < 6; k += 1) {
    await db.query(`CREATE TABLE j${k} (id INTEGER PRIMARY KEY, p INTEGER, v INTEGER)`);
    const values = [];
    for (let i = 0; i < JOIN_ROWS; i += 1) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      values.push(`(${i}, ${seed % JOIN_ROWS}, ${i % 10})`);
    }
    await db.query(`INSERT INTO j${k} VALUES ${values.join(",")}`);
  }
  window.joinDb = db;
}

/** A chain over the first `n` tables, written `JOIN … ON` in order or with commas in an order
 * where neighbours share no predicate (issue 25). */
export function joinSql(n, form) {
  const edges = [];
  for (let k = 1; k < n; k += 1) edges.push(`j${k}.p = j${k - 1}.id`);
  if (form === "on") {
    let from = "j0";
    for (let k = 1; k < n; k += 1) from += ` JOIN j${k} ON ${edges[k - 1]}`;
    return `SELECT COUNT(*) AS n FROM ${from} WHERE j0.v = 3`;
  }
  const order = n === 3 ? [2, 0, 1] : [5, 0, 3, 1, 4, 2];
  return `SELECT COUNT(*) AS n FROM ${order.map((k) => `j${k}`).join(", ")} WHERE ${edges.join(" AND ")} AND j0.v = 3`;
}

/** Joins, part 2: ms for one join query (`[n, form]`); both forms must count the same rows. */
export async function join([n, form]) {
  const t0 = performance.now();
  const { rows } = await window.joinDb.query(joinSql(n, form));
  const ms = performance.now() - t0;
  const { rows: expected } = await window.joinDb.query(joinSql(n, "on"));
  if (rows[0].n !== expected[0].n) throw new Error(`join ${n} ${form}: ${rows[0].n} rows, expected ${expected[0].n}`);
  return ms;
}

/** R: one 10,000-row UPDATE in memory, without RETURNING, returning columns, or returning
 * expressions (issue 26: RETURNING costs at most 1.2× the UPDATE). */
let returningDb;
export async function returningPrepare() {
  returningDb = await connect("bench-returning", { storage: "memory" });
  await returningDb.query(KV);
  await returningDb.query(rowsSql(0, 10_000));
}

export async function returning(kind) {
  const tail = {
    none: "",
    select: "",
    columns: " RETURNING id, score",
    expressions: " RETURNING id, score * 2 AS double, upper(name) AS loud",
  }[kind];
  const t0 = performance.now();
  if (kind === "select") {
    // The floor for "columns": the same 10,000 rows read and handed to JS, nothing written.
    const { rows } = await returningDb.query("SELECT id, score FROM kv");
    if (rows.length !== 10_000) throw new Error(`selected ${rows.length} rows`);
    return performance.now() - t0;
  }
  const result = await returningDb.query(`UPDATE kv SET score = score + 1${tail}`);
  const ms = performance.now() - t0;
  if (result.rowCount !== 10_000) throw new Error(`updated ${result.rowCount} rows`);
  return ms;
}

/** WF: window functions over 100,000 rows in memory (issue 27: each ≤ 500 ms). `x` is a
 * scrambled value, so ROW_NUMBER's order is not the table's. */
let windowDb;
export async function windowPrepare() {
  windowDb = await connect("bench-windows", { storage: "memory" });
  await windowDb.query("CREATE TABLE w (id INTEGER PRIMARY KEY, g INTEGER, x INTEGER)");
  for (let from = 0; from < 100_000; from += 10_000) {
    const values = [];
    for (let i = from; i < from + 10_000; i += 1) values.push(`(${i}, ${i % 100}, ${(i * 7919) % 100_003})`);
    await windowDb.query(`INSERT INTO w VALUES ${values.join(",")}`);
  }
}

export async function windowQuery(kind) {
  const sql = {
    rowNumber: "SELECT id, ROW_NUMBER() OVER (PARTITION BY g ORDER BY x) AS rn FROM w",
    runningSum: "SELECT id, SUM(x) OVER (ORDER BY id) AS total FROM w",
  }[kind];
  const t0 = performance.now();
  const { rows } = await windowDb.query(sql);
  const ms = performance.now() - t0;
  if (rows.length !== 100_000) throw new Error(`${kind}: ${rows.length} rows`);
  return ms;
}

// Foreign keys (issue 28): 1,000 parents with 10 children each, no index on the child's
// column; one DELETE of every parent cascades to the 10,000 children. A fresh database each run.
let cascadeRun = 0;
export async function cascadeDelete() {
  cascadeRun += 1;
  const db = await connect(`bench-cascade-${cascadeRun}`);
  await db.exec(
    "CREATE TABLE fk_parent (id INTEGER PRIMARY KEY, name TEXT);" +
      "CREATE TABLE fk_child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES fk_parent (id) ON DELETE CASCADE, note TEXT)",
  );
  const parents = [];
  for (let i = 0; i < 1_000; i += 1) parents.push(`(${i}, 'p${i}')`);
  await db.query(`INSERT INTO fk_parent VALUES ${parents.join(",")}`);
  const children = [];
  for (let i = 0; i < 10_000; i += 1) children.push(`(${i}, ${i % 1_000}, 'c${i}')`);
  await db.query(`INSERT INTO fk_child VALUES ${children.join(",")}`);
  const t0 = performance.now();
  await db.query("DELETE FROM fk_parent");
  const ms = performance.now() - t0;
  const { rows } = await db.query("SELECT COUNT(*) AS n FROM fk_child");
  if (Number(rows[0].n) !== 0) throw new Error(`cascade left ${rows[0].n} children`);
  await db.disconnect();
  await deleteDatabase(`bench-cascade-${cascadeRun}`);
  return ms;
}

// One parent deleted among 1,000 whose 100,000 children reference them (100 each): with an
// index on the child's column the cascade reads that parent's children only.
let cascadeOneRun = 0;
export async function cascadeDeleteOne(indexed) {
  cascadeOneRun += 1;
  const name = `bench-cascade-one-${cascadeOneRun}`;
  const db = await connect(name, { storage: "memory" });
  await db.exec(
    "CREATE TABLE fk_parent (id INTEGER PRIMARY KEY, name TEXT);" +
      "CREATE TABLE fk_child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES fk_parent (id) ON DELETE CASCADE, note TEXT)",
  );
  if (indexed) await db.query("CREATE INDEX fk_child_parent ON fk_child (parent_id)");
  const parents = [];
  for (let i = 0; i < 1_000; i += 1) parents.push(`(${i}, 'p${i}')`);
  await db.query(`INSERT INTO fk_parent VALUES ${parents.join(",")}`);
  for (let from = 0; from < 100_000; from += 10_000) {
    const children = [];
    for (let i = from; i < from + 10_000; i += 1) children.push(`(${i}, ${i % 1_000}, 'c')`);
    await db.query(`INSERT INTO fk_child VALUES ${children.join(",")}`);
  }
  const t0 = performance.now();
  await db.query("DELETE FROM fk_parent WHERE id = 7");
  const ms = performance.now() - t0;
  const { rows } = await db.query("SELECT COUNT(*) AS n FROM fk_child");
  if (Number(rows[0].n) !== 99_900) throw new Error(`cascade left ${rows[0].n} children`);
  await db.disconnect();
  return ms;
}
