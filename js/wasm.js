// The WebAssembly module: loaded once per page or worker, and the one place that knows a Rust
// panic leaves it unusable. Every call into it goes through `guard`.
import init, { RawDatabase, setPanicHandler } from "../pkg/idbsql.js";
import { IdbsqlError, toIdbsqlError } from "./errors.js";

export { RawDatabase };

let ready;
let wasmExports;
/** Where the module comes from when `connect`'s `wasm` option says (bundlers that do not
 *  follow `new URL(…, import.meta.url)`); else the file beside this bundle. */
let source = null;

/** Takes `connect`'s `wasm` option; the first one given before the module loads decides. */
export function setWasmSource(wasm) {
  if (wasm != null && ready === undefined && source === null) source = wasm;
}

/** Loads and instantiates the module once (streaming compile where the browser can). */
export function loadWasm() {
  ready ??= init({ module_or_path: source ?? new URL("../pkg/idbsql_bg.wasm", import.meta.url) }).then(
    (exports) => {
      wasmExports = exports;
      setPanicHandler(onPanic);
    },
  );
  return ready;
}

/** Bytes of WebAssembly memory held in this context (all databases together). */
export function wasmMemoryBytes() {
  return wasmExports ? wasmExports.memory.buffer.byteLength : 0;
}

/**
 * Set once a Rust panic aborted the module: its memory can no longer be trusted, so every
 * call fails with `internal` from then on. What was committed before is on disk; a reload
 * and a new `connect` find it.
 */
let brokenBy = null;
/** The reject functions of the calls into the module now in flight (see `guard`). */
const inFlight = new Set();

function onPanic(message) {
  brokenBy ??= String(message);
  for (const reject of inFlight) reject(internalError());
  inFlight.clear();
}

export function isBroken() {
  return brokenBy !== null;
}

export function internalError() {
  return new IdbsqlError(
    "internal",
    `idbsql stopped after an internal error (${brokenBy}); reload the page and connect again — every commit acknowledged before it is kept`,
  );
}

/**
 * Runs `start()` (a call into the module); a panic during it rejects it with `internal`: a
 * panic inside an async Rust call leaves that call's own promise pending forever.
 */
export function guard(start) {
  if (brokenBy !== null) return Promise.reject(internalError());
  return new Promise((resolve, reject) => {
    const fail = (error) => {
      inFlight.delete(reject);
      reject(brokenBy !== null ? internalError() : toIdbsqlError(error));
    };
    inFlight.add(reject);
    let started;
    try {
      started = start();
    } catch (error) {
      fail(error);
      return;
    }
    Promise.resolve(started).then((value) => {
      inFlight.delete(reject);
      resolve(value);
    }, fail);
  });
}
