// The console's statement history, kept in an idbsql database of its own ("<name>-history")
// so it survives reloads without appearing in the user's tables, exports or sync.

import { connect, deleteDatabase } from "idbsql";

const KEEP = 200;

export class History {
  #db;

  static async open(name) {
    const history = new History();
    history.#db = await connect(`${name}-history`);
    await history.#db.exec(
      "CREATE TABLE IF NOT EXISTS history (id INTEGER PRIMARY KEY, sql TEXT NOT NULL, ran_at TIMESTAMP, ok BOOLEAN)",
    );
    return history;
  }

  static async delete(name) {
    await deleteDatabase(`${name}-history`);
  }

  /** Most recent first. */
  async list(limit = 50) {
    const result = await this.#db.query(
      "SELECT id, sql, ran_at, ok FROM history ORDER BY id DESC LIMIT $1",
      [limit],
    );
    return result.rows;
  }

  async add(sql, ok) {
    const { rows } = await this.#db.query("SELECT MAX(id) AS last FROM history");
    const id = Number(rows[0]?.last ?? 0) + 1;
    await this.#db.query("INSERT INTO history VALUES ($1, $2, NOW(), $3)", [id, sql, ok]);
    if (id > KEEP) await this.#db.query("DELETE FROM history WHERE id <= $1", [id - KEEP]);
  }

  async clear() {
    await this.#db.query("DELETE FROM history");
  }

  async close() {
    await this.#db.disconnect();
  }
}
