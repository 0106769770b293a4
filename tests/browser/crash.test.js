// Durability through a browser crash, in the engine under test: the browser, launched on a real
// profile directory, is killed (SIGKILL, every process of it) during a burst of acknowledged
// commits, then reopened on that profile: every acknowledged commit is there, with no gap.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ENGINE, ROOT, serveStatic } from "./harness.js";
import { browserCommand, startXvfb } from "./engines.js";

const ACKED_BEFORE_KILL = 2_000;

/** The repository's files, and `POST /crash/<what>` where the page reports (JSON bodies). */
function serve(onReport) {
  return serveStatic(ROOT, (req, res) => {
    const match = /^\/crash\/(\w+)$/.exec(req.url);
    if (req.method !== "POST" || !match) {
      res.statusCode = 404;
      res.end();
      return;
    }
    let body = "";
    req.on("data", (chunk) => { body += chunk; });
    req.on("end", () => {
      res.statusCode = 204;
      res.end();
      onReport(match[1], JSON.parse(body));
    });
  });
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), `idbsql-crash-${ENGINE}-`));
let display;
after(() => {
  display?.stop();
  fs.rmSync(profile, { recursive: true, force: true });
});

/** Launches the engine's browser on `profile` at `url`, in a process group of its own. */
function launch(url) {
  const { command, args, env } = browserCommand(ENGINE, profile, url, display?.name);
  const child = spawn(command, args, { detached: true, stdio: "ignore", env: { ...process.env, ...env } });
  return {
    async kill() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      await exited;
      // Helper processes that left the group (WebKit's) die with their parent's pipe; wait a
      // moment so none still holds the profile when the browser starts again.
      await new Promise((r) => setTimeout(r, 1_000));
    },
  };
}

test(`${ENGINE}: killed during a burst of acknowledged commits, reopened: every one is there, no gap`, async () => {
  if (ENGINE === "webkit") display = await startXvfb();
  let acked = 0;
  let state;
  let failure;
  let wake = () => {};
  const site = await serve((what, body) => {
    if (what === "acked") acked = Math.max(acked, body.acked);
    if (what === "state") state = body;
    if (what === "error") failure = body;
    wake();
  });
  const until = (done, what, ms = 120_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms (acked ${acked})`)), ms);
      wake = () => {
        if (failure) reject(new Error(`the page failed: ${JSON.stringify(failure)}`));
        else if (done()) resolve();
        else return;
        clearTimeout(timer);
      };
    });
  try {
    const writer = launch(`${site.url}/tests/browser/crash.html?mode=write`);
    await until(() => acked >= ACKED_BEFORE_KILL, "commits acknowledged").finally(() => writer.kill());
    const lastAcked = acked;
    const reader = launch(`${site.url}/tests/browser/crash.html?mode=check`);
    await until(() => state !== undefined, "the reopened database's state").finally(() => reader.kill());
    assert.ok(state.hi >= lastAcked, `every acknowledged commit is there: ${JSON.stringify(state)}, acknowledged ${lastAcked}`);
    assert.deepEqual([state.lo, state.n], [1, state.hi], `no gap: ${JSON.stringify(state)}`);
  } finally {
    await site.close();
  }
});
