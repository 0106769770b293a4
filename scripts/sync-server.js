// Starts the real idbsql-server binary as a child process and waits for its address; shared
// by `npm run demo` and the end-to-end tests so both run the server the same way.
import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT } from "./demo-site.js";

/**
 * Starts `idbsql-server serve` (built by `cargo build -p idbsql-server`) on 127.0.0.1; `port`
 * 0 picks a free one. Resolves once it prints its address. With `showLogs` its log goes to
 * this process's stderr; otherwise it is kept for the error if the server exits early.
 */
export async function startSyncServer({ dataDir, port = 0, staticDir, extraArgs = [], showLogs = false } = {}) {
  const binary = process.env.IDBSQL_SERVER_BIN || path.join(ROOT, "target/debug/idbsql-server");
  const args = ["serve", "--listen", `127.0.0.1:${port}`, "--data", dataDir];
  if (staticDir) args.push("--static", staticDir);
  args.push(...extraArgs);
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", showLogs ? "inherit" : "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const address = await new Promise((resolve, reject) => {
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const match = stdout.match(/listening on http:\/\/(\S+)/);
      if (match) resolve(match[1]);
    });
    child.on("exit", (code) => reject(new Error(`idbsql-server exited with ${code}: ${stderr}`)));
  });
  return {
    child,
    address,
    port: Number(address.split(":").at(-1)),
    url: `ws://${address}/sync`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", resolve);
        child.kill("SIGKILL");
      }),
  };
}
