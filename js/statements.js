// What the JS side reads of SQL text: whether a statement ends a transaction (a connection
// whose owner went away mid-transaction must still be able to end it). Nothing else.

/**
 * "rollback" for ROLLBACK (not ROLLBACK TO a savepoint, a statement inside the transaction),
 * "commit" for COMMIT / END, else null.
 * @param {unknown} sql
 * @returns {"rollback" | "commit" | null}
 */
export function transactionEnd(sql) {
  const text = String(sql).trim().toUpperCase();
  if (text.startsWith("ROLLBACK") && !/\bTO\b/.test(text)) return "rollback";
  if (text.startsWith("COMMIT") || text.startsWith("END")) return "commit";
  return null;
}
