// Random identifiers: sessions, contexts and call ids. Nothing else lives here.

export function randomId() {
  return globalThis.crypto?.randomUUID?.() ?? `${Math.random().toString(36).slice(2)}${Date.now()}`;
}

/** Call ids start with the time in base 36, so the owner drops old kept answers by range. */
export function newCallId() {
  return `${Date.now().toString(36).padStart(9, "0")}-${randomId()}`;
}
