// idbsql in Node, through the package's "node" entry (dist/node.js): memory and file storage,
// one process per database (a lock a killed process left does not block), every acknowledged
// commit kept across SIGKILL, checkpoints and compaction, a torn or corrupt journal, and sync
// with the real idbsql-server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ENTRY = path.join(ROOT, "dist/node.js");
const { connect, deleteDatabase, IdbsqlError } = await import(ENTRY);

const tempDir = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** Runs `source` (an ES module importing idbsql from ENTRY) in a child Node process. */
function child(source, { args = [] } = {}) {
  return spawn(process.execPath, [...args, "--input-type=module", "-e", source.replaceAll("IDBSQL", JSON.stringify(ENTRY))], {
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function runChild(source, options) {
  const proc = child(source, options);
  let out = "";
  let err = "";
  proc.stdout.on("data", (c) => (out += c));
  proc.stderr.on("data", (c) => (err += c));
  return new Promise((resolve, reject) =>
    proc.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`)))),
  );
}

test("memory storage: private to its connection, gone when it closes", async () => {
  const a = await connect("mem");
  const b = await connect("mem", { storage: "memory" });
  await a.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a')");
  assert.deepEqual((await a.query("SELECT v FROM t")).rows, [{ v: "a" }]);
  await assert.rejects(b.query("SELECT v FROM t"), (e) => e instanceof IdbsqlError && e.code === "execute");
  await a.disconnect();
  await b.disconnect();
  await assert.rejects(a.query("SELECT 1"), (e) => e.code === "closed");
});

test("options a Node database cannot take are refused, naming them", async () => {
  await assert.rejects(connect("x", { storage: "indexeddb" }), (e) => e.code === "params" && /"memory" or "file"/.test(e.message));
  await assert.rejects(connect("x", { storage: "file" }), (e) => e.code === "params" && /directory/.test(e.message));
  await assert.rejects(connect("x", { worker: true }), (e) => e.code === "unsupported");
});

test("file storage persists across processes; connections of one process share it", async () => {
  const directory = tempDir("idbsql-node-");
  try {
    const writer = `
      const { connect } = await import(IDBSQL);
      const db = await connect("notes", { storage: "file", directory: ${JSON.stringify(directory)} });
      await db.exec("CREATE TABLE IF NOT EXISTS note (id INTEGER PRIMARY KEY, body TEXT, d DECIMAL)");
      await db.query("INSERT INTO note (body, d) VALUES ($1, $2)", ["from a child", "0.00"]);
      await db.disconnect();`;
    await runChild(writer);
    await runChild(writer);
    const db = await connect("notes", { storage: "file", directory });
    const again = await connect("notes", { storage: "file", directory });
    assert.deepEqual((await again.query("SELECT id, body, d FROM note ORDER BY id")).rows, [
      { id: 1, body: "from a child", d: "0.00" },
      { id: 2, body: "from a child", d: "0.00" },
    ]);
    // One database: a write through one connection is read through the other, and heard.
    const heard = [];
    const off = again.on("change", (event) => heard.push(event.tables));
    await db.query("INSERT INTO note (body) VALUES ('here')");
    assert.equal((await again.query("SELECT COUNT(*) AS n FROM note")).rows[0].n, 3);
    assert.deepEqual(heard, [["note"]]);
    off();
    // Another process is refused while this one holds it.
    await assert.rejects(runChild(writer), /locked/);
    await assert.rejects(deleteDatabase("notes", { directory }), (e) => e.code === "locked");
    await db.disconnect();
    await again.disconnect();
    await deleteDatabase("notes", { directory });
    const fresh = await connect("notes", { storage: "file", directory });
    await assert.rejects(fresh.query("SELECT * FROM note"), (e) => e.code === "execute");
    await fresh.disconnect();
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
});

test("every acknowledged commit survives SIGKILL, and the killed process's lock does not block", async () => {
  const directory = tempDir("idbsql-kill-");
  try {
    // Commits one row at a time, printing each id once its commit resolved.
    const proc = child(`
      const { connect } = await import(IDBSQL);
      const db = await connect("burst", { storage: "file", directory: ${JSON.stringify(directory)} });
      await db.exec("CREATE TABLE n (id INTEGER PRIMARY KEY, pad TEXT)");
      for (let i = 1; ; i += 1) {
        await db.query("INSERT INTO n VALUES ($1, $2)", [i, "x".repeat(i % 200)]);
        process.stdout.write(i + "\\n");
      }`);
    let acknowledged = 0;
    let buffered = "";
    await new Promise((resolve, reject) => {
      proc.stdout.on("data", (chunk) => {
        buffered += chunk;
        const lines = buffered.split("\n");
        buffered = lines.pop();
        for (const line of lines) acknowledged = Math.max(acknowledged, Number(line));
        // Past several checkpoints (1,000 log records each), then killed mid-burst.
        if (acknowledged >= 2_600) {
          proc.kill("SIGKILL");
          resolve();
        }
      });
      proc.on("exit", (code, signal) => signal !== "SIGKILL" && reject(new Error(`the writer exited ${code}`)));
    });
    await new Promise((resolve) => proc.once("exit", resolve));
    assert.ok(fs.existsSync(path.join(directory, "burst", "lock")), "the killed process left its lock");
    const db = await connect("burst", { storage: "file", directory });
    const { rows } = await db.query("SELECT COUNT(*) AS n, MIN(id) AS lo, MAX(id) AS hi FROM n");
    const [{ n, lo, hi }] = rows;
    assert.equal(lo, 1);
    assert.equal(n, hi, "no gap");
    assert.ok(hi >= acknowledged, `${hi} rows kept, ${acknowledged} acknowledged`);
    await db.disconnect();
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
});

test("the journal folds checkpoints and is rewritten once most of it is history", async () => {
  const directory = tempDir("idbsql-fold-");
  try {
    const db = await connect("fold", { storage: "file", directory });
    await db.exec("CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT)");
    for (let i = 0; i < 30; i += 1) {
      await db.query("INSERT INTO kv VALUES ($1, $2)", [i, "first"]);
    }
    // The same 30 rows updated many times: the journal would grow without bound.
    for (let round = 0; round < 120; round += 1) {
      await db.exec(`UPDATE kv SET v = '${"r".repeat(2000)}${round}' WHERE id = ${round % 30}`);
    }
    // ~5 KB a commit, 19 MB in all: checkpoints every 1,000 commits, and the rewrite keeps the
    // file near what is live (30 rows) plus the log since the last checkpoint.
    let written = 0;
    for (let i = 0; i < 4_000; i += 1) {
      const v = `v${i}`.repeat(1000);
      written += v.length;
      await db.query("UPDATE kv SET v = $1 WHERE id = $2", [v, i % 30]);
    }
    await db.disconnect();
    const size = fs.statSync(path.join(directory, "fold", "journal")).size;
    assert.ok(written > 15e6 && size < 8 << 20, `journal of 30 rows is ${size} bytes after ${written} written`);
    const reopened = await connect("fold", { storage: "file", directory });
    const rows = (await reopened.query("SELECT id, v FROM kv ORDER BY id")).rows;
    assert.equal(rows.length, 30);
    assert.equal(rows[29].v, "v3989".repeat(1000));
    await reopened.disconnect();
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
});

test("a torn last frame is dropped; a corrupt frame inside the journal is a format error", async () => {
  const directory = tempDir("idbsql-torn-");
  try {
    const db = await connect("torn", { storage: "file", directory });
    await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    for (let i = 1; i <= 3; i += 1) await db.query("INSERT INTO t VALUES ($1)", [i]);
    await db.disconnect();
    const journal = path.join(directory, "torn", "journal");
    const whole = fs.readFileSync(journal);
    // A crash mid-append: part of a fourth frame.
    fs.appendFileSync(journal, Buffer.from([40, 0, 0, 0, 1, 2, 3, 4, 5, 6]));
    let again = await connect("torn", { storage: "file", directory });
    assert.equal((await again.query("SELECT COUNT(*) AS n FROM t")).rows[0].n, 3);
    await again.query("INSERT INTO t VALUES (4)");
    await again.disconnect();
    again = await connect("torn", { storage: "file", directory });
    assert.equal((await again.query("SELECT COUNT(*) AS n FROM t")).rows[0].n, 4);
    await again.disconnect();
    // A flipped byte inside an earlier frame: refused, not read past.
    const bytes = fs.readFileSync(journal);
    bytes[whole.length - 3] ^= 0xff;
    fs.writeFileSync(journal, bytes);
    await assert.rejects(connect("torn", { storage: "file", directory }), (e) => e.code === "format");
    // Not a journal at all.
    fs.writeFileSync(journal, "hello, not a database");
    await assert.rejects(connect("torn", { storage: "file", directory }), (e) => e.code === "format");
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
});

test("the journal's frames are pinned byte for byte (docs/format.md, File storage)", async () => {
  const { encodeBatch, MAGIC, FILE_VERSION } = await import(path.join(ROOT, "js/file_store.js"));
  assert.equal(MAGIC.toString("latin1"), "IDBSQLJ\n");
  assert.equal(FILE_VERSION, 1);
  const frame = encodeBatch({
    checkpoint: { replace: true, put: [[0, Uint8Array.of(9, 8)]], delete: [5] },
    log: [Uint8Array.of(1, 2, 3)],
    outboxAdd: [[7, Uint8Array.of(4)]],
    outboxRemove: [6],
    sync: Uint8Array.of(0xaa),
    call: ["c1", Uint8Array.of(0xbb)],
  });
  // length 75, CRC-32 0x90958262, then: checkpoint(replace) · delete page 5 · put page 0 [9 8] ·
  // log [1 2 3] · outbox add 7 [4] · outbox remove 6 · sync [aa] · call "c1" [bb].
  assert.equal(
    frame.toString("hex"),
    "4b000000" + "62829590" +
      "01" + "01" +
      "02" + "0500000000000000" +
      "03" + "0000000000000000" + "02000000" + "0908" +
      "04" + "03000000" + "010203" +
      "05" + "0700000000000000" + "01000000" + "04" +
      "06" + "0600000000000000" +
      "07" + "01000000" + "aa" +
      "08" + "02000000" + "6331" + "01000000" + "bb",
  );
});

test("sync from Node: two processes' databases meet through idbsql-server", async () => {
  const { startSyncServer } = await import(path.join(ROOT, "scripts/sync-server.js"));
  const dataDir = tempDir("idbsql-node-sync-");
  const server = await startSyncServer({ dataDir });
  try {
    const sync = `{ url: ${JSON.stringify(server.url)} }`;
    // A writes from a file database (its outbox and sync state in the journal) and leaves.
    const writer = `
      const { connect } = await import(IDBSQL);
      const db = await connect("shared", { storage: "file", directory: ${JSON.stringify(dataDir)}, sync: ${sync} });
      await db.exec("CREATE TABLE msg (id INTEGER PRIMARY KEY, body TEXT)");
      await db.query("INSERT INTO msg VALUES (1, 'from node')");
      await db.sync.flush();
      console.log(db.sync.pending);
      await db.disconnect();`;
    // B, a memory database in another process, receives it.
    const reader = `
      const { connect } = await import(IDBSQL);
      const db = await connect("shared", { sync: ${sync} });
      const deadline = Date.now() + 15000;
      let rows = null;
      while (Date.now() < deadline) {
        rows = await db.query("SELECT id, body FROM msg").then((r) => r.rows, () => null);
        if (rows?.length) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      console.log(JSON.stringify(rows));
      await db.disconnect();`;
    const flags = process.versions.node.split(".")[0] < 22 ? ["--experimental-websocket"] : [];
    assert.equal((await runChild(writer, { args: flags })).trim(), "0", "nothing left unsent");
    const seen = await runChild(reader, { args: flags });
    assert.deepEqual(JSON.parse(seen.trim()), [{ id: 1, body: "from node" }]);
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
