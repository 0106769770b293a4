// connect's options checked and normalised, for the browser entry (index.js) and Node's
// (node.js): storage, durability, sync, worker mode, where the wasm is. Checks only; opens nothing.
import { IdbsqlError } from "./errors.js";

/**
 * Validates `connect`'s arguments for a platform: `storages` it offers (the first
 * `defaultStorage`), whether worker mode exists there.
 */
export function checkOptions(name, options, { storages, defaultStorage, workers = true }) {
  if (typeof name !== "string" || name.length === 0) {
    throw new IdbsqlError("params", "database name must be a non-empty string");
  }
  if (options === null || typeof options !== "object") {
    throw new IdbsqlError("params", "options must be an object");
  }
  const { storage = defaultStorage, durability = "relaxed", sync, worker = false, persist = false } = options;
  if (typeof persist !== "boolean") throw new IdbsqlError("params", "persist must be true or false");
  if (!storages.includes(storage)) {
    const listed = storages.map((s) => `"${s}"`).join(" or ");
    throw new IdbsqlError("params", `storage must be ${listed} here, not ${JSON.stringify(storage)}`);
  }
  if (durability !== "relaxed" && durability !== "strict") {
    throw new IdbsqlError("params", `durability must be "relaxed" or "strict", not ${JSON.stringify(durability)}`);
  }
  let syncOptions;
  let tokenFn = null;
  if (sync !== undefined) {
    const urls = typeof sync?.url === "string" ? [sync.url] : sync?.url;
    const validUrls = Array.isArray(urls) && urls.length > 0 && urls.every((u) => typeof u === "string");
    const token = sync?.token ?? "";
    if (typeof sync !== "object" || sync === null || !validUrls || !["string", "function"].includes(typeof token)) {
      throw new IdbsqlError(
        "params",
        "sync must be { url, token }: url a string or a non-empty array of strings, token a string or a function returning one",
      );
    }
    // A function cannot cross to the tab or worker that runs sync: that context asks for a
    // token on every (re)connect, and a connection holding the function answers.
    if (typeof token === "function") tokenFn = token;
    syncOptions = { urls: [...urls], token: typeof token === "string" ? token : "", tokenFromPage: Boolean(tokenFn) };
  }
  if (typeof worker !== "boolean") throw new IdbsqlError("params", "worker must be true or false");
  if (worker && !workers) throw new IdbsqlError("unsupported", "worker mode is for browsers: in Node the database runs in the calling thread");
  return { storage, durability, sync: syncOptions, worker, persist, tokenFn, load: checkLoadOptions(options, worker) };
}

/** `wasm` (where the module is) and `workerUrl` (where worker mode's script is), for bundlers
 *  that do not follow `new URL(…, import.meta.url)`. A worker gets the module as a URL's text
 *  or a compiled module: what postMessage can carry. */
function checkLoadOptions({ wasm, workerUrl }, worker) {
  const isUrl = (v) => typeof v === "string" || v instanceof URL;
  const isModule = (v) => typeof WebAssembly !== "undefined" && v instanceof WebAssembly.Module;
  const isBytes = (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v);
  const isResponse = (v) => typeof Response !== "undefined" && (v instanceof Response || v instanceof Promise);
  if (wasm !== undefined && !(isUrl(wasm) || isModule(wasm) || isBytes(wasm) || (!worker && isResponse(wasm)))) {
    throw new IdbsqlError(
      "params",
      worker
        ? "wasm must be the .wasm file's URL (string or URL), its bytes or a WebAssembly.Module in worker mode"
        : "wasm must be the .wasm file's URL (string or URL), a Response (or a promise of one), its bytes or a WebAssembly.Module",
    );
  }
  if (workerUrl !== undefined && !isUrl(workerUrl)) {
    throw new IdbsqlError("params", "workerUrl must be the URL (string or URL) of idbsql's dist/worker.js");
  }
  const base = globalThis.location?.href;
  return {
    wasm: wasm instanceof URL ? wasm.href : typeof wasm === "string" && base ? new URL(wasm, base).href : wasm,
    workerUrl,
  };
}
