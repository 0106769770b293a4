// What test files share around their tests: one static server, one browser and one context
// for the file (started before, closed after), and the two engine modes many suites run in.
import { before, after } from "node:test";
import { serveStatic, launchBrowser, openPage } from "./harness.js";

/** Registers the file's before/after; the returned object's `server`, `browser` and
 * `context` are set once `before` has run. */
export function useBrowser() {
  const env = {};
  before(async () => {
    env.server = await serveStatic();
    env.browser = await launchBrowser();
    env.context = await env.browser.newContext();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}

/** Engine on the page's main thread, and in a Worker. */
export const MODES = [
  { worker: false, name: "" },
  { worker: true, name: " [worker mode]" },
];

/** Opens a page of `env` (engine in a Worker with `worker`), runs `fn(page)`, closes it. */
export async function withPageOf(env, worker, fn) {
  const page = await openPage(env.context, env.server.url, { worker });
  try {
    return await fn(page);
  } finally {
    await page.close();
  }
}
