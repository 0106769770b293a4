// idbsql's error type and its codes (README, "Errors"), and errors as they cross to another
// context. Nothing else lives here (checks of what callers pass are in params.js).

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

/** Any thrown value as an IdbsqlError (the module's errors carry `.code`). */
export function toIdbsqlError(error) {
  if (error instanceof IdbsqlError) return error;
  const code = typeof error?.code === "string" ? error.code : "execute";
  return new IdbsqlError(code, error?.message ?? String(error), { cause: error });
}

/** An error as it crosses to another tab or worker (structured clone keeps plain data). */
export function errorToWire(error) {
  const e = toIdbsqlError(error);
  return { code: e.code, message: e.message };
}

export function errorFromWire(wire) {
  return new IdbsqlError(wire.code, wire.message);
}

export const closedError = () => new IdbsqlError("closed", "the database connection is closed");

/** `post(message)` (postMessage to a worker or tab); a value that cannot be sent there (a
 * function, a symbol) is the caller's parameter error, as it would be on the main thread. */
export function postOrParamsError(post, message) {
  try {
    post(message);
  } catch (error) {
    if (error?.name === "DataCloneError") {
      throw new IdbsqlError("params", `a parameter has no SQL counterpart (${error.message})`);
    }
    throw toIdbsqlError(error);
  }
}
