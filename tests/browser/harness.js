// Test and bench harness: serves the repository on 127.0.0.1 and drives headless Chromium
// (Debian's /usr/bin/chromium through playwright-core). Shared by tests, bench and demo checks.
import http from "node:http";
import { fileURLToPath } from "node:url";
import path from "node:path";
import sirv from "sirv";
import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
];

/** Serves `dir` (default: the repository) on an ephemeral loopback port. */
export async function serveStatic(dir = ROOT) {
  const handler = sirv(dir, { dev: true, etag: false });
  const server = http.createServer((req, res) => handler(req, res, () => {
    res.statusCode = 404;
    res.end("not found");
  }));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
  });
}

/** Opens the test page, which imports the package as `idbsql` through an import map. */
export async function openPage(context, baseUrl) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error));
  await page.goto(`${baseUrl}/tests/browser/page.html`);
  await page.waitForFunction(() => window.idbsqlReady === true);
  page.pageErrors = errors;
  return page;
}

/**
 * Starts the real `idbsql-server` binary (built by `cargo build -p idbsql-server`) on
 * 127.0.0.1; `port` 0 picks a free one. Resolves once it prints its address.
 */
export async function startSyncServer({ dataDir, port = 0, staticDir, extraArgs = [] } = {}) {
  const { spawn } = await import("node:child_process");
  const binary = process.env.IDBSQL_SERVER_BIN || path.join(ROOT, "target/debug/idbsql-server");
  const args = ["serve", "--listen", `127.0.0.1:${port}`, "--data", dataDir];
  if (staticDir) args.push("--static", staticDir);
  args.push(...extraArgs);
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
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
