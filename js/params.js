// Checks of what callers pass: SQL text, the parameter array and query options, and parameters
// about to leave this context (to a worker or the owner tab) — structured cloning turns a class
// instance into a plain object and throws on functions and symbols, so what the wasm side would
// refuse is refused here first, with the same messages. Converts nothing.
import { IdbsqlError } from "./errors.js";

/** Deepest nesting of arrays and objects in one parameter (as in src/api/values.rs). */
const MAX_DEPTH = 64;

const KINDS =
  "pass a plain object (MAP, POINT), an array (LIST), a Uint8Array (BYTEA), a Date, a string, a number, a BigInt, a boolean or null";

function refuse(index, message) {
  return new IdbsqlError("params", `parameter $${index + 1}: ${message}`);
}

function check(index, value, depth) {
  if (depth > MAX_DEPTH) throw refuse(index, `arrays and objects nest deeper than ${MAX_DEPTH} levels`);
  const type = typeof value;
  if (type === "symbol" || type === "function") throw refuse(index, `unsupported JS type ${type}`);
  if (value === null || type !== "object") return;
  if (value instanceof Uint8Array || value instanceof Date) return;
  if (Array.isArray(value)) {
    for (const item of value) check(index, item, depth + 1);
    return;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== null && prototype !== Object.prototype) {
    throw refuse(index, `a ${value.constructor?.name ?? "object"} has no SQL counterpart; ${KINDS}`);
  }
  for (const item of Object.values(value)) check(index, item, depth + 1);
}

/** Throws `params` for a parameter that cannot travel as the wasm side would take it. */
export function checkSendable(verb, args) {
  if (verb !== "query" || !Array.isArray(args?.params)) return;
  args.params.forEach((value, index) => check(index, value, 0));
}

export function checkSql(sql) {
  if (typeof sql !== "string") throw new IdbsqlError("params", "SQL must be a string");
}

export function checkParams(params) {
  if (params !== undefined && !Array.isArray(params)) {
    throw new IdbsqlError("params", "parameters must be an array");
  }
}

/** `{ rowMode }` of `query`: true for rows as arrays. */
export function arrayRows(options) {
  if (options === undefined || options === null) return false;
  if (typeof options !== "object") throw new IdbsqlError("params", "query options must be an object");
  const { rowMode = "object" } = options;
  if (rowMode !== "object" && rowMode !== "array") {
    throw new IdbsqlError("params", `rowMode must be "object" or "array", not ${JSON.stringify(rowMode)}`);
  }
  return rowMode === "array";
}
