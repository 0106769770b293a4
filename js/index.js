// The public JS API of idbsql: connect / query / exec / transaction / disconnect, errors with
// codes, one call at a time per connection, and the Web Lock that keeps two connections apart.
import init, { RawDatabase, deleteDatabase as deleteRawDatabase } from "../pkg/idbsql.js";
import { SyncController } from "./sync.js";

let wasmReady;
let wasmExports;

/** Loads and instantiates the WebAssembly module once per page. */
function loadWasm() {
  wasmReady ??= init({ module_or_path: new URL("../pkg/idbsql_bg.wasm", import.meta.url) }).then(
    (exports) => {
      wasmExports = exports;
    },
  );
  return wasmReady;
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

async function call(promise) {
  try {
    return await promise;
  } catch (error) {
    throw toIdbsqlError(error);
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

/**
 * Holds the database's Web Lock until released, so a second connection (this tab or another)
 * is refused instead of silently diverging.
 */
function acquireLock(name) {
  const locks = globalThis.navigator?.locks;
  if (!locks) return Promise.resolve(() => {});
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

  /** @param {string} sql @param {unknown[]} [params] */
  async query(sql, params = []) {
    this.#check();
    checkSql(sql);
    checkParams(params);
    return call(this.#raw.query(sql, params));
  }

  /** @param {string} sql */
  async exec(sql) {
    this.#check();
    checkSql(sql);
    return call(this.#raw.exec(sql));
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
          enqueue: (task) => this.#enqueueInternal(task),
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
   * Runs exactly one SQL statement with `$1`, `$2`, … parameters.
   * @param {string} sql
   * @param {unknown[]} [params]
   */
  query(sql, params = []) {
    try {
      checkSql(sql);
      checkParams(params);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#write(() => call(this.#raw.query(sql, params)));
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
    return this.#write(() => call(this.#raw.exec(sql)));
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
      await call(this.#raw.query("BEGIN", []));
      const tx = new Transaction(this.#raw);
      try {
        const result = await fn(tx);
        tx.finish();
        await call(this.#raw.query("COMMIT", []));
        return result;
      } catch (error) {
        tx.finish();
        if (this.#raw.inTransaction()) {
          await call(this.#raw.query("ROLLBACK", [])).catch(() => {});
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
    return this.#enqueue(() => call(this.#raw.export()));
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
    return this.#write(() => call(this.#raw.import(sql)));
  }

  /**
   * The tables, in name order, with their columns, indexes, foreign keys and row counts.
   * @returns {Promise<import("./index.d.ts").TableInfo[]>}
   */
  tables() {
    return this.#enqueue(async () => JSON.parse(await call(this.#raw.tablesJson())));
  }

  /** Writes a checkpoint now; normally automatic. */
  checkpoint() {
    return this.#enqueue(() => call(this.#raw.checkpoint()));
  }

  /** Test hook: the next IndexedDB write aborts, as on a quota error. */
  _failNextWrite() {
    this.#raw.failNextWrite();
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
  const releaseLock = storage === "memory" ? () => {} : await acquireLock(name);
  try {
    const raw = await call(RawDatabase.open(name, storage, durability, Boolean(sync)));
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
    await call(deleteRawDatabase(name));
  } finally {
    releaseLock();
  }
}
