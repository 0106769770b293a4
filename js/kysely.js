// `idbsql/kysely`: a Kysely dialect over an idbsql database — Kysely's PostgreSQL compiler
// writes the SQL, this module only maps Kysely's driver calls onto db.query / db.transaction.
// It holds no SQL of its own beyond savepoint commands, and never opens a database it was given.
import { PostgresAdapter, PostgresQueryCompiler, sql } from "kysely";

// Kysely's default migration tables (kysely/migration's DEFAULT_MIGRATION_TABLE and
// DEFAULT_MIGRATION_LOCK_TABLE), left out of introspection as Kysely's own dialects do.
const KYSELY_TABLES = new Set(["kysely_migration", "kysely_migration_lock"]);

/** `new Kysely({ dialect: new IdbsqlDialect({ database }) })`; `database` is a connected idbsql
 *  database, or a function resolving to one (connected on first use, disconnected by destroy()). */
export class IdbsqlDialect {
  #config;

  constructor(config) {
    if (!config || !config.database) {
      throw new TypeError("IdbsqlDialect needs { database }: a connected idbsql database or a function returning one");
    }
    this.#config = config;
  }

  createAdapter() {
    return new IdbsqlAdapter();
  }

  createDriver() {
    return new IdbsqlDriver(this.#config);
  }

  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }

  createIntrospector(db) {
    return new IdbsqlIntrospector(db);
  }
}

/** PostgreSQL's SQL over one connection: Kysely queues its queries, so the migrator's lock
 *  is the connection itself. */
export class IdbsqlAdapter extends PostgresAdapter {
  get supportsMultipleConnections() {
    return false;
  }

  async acquireMigrationLock() {
    // Kysely holds the only connection from lock to unlock: nothing else can migrate meanwhile.
  }

  async releaseMigrationLock() {}
}

class IdbsqlDriver {
  #config;
  #db = null;
  #opened = false;
  #connection = null;

  constructor(config) {
    this.#config = config;
  }

  async init() {
    const { database } = this.#config;
    this.#opened = typeof database === "function";
    this.#db = this.#opened ? await database() : database;
    this.#connection = new IdbsqlConnection(this.#db);
  }

  async acquireConnection() {
    return this.#connection;
  }

  async releaseConnection() {}

  // idbsql's transactions are serializable and read-write: any isolation level asked for is
  // met or exceeded, and an access mode is not enforced.
  async beginTransaction(connection) {
    await connection.begin();
  }

  async commitTransaction(connection) {
    await connection.end(true);
  }

  async rollbackTransaction(connection) {
    await connection.end(false);
  }

  async savepoint(connection, name, compileQuery) {
    await connection.savepointCommand("savepoint", name, compileQuery);
  }

  async rollbackToSavepoint(connection, name, compileQuery) {
    await connection.savepointCommand("rollback to", name, compileQuery);
  }

  async releaseSavepoint(connection, name, compileQuery) {
    await connection.savepointCommand("release", name, compileQuery);
  }

  async destroy() {
    if (this.#opened && this.#db && !this.#db.closed) await this.#db.disconnect();
  }
}

/** Kysely's rollback: the callback given to db.transaction throws this to end it. */
class Rollback extends Error {}

const WRITES = new Set(["INSERT", "UPDATE", "DELETE"]);

class IdbsqlConnection {
  #db;
  // The open transaction: the Transaction handle db.transaction gave, how to end it, and the
  // promise of its end (which carries a failed commit's error).
  #tx = null;
  #finish = null;
  #ended = null;

  constructor(db) {
    this.#db = db;
  }

  async executeQuery(compiled) {
    const result = await (this.#tx ?? this.#db).query(compiled.sql, [...compiled.parameters]);
    return {
      rows: result.rows,
      numAffectedRows: WRITES.has(result.command) ? BigInt(result.rowCount) : undefined,
    };
  }

  /** The whole result, then its rows in chunks: idbsql computes a query before it answers. */
  async *streamQuery(compiled, chunkSize = 100) {
    const { rows } = await this.executeQuery(compiled);
    const size = Math.max(1, Math.floor(chunkSize));
    for (let at = 0; at < rows.length; at += size) yield { rows: rows.slice(at, at + size) };
  }

  async begin() {
    let begun;
    const started = new Promise((resolve) => (begun = resolve));
    this.#ended = this.#db
      .transaction(
        (tx) =>
          new Promise((resolve, reject) => {
            this.#tx = tx;
            this.#finish = (commit) => (commit ? resolve() : reject(new Rollback()));
            begun();
          }),
      )
      .catch((error) => {
        if (!(error instanceof Rollback)) throw error;
      });
    // A transaction that failed to start (a closed database) rejects before it begins.
    await Promise.race([started, this.#ended]);
    if (!this.#tx) await this.#ended;
  }

  async end(commit) {
    const finish = this.#finish;
    const ended = this.#ended;
    this.#tx = null;
    this.#finish = null;
    this.#ended = null;
    if (!finish) throw new Error("idbsql/kysely: no transaction is open");
    finish(commit);
    await ended;
  }

  async tables() {
    return this.#db.tables();
  }

  async savepointCommand(command, name, compileQuery) {
    const node = sql`${sql.raw(command)} ${sql.id(name)}`.toOperationNode();
    await this.executeQuery(compileQuery(node, { queryId: `idbsql-${command}-${name}` }));
  }
}

const PG_TYPES = {
  INT: "int8",
  INT8: "int2",
  INT16: "int2",
  INT32: "int4",
  INT64: "int8",
  UINT8: "int2",
  FLOAT: "float8",
  FLOAT32: "float4",
  DECIMAL: "numeric",
  TEXT: "text",
  BOOLEAN: "bool",
  DATE: "date",
  TIME: "time",
  TIMESTAMP: "timestamp",
  INTERVAL: "interval",
  UUID: "uuid",
  BYTEA: "bytea",
  MAP: "jsonb",
  LIST: "jsonb",
};

/** Tables, views and columns from db.tables(), as Kysely's introspection describes them. */
class IdbsqlIntrospector {
  #kysely;

  constructor(kysely) {
    this.#kysely = kysely;
  }

  async getSchemas() {
    return [{ name: "public" }];
  }

  async getTables(options = {}) {
    // Through Kysely's own executor: inside a transaction it reads the transaction's tables.
    const tables = await this.#kysely.getExecutor().provideConnection(async (connection) => {
      if (!(connection instanceof IdbsqlConnection)) throw new Error("idbsql/kysely: not an idbsql connection");
      return connection.tables();
    });
    return tables
      .filter((table) => options.withInternalKyselyTables || !KYSELY_TABLES.has(table.name))
      .map((table) => ({
        name: table.name,
        schema: "public",
        isView: table.kind === "view",
        columns: table.columns.map((column) => ({
          name: column.name,
          dataType: PG_TYPES[column.type] ?? column.type.toLowerCase(),
          isNullable: column.nullable,
          isAutoIncrementing: column.generated != null,
          hasDefaultValue: column.default != null || column.generated != null,
        })),
      }));
  }

  async getMetadata(options) {
    return { tables: await this.getTables(options) };
  }
}
