// A throwaway PostgreSQL cluster for the browser tests (as server/tests/common/pg_cluster.rs
// does natively): Debian's binaries, initdb in a temp folder as `postgres` when root, a free
// loopback port, fsync on; `stop()` shuts it down immediately and deletes the folder.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";

function binDir() {
  if (process.env.IDBSQL_PG_BIN) return process.env.IDBSQL_PG_BIN;
  const versions = existsSync("/usr/lib/postgresql")
    ? readdirSync("/usr/lib/postgresql")
        .filter((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`))
        .sort((a, b) => Number(a) - Number(b))
    : [];
  return versions.length ? `/usr/lib/postgresql/${versions.at(-1)}/bin` : "";
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

export async function startPgCluster() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "idbsql-pg-"));
  const bin = binDir();
  const root = process.getuid?.() === 0;
  const run = (program, args) => {
    const file = path.join(bin, program);
    const [command, argv] = root ? ["runuser", ["-u", "postgres", "--", file, ...args]] : [file, args];
    execFileSync(command, argv, { cwd: dir, stdio: "pipe" });
  };
  // PostgreSQL refuses to run as root: the folder belongs to `postgres`.
  if (root) execFileSync("chown", ["postgres:postgres", dir]);
  const data = path.join(dir, "data");
  const port = await freePort();
  run("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`;
  run("pg_ctl", ["-D", data, "-l", path.join(dir, "server.log"), "-o", options, "-w", "start"]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres?connect_timeout=5`,
    async stop() {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
