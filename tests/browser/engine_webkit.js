// WebKitGTK for the tests, through its classic WebDriver (WebKitWebDriver; 2.50 has no BiDi)
// with selenium-webdriver: one MiniBrowser per context under Xvfb, shaped as Playwright's page.
// Launches only; which engine runs is engines.js's choice.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER_PATH || "/usr/bin/WebKitWebDriver";
export const MINIBROWSER = process.env.MINIBROWSER_PATH || "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

// selenium-webdriver, loaded by the first launch (runs in other engines never load it).
let selenium;

export async function launchWebKit() {
  selenium ??= await import("selenium-webdriver");
  const display = await startXvfb();
  const contexts = new Set();
  return {
    engine: "webkit",
    async newContext() {
      const context = await webkitContext(display.name);
      contexts.add(context);
      const close = context.close;
      context.close = async () => {
        contexts.delete(context);
        await close();
      };
      return context;
    },
    async close() {
      await Promise.all([...contexts].map((c) => c.close()));
      display.stop();
    },
  };
}

/** An X server on a free display (MiniBrowser has no headless mode). */
export function startXvfb() {
  return new Promise((resolve, reject) => {
    const child = spawn("Xvfb", ["-displayfd", "3", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"], {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stderr.on("data", (d) => { err += d; });
    child.stdio[3].on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve({ name: `:${out.trim()}`, stop: () => child.kill() });
    });
    child.on("exit", (code) => reject(new Error(`Xvfb exited (${code}): ${err}`)));
    child.on("error", reject);
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function webkitContext(display) {
  const port = await freePort();
  const driverProcess = spawn(WEBKIT_DRIVER, [`--port=${port}`], {
    env: { ...process.env, DISPLAY: display },
    stdio: "ignore",
  });
  const serverUrl = `http://127.0.0.1:${port}`;
  let driver;
  for (let attempt = 0; ; attempt++) {
    try {
      driver = await new selenium.Builder()
        .usingServer(serverUrl)
        .withCapabilities({
          browserName: "MiniBrowser",
          "webkitgtk:browserOptions": { binary: MINIBROWSER, args: ["--automation"] },
        })
        .build();
      break;
    } catch (error) {
      if (attempt > 50) {
        driverProcess.kill();
        throw error;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await driver.manage().setTimeouts({ script: 600_000, pageLoad: 60_000 });
  let windowTaken = false;
  // WebDriver talks to one window at a time: every page command switches first, in turn.
  let queue = Promise.resolve();
  const serial = (handle, op) => {
    const next = queue.then(async () => {
      await driver.switchTo().window(handle);
      return op();
    });
    queue = next.catch(() => {});
    return next;
  };
  return {
    async newPage() {
      // The session's own window serves the first page; later ones open from any window left
      // (a page's close leaves the last one open, blank).
      const [any] = await driver.getAllWindowHandles();
      const handle = windowTaken
        ? await serial(any, async () => {
          await driver.switchTo().newWindow("window");
          return driver.getWindowHandle();
        })
        : any;
      windowTaken = true;
      return webkitPage(driver, handle, serial);
    },
    async close() {
      await queue;
      await driver.quit().catch(() => {});
      driverProcess.kill();
    },
  };
}

// Values cross as tagged JSON both ways, so that what a test gets back is what Playwright gives:
// undefined, BigInt, Date, NaN / ±Infinity / -0, errors and typed arrays survive.
const CODEC = `
const __encode = (v) => {
  if (v === undefined) return { u: 1 };
  if (typeof v === "bigint") return { bi: String(v) };
  if (typeof v === "number") {
    if (Number.isNaN(v)) return { n: "NaN" };
    if (v === Infinity) return { n: "Infinity" };
    if (v === -Infinity) return { n: "-Infinity" };
    if (Object.is(v, -0)) return { n: "-0" };
    return { v };
  }
  if (v === null || typeof v !== "object") return typeof v === "function" ? { u: 1 } : { v };
  if (v instanceof Date) return { d: v.toISOString() };
  if (v instanceof Error) return { e: { name: v.name, message: v.message, stack: v.stack } };
  if (ArrayBuffer.isView(v)) return { ta: Array.from(v), k: v.constructor.name };
  if (Array.isArray(v)) return { a: v.map(__encode) };
  const o = {};
  for (const [k, x] of Object.entries(v)) o[k] = __encode(x);
  return { o };
};
const __decode = (t) => {
  if ("u" in t) return undefined;
  if ("bi" in t) return BigInt(t.bi);
  if ("n" in t) return t.n === "-0" ? -0 : Number(t.n);
  if ("d" in t) return new Date(t.d);
  if ("e" in t) return Object.assign(new Error(t.e.message), t.e);
  if ("ta" in t) return new globalThis[t.k](t.ta);
  if ("a" in t) return t.a.map(__decode);
  if ("o" in t) return Object.fromEntries(Object.entries(t.o).map(([k, x]) => [k, __decode(x)]));
  return t.v;
};`;
// eslint-disable-next-line no-new-func
const { __encode: encode, __decode: decode } = new Function(`${CODEC}; return { __encode, __decode };`)();

// Uncaught errors are collected by a listener the page gets after each load (errors thrown
// while the page loads, before that, are not seen: classic WebDriver has no event for them).
const HOOK = `
if (!window.__idbsqlErrors) {
  window.__idbsqlErrors = [];
  window.addEventListener("error", (e) => window.__idbsqlErrors.push({ name: e.error?.name ?? "Error", message: e.message, stack: e.error?.stack ?? "" }));
  window.addEventListener("unhandledrejection", (e) => window.__idbsqlErrors.push({ name: e.reason?.name ?? "Error", message: String(e.reason?.message ?? e.reason), stack: e.reason?.stack ?? "" }));
}`;

function webkitPage(driver, handle, serial) {
  const listeners = { pageerror: [], dialog: [] };
  let nextCall = 0;
  let closed = false;
  const report = (errors) => {
    for (const e of errors ?? []) {
      const error = Object.assign(new Error(e.message), e);
      for (const listener of listeners.pageerror) listener(error);
    }
  };
  // A call starts in the page and is then looked in on, each look a short command, so that calls
  // in several windows run at the same time as they do in Playwright (WebDriver itself would
  // hold the session for the whole of one asynchronous script).
  const run = async (fn, arg) => {
    const id = `${handle}:${nextCall++}`;
    const source = typeof fn === "function" ? fn.toString() : `() => (${fn})`;
    const start = `{
  const call = {};
  (window.__idbsqlCalls ??= new Map()).set(${JSON.stringify(id)}, call);
  Promise.resolve()
    .then(() => (${source})(__decode(JSON.parse(arguments[0]))))
    .then((v) => { call.answer = { ok: __encode(v) }; },
          (e) => { call.answer = { error: __encode(e instanceof Error ? e : new Error(String(e))) }; })
    .finally(() => call.wake?.());
}`;
    const look = `
const done = arguments[arguments.length - 1];
const calls = window.__idbsqlCalls ?? new Map();
const call = calls.get(${JSON.stringify(id)});
const take = () => window.__idbsqlErrors.splice(0);
const finish = () => {
  calls.delete(${JSON.stringify(id)});
  done(JSON.stringify({ ...call.answer, errors: take() }));
};
if (!call) done(JSON.stringify({ gone: true, errors: [] }));
else if (call.answer) finish();
else {
  const timer = setTimeout(() => { call.wake = null; done(JSON.stringify({ pending: true, errors: take() })); }, 25);
  call.wake = () => { clearTimeout(timer); finish(); };
}`;
    let script = `${CODEC}\n${HOOK}\n${start}\n${look}`;
    for (;;) {
      const answer = JSON.parse(await serial(handle, () => driver.executeAsyncScript(script, JSON.stringify(encode(arg)))));
      report(answer.errors);
      if (answer.pending) {
        script = `${CODEC}\n${HOOK}\n${look}`;
        continue;
      }
      if (answer.gone) throw new Error("page.evaluate: the page navigated away before the call answered");
      if (answer.error) {
        const error = decode(answer.error);
        throw new Error(`page.evaluate: ${error.name === "Error" ? "" : `${error.name}: `}${error.message}`);
      }
      return decode(answer.ok);
    }
  };
  const hook = () => driver.executeScript(HOOK);
  const page = {
    on(event, listener) {
      listeners[event]?.push(listener);
      return page;
    },
    goto: (url) => serial(handle, async () => {
      await driver.get(url);
      await hook();
    }),
    reload: () => serial(handle, async () => {
      await driver.navigate().refresh();
      await hook();
    }),
    url: () => serial(handle, () => driver.getCurrentUrl()),
    evaluate: run,
    async waitForFunction(fn, arg, { timeout = 30_000 } = {}) {
      const deadline = Date.now() + timeout;
      for (;;) {
        const value = await run(fn, arg);
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`waitForFunction: still false after ${timeout} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    waitForSelector: (selector, options) => page.waitForFunction((s) => document.querySelector(s) !== null, selector, options),
    textContent: (selector) => run((s) => document.querySelector(s)?.textContent ?? null, selector),
    getAttribute: (selector, name) => run(([s, n]) => document.querySelector(s)?.getAttribute(n) ?? null, [selector, name]),
    click: (selector) => serial(handle, async () => {
      await (await driver.findElement(selenium.By.css(selector))).click();
      // A confirm() or alert() the click opened goes to the page's "dialog" listeners, as
      // Playwright hands it over (classic WebDriver has no event: it is looked for here).
      if (listeners.dialog.length === 0) return;
      const alert = await driver.switchTo().alert().catch(() => null);
      if (!alert) return;
      const dialog = { message: () => alert.getText(), accept: () => alert.accept(), dismiss: () => alert.dismiss() };
      for (const listener of listeners.dialog) await listener(dialog);
    }),
    fill: (selector, value) => run(([s, v]) => {
      const e = document.querySelector(s);
      e.value = v;
      e.dispatchEvent(new Event("input", { bubbles: true }));
    }, [selector, value]),
    focus: (selector) => run((s) => document.querySelector(s).focus(), selector),
    setInputFiles: (selector, file) => serial(handle, async () => {
      await (await driver.findElement(selenium.By.css(selector))).sendKeys(path.resolve(file));
    }),
    keyboard: {
      // "Control+Enter" to the focused element, as Playwright's keyboard.press takes it.
      press: (combo) => serial(handle, async () => {
        const keys = combo.split("+").map((k) => selenium.Key[k.toUpperCase()] ?? k);
        const key = keys.pop();
        let actions = driver.actions();
        for (const modifier of keys) actions = actions.keyDown(modifier);
        actions = actions.sendKeys(key);
        for (const modifier of keys.reverse()) actions = actions.keyUp(modifier);
        await actions.perform();
      }),
    },
    setViewportSize: ({ width, height }) => serial(handle, () => driver.manage().window().setRect({ width, height })),
    screenshot: ({ path: file }) => serial(handle, async () => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, Buffer.from(await driver.takeScreenshot(), "base64"));
    }),
    async close() {
      if (closed) return;
      closed = true;
      await serial(handle, async () => {
        // Closing a session's last window ends the session; leave it blank instead.
        if ((await driver.getAllWindowHandles()).length > 1) await driver.close();
        else await driver.get("about:blank");
      }).catch(() => {});
    },
  };
  return page;
}
