// The public JS API of idbsql: connect / query / exec / transaction / disconnect, errors with
// codes, one call at a time per connection, and the Web Lock that keeps two connections apart.
import init, {
  RawDatabase,
  deleteDatabase as deleteRawDatabase,
  setPanicHandler,
} from "../pkg/idbsql.js";
import { SyncController } from "./sync.js";

let wasmReady;
let wasmExports;

/** Loads and instantiates the WebAssembly module once per page. */
function loadWasm() {
  wasmReady ??= init({ module_or_path: new URL("../pkg/idbsql_bg.wasm", import.meta.url) }).then(
    (exports) => {
      wasmExports = exports;
      setPanicHandler(onPanic);
    },
  );
  return wasmReady;
}

/**
 * Set once a Rust panic aborted the WebAssembly module: its memory can no longer be trusted,
 * so every call on every connection of this page fails with `internal` from then on. What was
 * committed before is on disk; a reload and a new `connect` find it.
 */
let brokenBy = null;
let onBroken = [];

function onPanic(message) {
  brokenBy ??= String(message);
  for (const reject of onBroken.splice(0)) reject(internalError());
}

function internalError() {
  return new IdbsqlError(
    "internal",
    `idbsql stopped after an internal error (${brokenBy}); reload the page and connect again — every commit acknowledged before it is kept`,
  );
}

/** An error from idbsql; `code` says what kind (see the README). */
export class IdbsqlError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {ErrorOptions} [options]
   */
  constructor(code, message, options) {
    super(message, options);
    this.name = "IdbsqlError";
    this.code = code;
  }
}

function toIdbsqlError(error) {
  if (error instanceof IdbsqlError) return error;
  const code = typeof error?.code === "string" ? error.code : "execute";
  return new IdbsqlError(code, error?.message ?? String(error), { cause: error });
}

/** Awaits a call into the module; a panic during it rejects it with `internal`. */
async function call(start) {
  if (brokenBy !== null) throw internalError();
  let cancel;
  const broken = new Promise((_, reject) => {
    cancel = () => {
      onBroken = onBroken.filter((r) => r !== reject);
    };
    onBroken.push(reject);
  });
  try {
    return await Promise.race([start(), broken]);
  } catch (error) {
    if (brokenBy !== null) throw internalError();
    throw toIdbsqlError(error);
  } finally {
    cancel();
  }
}

const closedError = () => new IdbsqlError("closed", "the database connection is closed");

function checkSql(sql) {
  if (typeof sql !== "string") throw new IdbsqlError("params", "SQL must be a string");
}

function checkParams(params) {
  if (params !== undefined && !Array.isArray(params)) {
    throw new IdbsqlError("params", "parameters must be an array");
  }
}

/** `{ rowMode }` of `query`: true for rows as arrays. */
function arrayRows(options) {
  if (options === undefined || options === null) return false;
  if (typeof options !== "object") throw new IdbsqlError("params", "query options must be an object");
  const { rowMode = "object" } = options;
  if (rowMode !== "object" && rowMode !== "array") {
    throw new IdbsqlError("params", `rowMode must be "object" or "array", not ${JSON.stringify(rowMode)}`);
  }
  return rowMode === "array";
}

/**
 * Holds the database's Web Lock until released, so a second connection (this tab or another)
 * is refused instead of silently diverging.
 */
function acquireLock(name) {
  const locks = globalThis.navigator?.locks;
  if (!locks) {
    // Without Web Locks two tabs would write the same log positions: refuse rather than
    // corrupt. Plain-http origins and old browsers lack them; memory storage needs none.
    return Promise.reject(
      new IdbsqlError(
        "unsupported",
        "this browser context has no Web Locks (navigator.locks: it needs https or localhost and a current browser), which persistent storage needs to keep two tabs from overwriting each other; use storage: \"memory\" or serve the page over https",
      ),
    );
  }
  return new Promise((resolve, reject) => {
    locks
      .request(`idbsql:${name}`, { ifAvailable: true }, (lock) => {
        if (!lock) {
          reject(
            new IdbsqlError(
              "locked",
              `database "${name}" is already open in another connection (this tab or another); disconnect it first`,
            ),
          );
          return undefined;
        }
        return new Promise((release) => resolve(release));
      })
      .catch(reject);
  });
}

/** A transaction handle passed to `db.transaction(fn)`; valid only while `fn` runs. */
class Transaction {
  #raw;
  #done = false;

  constructor(raw) {
    this.#raw = raw;
  }

  #check() {
    if (this.#done) throw new IdbsqlError("closed", "this transaction has finished");
  }

  /**
   * @param {string} sql
   * @param {unknown[]} [params]
   * @param {{ rowMode?: "object" | "array" }} [options]
   */
  async query(sql, params = [], options) {
    this.#check();
    checkSql(sql);
    checkParams(params);
    const arrays = arrayRows(options);
    return call(() => this.#raw.query(sql, params, arrays));
  }

  /** @param {string} sql */
  async exec(sql) {
    this.#check();
    checkSql(sql);
    return call(() => this.#raw.exec(sql));
  }

  finish() {
    this.#done = true;
  }
}

/** A connection to one database. Calls run one at a time, in the order they were made. */
export class Database {
  #raw;
  #queue = Promise.resolve();
  #closing = false;
  #releaseLock;

  constructor(name, raw, releaseLock, syncOptions) {
    /** The database's name. */
    this.name = name;
    this.#raw = raw;
    this.#releaseLock = releaseLock;
    /** Sync with idbsql-server (`null` unless `connect` got a `sync` option). */
    this.sync = syncOptions
      ? new SyncController({
          raw,
          enqueue: (task) => this.#enqueueInternal(() => call(task)),
          database: name,
          url: syncOptions.url,
          token: syncOptions.token,
        })
      : null;
  }

  /** Whether `disconnect()` has been called. */
  get closed() {
    return this.#closing;
  }

  #enqueue(task) {
    if (this.#closing) return Promise.reject(closedError());
    return this.#enqueueInternal(task);
  }

  #enqueueInternal(task) {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Runs a call that may commit; a synced database then pushes what it committed. */
  #write(task) {
    const result = this.#enqueue(task);
    if (this.sync) {
      result.finally(() => this.sync?.afterLocalWrite().catch(() => {})).catch(() => {});
    }
    return result;
  }

  /**
   * Runs exactly one SQL statement with `$1`, `$2`, … parameters. Rows are objects keyed by
   * column name, or arrays in column order with `{ rowMode: "array" }` (duplicate names kept).
   * @param {string} sql
   * @param {unknown[]} [params]
   * @param {{ rowMode?: "object" | "array" }} [options]
   */
  query(sql, params = [], options) {
    let arrays;
    try {
      checkSql(sql);
      checkParams(params);
      arrays = arrayRows(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#write(() => call(() => this.#raw.query(sql, params, arrays)));
  }

  /**
   * Runs every statement in `sql`; resolves to one result per statement.
   * @param {string} sql
   */
  exec(sql) {
    try {
      checkSql(sql);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#write(() => call(() => this.#raw.exec(sql)));
  }

  /**
   * Runs `fn(tx)` inside BEGIN … COMMIT; ROLLBACK if it throws (the error is re-thrown).
   * Use `tx`, not `db`, inside `fn`: `db` calls wait until the transaction ends.
   * @template T
   * @param {(tx: Transaction) => Promise<T>} fn
   * @returns {Promise<T>}
   */
  transaction(fn) {
    if (typeof fn !== "function") {
      return Promise.reject(new IdbsqlError("params", "transaction() takes a function"));
    }
    return this.#write(async () => {
      await call(() => this.#raw.query("BEGIN", [], false));
      const tx = new Transaction(this.#raw);
      try {
        const result = await fn(tx);
        tx.finish();
        await call(() => this.#raw.query("COMMIT", [], false));
        return result;
      } catch (error) {
        tx.finish();
        if (this.#raw.inTransaction()) {
          await call(() => this.#raw.query("ROLLBACK", [], false)).catch(() => {});
        }
        throw error;
      }
    });
  }

  /**
   * The whole database as a SQL script (CREATE FUNCTION / TABLE / INDEX, then INSERTs) that
   * recreates it, every value exactly, when imported into an empty database.
   * @returns {Promise<string>}
   */
  export() {
    return this.#enqueue(() => call(() => this.#raw.export()));
  }

  /**
   * Runs a SQL script, e.g. from `export()`, as one transaction: everything or nothing.
   * @param {string} sql
   * @returns {Promise<{ statements: number, rows: number }>}
   */
  import(sql) {
    try {
      checkSql(sql);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#write(() => call(() => this.#raw.import(sql)));
  }

  /**
   * The tables, in name order, with their columns, indexes, foreign keys and row counts.
   * @returns {Promise<import("./index.d.ts").TableInfo[]>}
   */
  tables() {
    return this.#enqueue(async () => JSON.parse(await call(() => this.#raw.tablesJson())));
  }

  /** Writes a checkpoint now; normally automatic. */
  checkpoint() {
    return this.#enqueue(() => call(() => this.#raw.checkpoint()));
  }

  /** Test hook: the next IndexedDB write aborts, as on a quota error. */
  _failNextWrite() {
    this.#raw.failNextWrite();
  }

  /** Test hook: a Rust panic inside a call, as a bug would cause. */
  _panicForTest() {
    return this.#enqueue(() => call(() => this.#raw.panicForTest()));
  }

  /** Waits for pending calls, rolls back an open transaction, closes. Later calls reject `closed`. */
  disconnect() {
    if (this.#closing) return this.#queue;
    this.sync?.stop();
    const done = this.#enqueue(async () => {
      this.#raw.close();
      this.#raw.free();
      this.#releaseLock();
    });
    this.#closing = true;
    return done;
  }
}

/**
 * Bytes of WebAssembly memory in use by idbsql on this page (all open databases together).
 * The memory grows as data is loaded and is not returned to the browser until the page closes.
 * @returns {number}
 */
export function wasmMemoryBytes() {
  return wasmExports ? wasmExports.memory.buffer.byteLength : 0;
}

/**
 * Opens (creating if needed) the database `name`.
 * @param {string} name
 * @param {{ storage?: "indexeddb" | "memory", durability?: "relaxed" | "strict",
 *   sync?: { url: string, token?: string } }} [options]
 * @returns {Promise<Database>}
 */
export async function connect(name, options = {}) {
  if (typeof name !== "string" || name.length === 0) {
    throw new IdbsqlError("params", "database name must be a non-empty string");
  }
  const { storage = "indexeddb", durability = "relaxed", sync } = options;
  if (sync !== undefined && (typeof sync !== "object" || typeof sync.url !== "string")) {
    throw new IdbsqlError("params", "sync must be { url, token }");
  }
  await loadWasm();
  if (brokenBy !== null) throw internalError();
  const releaseLock = storage === "memory" ? () => {} : await acquireLock(name);
  try {
    const raw = await call(() => RawDatabase.open(name, storage, durability, Boolean(sync)));
    const db = new Database(name, raw, releaseLock, sync);
    await db.sync?.start();
    return db;
  } catch (error) {
    releaseLock();
    throw error;
  }
}

/**
 * Deletes the stored database `name`. Refused with `locked` while a connection is open.
 * @param {string} name
 */
export async function deleteDatabase(name) {
  await loadWasm();
  const releaseLock = await acquireLock(name);
  try {
    await call(() => deleteRawDatabase(name));
  } finally {
    releaseLock();
  }
}
