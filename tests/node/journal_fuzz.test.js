// The Node journal (js/file_store.js) against a reference model, as redb fuzzes against a
// BTreeMap: seeded random batches (log records, checkpoint folds that replace or edit pages,
// outbox entries, sync state) committed through FileStore, then the file cut at random points —
// a crash mid-write — and read back: exactly the commits whose frames were whole, in order.
// 10,000 crash points over 100 seeds; the file is also reopened whole after rewrites.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { FileStore, readJournal } = await import(path.join(ROOT, "js/file_store.js"));

/** A small deterministic generator (xorshift), so a failing seed replays. */
function rng(seed) {
  let x = seed * 2654435761 + 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

const bytes = (next, max) => Uint8Array.from({ length: next(max) }, () => next(256));

/** What a reader should find: the model, applied batch by batch (written apart from the store). */
class Model {
  pages = new Map();
  log = [];
  outbox = new Map();
  sync = null;

  apply(batch) {
    if (batch.checkpoint) {
      if (batch.checkpoint.replace) this.pages.clear();
      for (const id of batch.checkpoint.delete) this.pages.delete(id);
      for (const [id, b] of batch.checkpoint.put) this.pages.set(id, b);
      this.log = [];
    }
    this.log.push(...batch.log);
    for (const [seq, b] of batch.outboxAdd) this.outbox.set(seq, b);
    for (const seq of batch.outboxRemove) this.outbox.delete(seq);
    if (batch.sync) this.sync = batch.sync;
  }

  clone() {
    const copy = new Model();
    copy.pages = new Map(this.pages);
    copy.log = [...this.log];
    copy.outbox = new Map(this.outbox);
    copy.sync = this.sync;
    return copy;
  }
}

function randomBatch(next, model) {
  const batch = { log: [], outboxAdd: [], outboxRemove: [] };
  const kind = next(10);
  if (kind === 0) {
    const ids = [...model.pages.keys()];
    batch.checkpoint = {
      replace: next(4) === 0,
      delete: ids.filter(() => next(4) === 0),
      put: Array.from({ length: next(4) }, () => [next(12), bytes(next, 300)]),
    };
  }
  for (let i = next(3); i > 0; i -= 1) batch.log.push(bytes(next, 200));
  if (next(3) === 0) batch.outboxAdd.push([next(20), bytes(next, 50)]);
  if (next(4) === 0) batch.outboxRemove.push(next(20));
  if (next(5) === 0) batch.sync = bytes(next, 20);
  return batch;
}

function assertSame(state, model, what) {
  const sorted = (map) => [...map].sort((a, b) => a[0] - b[0]).map(([k, v]) => [k, [...v]]);
  assert.deepEqual(sorted(state.pages), sorted(model.pages), `${what}: pages`);
  assert.deepEqual(state.log.map((b) => [...b]), model.log.map((b) => [...b]), `${what}: log`);
  assert.deepEqual(sorted(state.outbox), sorted(model.outbox), `${what}: outbox`);
  assert.deepEqual(state.sync ? [...state.sync] : null, model.sync ? [...model.sync] : null, `${what}: sync`);
}

test("a journal cut anywhere reads back as exactly the commits whose frames were whole", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "idbsql-journal-fuzz-"));
  let cases = 0;
  try {
    for (let seed = 1; seed <= 100; seed += 1) {
      const next = rng(seed);
      const store = await FileStore.open(path.join(dir, String(seed)), { durability: "relaxed" });
      await store.load();
      const model = new Model();
      // After each commit: the file's size and the model as acknowledged.
      const acknowledged = [{ size: store.size, model: model.clone() }];
      for (let commit = 0; commit < 40; commit += 1) {
        const batch = randomBatch(next, model);
        await store.commit(batch);
        model.apply(batch);
        acknowledged.push({ size: store.size, model: model.clone() });
      }
      await store.close();
      const file = fs.readFileSync(path.join(dir, String(seed), "journal"));
      // Small batches: never rewritten, so every acknowledged size is a frame's end in this file.
      assert.equal(file.length, acknowledged.at(-1).size, `seed ${seed}: the file is every frame appended`);
      assertSame(readJournal(file).state, model, `seed ${seed}, whole file`);
      for (let cut = 0; cut < 100; cut += 1) {
        const at = next(file.length + 1);
        const { state, end } = readJournal(file.subarray(0, at));
        // A cut inside the header reads as a new, empty journal.
        const last = acknowledged.filter((a) => a.size <= at).at(-1) ?? { size: 0, model: new Model() };
        assert.equal(end, last.size, `seed ${seed}, cut at ${at}: read up to the last whole frame`);
        assertSame(state, last.model, `seed ${seed}, cut at ${at}`);
        cases += 1;
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(cases, 10_000);
});

test("a journal rewritten by compaction reopens as the model, and goes on from there", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "idbsql-journal-compact-"));
  try {
    const next = rng(7);
    const model = new Model();
    let store = await FileStore.open(dir, { durability: "strict" });
    await store.load();
    let written = 0;
    let shrank = false;
    for (let round = 0; round < 600; round += 1) {
      // Folds that replace every page with a 400 KB one: most of the file soon is history.
      const batch =
        round % 50 === 49
          ? { checkpoint: { replace: true, delete: [], put: [[0, new Uint8Array(400_000).fill(round % 256)]] }, log: [], outboxAdd: [], outboxRemove: [] }
          : randomBatch(next, model);
      const before = store.size;
      await store.commit(batch);
      shrank ||= store.size < before;
      written += store.size > before ? store.size - before : 0;
      model.apply(batch);
      if (round % 150 === 149) {
        await store.close();
        store = await FileStore.open(dir, { durability: "strict" });
        await store.load();
      }
    }
    await store.close();
    const file = fs.readFileSync(path.join(dir, "journal"));
    assertSame(readJournal(file).state, model, "after rewrites");
    assert.ok(shrank, "a fold rewrote the journal smaller");
    assert.ok(written > 4_000_000 && file.length < 2_000_000, `the journal stays near its live size (${file.length} bytes of ${written} written)`);
    assert.equal(fs.existsSync(path.join(dir, "lock")), false, "close lets go of the lock");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
