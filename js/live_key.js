// The value of a live query's parameters as one string, for the framework bindings to tell a
// changed parameter from a new array holding the same values. Compares only; sends nothing.

/** A string equal for equal parameter lists (BigInt, dates and nested values included). */
export function paramsKey(params) {
  if (params === undefined || params === null) return "";
  try {
    return JSON.stringify(params, (_, value) => {
      if (typeof value === "bigint") return `${value}n`;
      if (value instanceof Uint8Array) return `bytes:${Array.from(value).join(",")}`;
      if (typeof value === "number" && !Number.isFinite(value)) return `number:${value}`;
      if (Object.is(value, -0)) return "number:-0";
      return value;
    });
  } catch {
    // A value JSON cannot walk (a cycle): db.live refuses it with `params` in any case.
    return "unkeyable";
  }
}
