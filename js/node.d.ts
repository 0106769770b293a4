// Type declarations for idbsql in Node (js/node.js, the "node" export condition).
import type { ConnectOptions as BrowserConnectOptions, Database } from "./idbsql.js";

export * from "./idbsql.js";

export interface ConnectOptions extends Omit<BrowserConnectOptions, "storage" | "worker" | "workerUrl"> {
  /** "memory" (default): private to the connection, gone when it closes; "file": persisted
   *  under `directory`, shared by this process's connections, `locked` for another process. */
  storage?: "memory" | "file";
  /** Where `storage: "file"` keeps the database: a folder named after it inside this one. */
  directory?: string;
}

/** Opens (creating if needed) the database `name`. */
export declare function connect(name: string, options?: ConnectOptions): Promise<Database>;

/** Deletes the file database `name` under `directory`; `locked` while a process has it open. */
export declare function deleteDatabase(name: string, options: { directory: string }): Promise<void>;
