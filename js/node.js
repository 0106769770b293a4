// The Node entry of idbsql (the package's "node" export condition): connect with storage
// "memory" or "file" (a directory, the journal of file_store.js), in the calling thread, for an
// app's tests and server-side code. No tabs, no Web Locks, no workers: one process owns a database.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Database } from "./database.js";
import { IdbsqlError } from "./errors.js";
import { FileStore, deleteFileDatabase } from "./file_store.js";
import { LocalLink } from "./local.js";
import { Owner } from "./owner.js";
import { checkOptions } from "./options.js";
import { internalError, isBroken, setWasmSource, wasmMemoryBytes } from "./wasm.js";

export { IdbsqlError, wasmMemoryBytes };

const NODE = { storages: ["memory", "file"], defaultStorage: "memory", workers: false };

let wasmChosen = false;

/** The module's bytes from the package (Node's fetch cannot read file: URLs), unless given. */
async function chooseWasm(wasm) {
  if (wasmChosen) return;
  wasmChosen = true;
  setWasmSource(wasm ?? (await readFile(new URL("../pkg/idbsql_bg.wasm", import.meta.url))));
}

/** Where database `name` lives under `directory`: its own folder, the name made a safe one. */
function databaseDir(name, directory) {
  if (typeof directory !== "string" || directory.length === 0) {
    throw new IdbsqlError("params", 'storage: "file" needs a directory option (a path)');
  }
  return path.resolve(directory, encodeURIComponent(name));
}

/** File databases open in this process, shared by their connections (one Owner each). */
const open = new Map();

async function openFile(name, dir, durability) {
  let entry = open.get(dir);
  if (!entry) {
    const starting = (async () => {
      const store = await FileStore.open(dir, { durability });
      try {
        return { store, owner: await Owner.open(name, { storage: "file", durability, store }) };
      } catch (error) {
        await store.close();
        throw error;
      }
    })();
    entry = { starting, count: 0 };
    open.set(dir, entry);
    starting.catch(() => open.delete(dir));
  }
  const { owner, store } = await entry.starting;
  entry.count += 1;
  return {
    owner,
    store,
    release: async () => {
      entry.count -= 1;
      if (entry.count > 0) return;
      open.delete(dir);
      const { store } = await entry.starting;
      owner.close();
      await store.close();
    },
  };
}

/** A connection's link: a LocalLink whose close lets go of its share of the database. */
class FileLink extends LocalLink {
  #release;
  #store;
  constructor(owner, store, release) {
    super(owner);
    this.#store = store;
    this.#release = release;
  }

  close() {
    return this.#release();
  }

  /** db.storage(): the journal's bytes; a file has no quota of its own. */
  storageInfo() {
    return { persisted: true, usage: this.#store.size, quota: null };
  }
}

/** A memory database's link: nothing is kept. */
class MemoryLink extends LocalLink {
  storageInfo() {
    return { persisted: false, usage: null, quota: null };
  }
}

/**
 * Opens (creating if needed) the database `name`: `storage: "memory"` (default; private to
 * the connection) or `storage: "file"` with `directory` (persisted; connections of this process
 * share it, another process gets `locked`).
 * @param {string} name
 * @param {{ storage?: "memory" | "file", directory?: string, durability?: "relaxed" | "strict",
 *   sync?: { url: string | string[], token?: string | (() => string | Promise<string>) },
 *   wasm?: BufferSource | WebAssembly.Module | string | URL }} [options]
 * @returns {Promise<Database>}
 */
export async function connect(name, options = {}) {
  const { storage, durability, sync, tokenFn, load } = checkOptions(name, options, NODE);
  if (sync && typeof globalThis.WebSocket !== "function") {
    throw new IdbsqlError(
      "unsupported",
      "sync needs a WebSocket: Node 22 has one; on Node 20 start node with --experimental-websocket",
    );
  }
  const dir = storage === "file" ? databaseDir(name, options.directory) : null;
  await chooseWasm(load.wasm);
  if (isBroken()) throw internalError();
  let link;
  if (storage === "memory") {
    link = new MemoryLink(await Owner.open(name, { storage, durability }));
  } else {
    const { owner, store, release } = await openFile(name, dir, durability);
    link = new FileLink(owner, store, release);
  }
  let closing = null;
  const close = () => (closing ??= Promise.resolve(link.close()));
  const db = new Database(name, link, close, Boolean(sync), undefined, tokenFn);
  try {
    await db._open(sync);
  } catch (error) {
    await close();
    throw error;
  }
  return db;
}

/**
 * Deletes the file database `name` under `directory`; `locked` while a process has it open.
 * @param {string} name
 * @param {{ directory: string }} options
 */
export async function deleteDatabase(name, options = {}) {
  if (typeof name !== "string" || name.length === 0) {
    throw new IdbsqlError("params", "database name must be a non-empty string");
  }
  const dir = databaseDir(name, options?.directory);
  if (open.has(dir)) {
    throw new IdbsqlError("locked", `database "${name}" is open in a connection of this process; disconnect it first`);
  }
  await deleteFileDatabase(dir);
}
