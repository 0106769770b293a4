// Node's `storage: "file"`: the records and checkpoint pages IndexedDB keeps, in one append-only
// journal file per database, each commit one checksummed frame (docs/format.md, "File storage"),
// and the lock that lets one process own the database. Never decodes a record; the Rust journal (persist::journal) does.
import fs from "node:fs/promises";
import { constants as fsConstants } from "node:fs";
import path from "node:path";
import { crc32 } from "node:zlib";
import { IdbsqlError } from "./errors.js";

/** The file's first bytes: a magic and the journal format's version. */
export const MAGIC = Buffer.from("IDBSQLJ\n", "latin1");
export const FILE_VERSION = 1;
const HEADER_BYTES = MAGIC.length + 4;

// The operations a frame holds, applied in this order (see docs/format.md).
const OP_CHECKPOINT = 1; // u8 replace: drops the log (and every page when replace)
const OP_PAGE_DELETE = 2; // u64 page id
const OP_PAGE_PUT = 3; // u64 page id, bytes
const OP_LOG = 4; // bytes
const OP_OUTBOX_ADD = 5; // u64 client sequence, bytes
const OP_OUTBOX_REMOVE = 6; // u64 client sequence
const OP_SYNC = 7; // bytes
const OP_CALL = 8; // bytes (the call id, UTF-8), bytes

/** Answers of forwarded calls kept (a Node process has no other tab to retry one; bounded). */
const CALLS_KEPT = 1000;

const formatError = (message) => new IdbsqlError("format", message);

/** Encodes frames' payloads: a growing buffer of operations. */
class Writer {
  #chunks = [];
  #size = 0;

  #push(buffer) {
    this.#chunks.push(buffer);
    this.#size += buffer.length;
  }

  u8(value) {
    this.#push(Buffer.from([value]));
  }

  u64(value) {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64LE(BigInt(value));
    this.#push(buffer);
  }

  bytes(value) {
    const length = Buffer.alloc(4);
    length.writeUInt32LE(value.length);
    this.#push(length);
    this.#push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }

  get empty() {
    return this.#size === 0;
  }

  /** The frame: payload length, its CRC-32, the payload. */
  frame() {
    const payload = Buffer.concat(this.#chunks, this.#size);
    const head = Buffer.alloc(8);
    head.writeUInt32LE(payload.length, 0);
    head.writeUInt32LE(crc32(payload), 4);
    return Buffer.concat([head, payload]);
  }
}

/** Reads one payload's operations. */
class Reader {
  #at = 0;
  constructor(buffer) {
    this.buffer = buffer;
  }

  get done() {
    return this.#at >= this.buffer.length;
  }

  #need(n) {
    if (this.#at + n > this.buffer.length) throw formatError("a journal frame ends inside an operation");
  }

  u8() {
    this.#need(1);
    return this.buffer[this.#at++];
  }

  u64() {
    this.#need(8);
    const value = this.buffer.readBigUInt64LE(this.#at);
    this.#at += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw formatError("a journal number is out of range");
    return Number(value);
  }

  bytes() {
    this.#need(4);
    const length = this.buffer.readUInt32LE(this.#at);
    this.#at += 4;
    this.#need(length);
    const value = new Uint8Array(this.buffer.subarray(this.#at, this.#at + length));
    this.#at += length;
    return value;
  }
}

/** A batch (see persist::js) as one frame. */
export function encodeBatch(batch) {
  const w = new Writer();
  if (batch.checkpoint) {
    w.u8(OP_CHECKPOINT);
    w.u8(batch.checkpoint.replace ? 1 : 0);
    for (const id of batch.checkpoint.delete ?? []) {
      w.u8(OP_PAGE_DELETE);
      w.u64(id);
    }
    for (const [id, bytes] of batch.checkpoint.put ?? []) {
      w.u8(OP_PAGE_PUT);
      w.u64(id);
      w.bytes(bytes);
    }
  }
  for (const record of batch.log ?? []) {
    w.u8(OP_LOG);
    w.bytes(record);
  }
  for (const [seq, bytes] of batch.outboxAdd ?? []) {
    w.u8(OP_OUTBOX_ADD);
    w.u64(seq);
    w.bytes(bytes);
  }
  for (const seq of batch.outboxRemove ?? []) {
    w.u8(OP_OUTBOX_REMOVE);
    w.u64(seq);
  }
  if (batch.sync) {
    w.u8(OP_SYNC);
    w.bytes(batch.sync);
  }
  if (batch.call) {
    w.u8(OP_CALL);
    w.bytes(new TextEncoder().encode(batch.call[0]));
    w.bytes(batch.call[1]);
  }
  return w.empty ? null : w.frame();
}

/** What the journal holds once its frames are applied. */
export class JournalState {
  pages = new Map();
  log = [];
  outbox = new Map();
  sync = null;
  calls = new Map();

  /** Applies one frame's payload. */
  apply(payload) {
    const r = new Reader(payload);
    while (!r.done) {
      const op = r.u8();
      switch (op) {
        case OP_CHECKPOINT:
          if (r.u8() === 1) this.pages.clear();
          this.log = [];
          break;
        case OP_PAGE_DELETE:
          this.pages.delete(r.u64());
          break;
        case OP_PAGE_PUT: {
          const id = r.u64();
          this.pages.set(id, r.bytes());
          break;
        }
        case OP_LOG:
          this.log.push(r.bytes());
          break;
        case OP_OUTBOX_ADD: {
          const seq = r.u64();
          this.outbox.set(seq, r.bytes());
          break;
        }
        case OP_OUTBOX_REMOVE:
          this.outbox.delete(r.u64());
          break;
        case OP_SYNC:
          this.sync = r.bytes();
          break;
        case OP_CALL: {
          const id = new TextDecoder().decode(r.bytes());
          this.calls.set(id, r.bytes());
          if (this.calls.size > CALLS_KEPT) this.calls.delete(this.calls.keys().next().value);
          break;
        }
        default:
          throw formatError(`a journal frame holds an unknown operation ${op} (written by a newer idbsql?)`);
      }
    }
  }

  /** Bytes a rewrite of the journal would hold. */
  liveBytes() {
    let total = 0;
    for (const page of this.pages.values()) total += page.length + 13;
    for (const record of this.log) total += record.length + 5;
    for (const entry of this.outbox.values()) total += entry.length + 13;
    return total + (this.sync?.length ?? 0);
  }

  /** Everything as one frame: a replacing checkpoint, then the rest (a compaction). */
  snapshot() {
    return encodeBatch({
      checkpoint: { replace: true, put: [...this.pages].sort((a, b) => a[0] - b[0]), delete: [] },
      log: this.log,
      outboxAdd: [...this.outbox],
      sync: this.sync,
    });
  }
}

/**
 * Reads a journal: its state and where its last whole frame ends. A frame cut short or failing
 * its checksum at the end is a write a crash interrupted (never acknowledged): dropped. One
 * failing inside the file is corruption: `format`.
 */
export function readJournal(bytes) {
  const state = new JournalState();
  // Empty, or a header a crash cut short while creating the file: a new database.
  if (bytes.length < HEADER_BYTES && header().subarray(0, bytes.length).equals(bytes)) return { state, end: 0 };
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw formatError("the file is not an idbsql journal");
  }
  const version = bytes.readUInt32LE(MAGIC.length);
  if (version > FILE_VERSION) {
    throw formatError(`the journal was written by a newer idbsql (file format ${version}; this one reads up to ${FILE_VERSION})`);
  }
  let at = HEADER_BYTES;
  while (at < bytes.length) {
    if (at + 8 > bytes.length) break;
    const length = bytes.readUInt32LE(at);
    const end = at + 8 + length;
    if (end > bytes.length) break;
    const payload = bytes.subarray(at + 8, end);
    if (crc32(payload) !== bytes.readUInt32LE(at + 4)) {
      if (end === bytes.length) break;
      throw formatError(`the journal is corrupt at byte ${at} (a frame fails its checksum)`);
    }
    state.apply(payload);
    at = end;
  }
  return { state, end: at };
}

function header() {
  const version = Buffer.alloc(4);
  version.writeUInt32LE(FILE_VERSION);
  return Buffer.concat([MAGIC, version]);
}

/** Whether process `pid` still runs (a lock it left is stale once it does not). */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

/** Takes `lockPath` for this process, or throws `locked` naming the owner. */
async function takeLock(lockPath) {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const handle = await fs.open(lockPath, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return;
    } catch (error) {
      if (error.code !== "EEXIST") throw new IdbsqlError("storage", `cannot create the lock file ${lockPath}: ${error.message}`);
    }
    const owner = Number.parseInt(await fs.readFile(lockPath, "utf8").catch(() => ""), 10);
    if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
      throw new IdbsqlError(
        "locked",
        `the database at ${path.dirname(lockPath)} is open in process ${owner}${owner === process.pid ? " (this one)" : ""}; one process owns it at a time`,
      );
    }
    // Left by a process that is gone (killed, crashed): not an owner.
    await fs.rm(lockPath, { force: true });
  }
  throw new IdbsqlError("locked", `the lock ${lockPath} keeps changing hands`);
}

/** One database's files: `journal` and `lock` in its own directory. */
export class FileStore {
  #dir;
  #journalPath;
  #lockPath;
  #handle = null;
  #state = null;
  #size = 0;
  #strict;
  #closed = false;
  #writing = Promise.resolve();

  constructor(dir, { durability }) {
    this.#dir = dir;
    this.#journalPath = path.join(dir, "journal");
    this.#lockPath = path.join(dir, "lock");
    this.#strict = durability === "strict";
  }

  /** Creates the directory if needed and takes the lock. */
  static async open(dir, options) {
    try {
      await fs.mkdir(dir, { recursive: true });
    } catch (error) {
      throw new IdbsqlError("storage", `cannot create ${dir}: ${error.message}`);
    }
    const store = new FileStore(dir, options);
    await takeLock(store.#lockPath);
    return store;
  }

  /** What the journal loads (persist::js): pages in id order, the log, outbox and sync state. */
  async load() {
    let bytes;
    try {
      bytes = await fs.readFile(this.#journalPath);
    } catch (error) {
      if (error.code !== "ENOENT") throw new IdbsqlError("storage", `cannot read ${this.#journalPath}: ${error.message}`);
      bytes = Buffer.alloc(0);
    }
    const { state, end } = readJournal(bytes);
    this.#state = state;
    this.#handle = await fs.open(this.#journalPath, fsConstants.O_RDWR | fsConstants.O_CREAT);
    if (end === 0) {
      await this.#handle.truncate(0);
      await this.#handle.write(header(), 0, HEADER_BYTES, 0);
      this.#size = HEADER_BYTES;
      await this.#sync();
    } else {
      // A torn last frame goes, so the next commit follows the last whole one.
      if (end < bytes.length) await this.#handle.truncate(end);
      this.#size = end;
    }
    return {
      pages: [...state.pages].sort((a, b) => a[0] - b[0]),
      log: state.log,
      outbox: [...state.outbox].sort((a, b) => a[0] - b[0]),
      sync: state.sync,
    };
  }

  /** Appends `batch` as one frame; resolves once the OS has it (and the disk, when strict). */
  commit(batch) {
    const run = this.#writing.then(() => this.#commit(batch));
    this.#writing = run.catch(() => {});
    return run;
  }

  async #commit(batch) {
    if (this.#closed || !this.#handle) throw new IdbsqlError("closed", "the file store is closed");
    const frame = encodeBatch(batch);
    if (!frame) return;
    try {
      await this.#handle.write(frame, 0, frame.length, this.#size);
      await this.#sync();
    } catch (error) {
      // Cut back what may have landed: the journal reverts memory, the file follows it.
      await this.#handle.truncate(this.#size).catch(() => {});
      throw new IdbsqlError("storage", `cannot write ${this.#journalPath}: ${error.message}`);
    }
    this.#size += frame.length;
    this.#state.apply(frame.subarray(8));
    // Rewritten whole once most of it is history: a write costs what it adds, amortised.
    if (batch.checkpoint && this.#size > 2 * this.#state.liveBytes() + (1 << 20)) await this.#compact();
  }

  async #sync() {
    if (this.#strict) await this.#handle.datasync();
  }

  /** Writes the live state to a new file and renames it over the journal (atomic). */
  async #compact() {
    const temporary = `${this.#journalPath}.new`;
    const snapshot = this.#state.snapshot();
    const bytes = snapshot ? Buffer.concat([header(), snapshot]) : header();
    const handle = await fs.open(temporary, "w");
    try {
      await handle.writeFile(bytes);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await fs.rename(temporary, this.#journalPath);
    await this.#handle.close();
    this.#handle = await fs.open(this.#journalPath, fsConstants.O_RDWR);
    this.#size = bytes.length;
  }

  async callResult(id) {
    return this.#state?.calls.get(id) ?? null;
  }

  /** Lets go of the file and the lock (after the writes in flight). */
  close() {
    if (this.#closed) return this.#writing;
    this.#closed = true;
    this.#writing = this.#writing.then(async () => {
      await this.#handle?.close().catch(() => {});
      this.#handle = null;
      await fs.rm(this.#lockPath, { force: true });
    });
    return this.#writing;
  }

  /** Bytes the journal file holds (tests and the bench read it). */
  get size() {
    return this.#size;
  }
}

/** Deletes the database in `dir`, refused with `locked` while a process holds it. */
export async function deleteFileDatabase(dir) {
  // Nothing there: nothing to delete (as IndexedDB's deleteDatabase of an unknown name).
  if (!(await fs.stat(dir).then((st) => st.isDirectory(), () => false))) return;
  const lockPath = path.join(dir, "lock");
  await takeLock(lockPath);
  await fs.rm(path.join(dir, "journal"), { force: true });
  await fs.rm(path.join(dir, "journal.new"), { force: true });
  await fs.rm(lockPath, { force: true });
  await fs.rmdir(dir).catch(() => {});
}
