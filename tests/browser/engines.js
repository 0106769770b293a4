// The three browser engines the tests and the bench drive, behind one Playwright-shaped surface:
// Chromium through playwright-core, Firefox ESR through puppeteer-core over WebDriver BiDi, and
// WebKitGTK through its classic WebDriver (WebKitWebDriver, MiniBrowser under Xvfb) with
// selenium-webdriver. It must not paper over what an engine lacks: tests name those (`lacks`).
//
// Why these routes: Playwright's Firefox and WebKit are patched builds that cannot be downloaded
// here; Debian's firefox-esr speaks WebDriver BiDi (puppeteer's protocol for Firefox), and
// WebKitGTK 2.50's driver speaks only classic WebDriver, one session per driver process.
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { FIREFOX, launchFirefox } from "./engine_firefox.js";
import { MINIBROWSER, launchWebKit, startXvfb } from "./engine_webkit.js";

export { startXvfb };

export const ENGINES = ["chromium", "firefox", "webkit"];

/** The engine this process tests: `IDBSQL_BROWSER` (default chromium). */
export const ENGINE = process.env.IDBSQL_BROWSER || "chromium";
if (!ENGINES.includes(ENGINE)) throw new Error(`IDBSQL_BROWSER=${ENGINE}: not one of ${ENGINES.join(", ")}`);

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

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

/**
 * What an engine does not have that a test needs: the browser API by name, so a test that
 * skips says which engine and why (`{ skip: lacks("storage.persist") }`). False where present.
 */
const LACKS = {
  webkit: {
    "storage.persist": "WebKitGTK has no navigator.storage.persist / estimate",
    "storage.quota": "WebKitGTK's driver has no way to lower an origin's quota",
    download: "classic WebDriver cannot see a download",
  },
  firefox: {
    download: "puppeteer has no download event (Playwright's waitForEvent(\"download\"))",
  },
  chromium: {},
};
export function lacks(api, engine = ENGINE) {
  const why = LACKS[engine][api];
  return why ? `${engine}: ${why}` : false;
}

export async function launchBrowser(engine = ENGINE) {
  if (engine === "chromium") {
    return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }
  if (engine === "firefox") return launchFirefox();
  return launchWebKit();
}

/**
 * The command that opens `url` in `engine`'s browser on the profile directory `profile`, as a
 * user's browser runs (no driver): for tests that kill it and start it again on the same profile.
 * WebKitGTK's MiniBrowser keeps its data under XDG_DATA_HOME and needs an X display.
 */
export function browserCommand(engine, profile, url, display) {
  if (engine === "chromium") {
    return {
      command: CHROMIUM,
      args: [...CHROMIUM_ARGS, `--user-data-dir=${profile}`, url],
      env: {},
    };
  }
  if (engine === "firefox") {
    // No first-run pages, and no restoring the killed session's tabs next to the new one.
    fs.writeFileSync(path.join(profile, "user.js"), [
      'user_pref("browser.sessionstore.resume_from_crash", false);',
      'user_pref("browser.shell.checkDefaultBrowser", false);',
      'user_pref("browser.startup.homepage_override.mstone", "ignore");',
      'user_pref("datareporting.policy.dataSubmissionEnabled", false);',
      'user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);',
      "",
    ].join("\n"));
    return { command: FIREFOX, args: ["--headless", "--no-remote", "--profile", profile, url], env: {} };
  }
  return {
    command: MINIBROWSER,
    args: [url],
    env: { DISPLAY: display, XDG_DATA_HOME: path.join(profile, "data"), XDG_CACHE_HOME: path.join(profile, "cache") },
  };
}

/**
 * A fresh context whose origins may keep about `bytes`: `limit(page)` applies it to the page's
 * origin before the page opens IndexedDB (Chromium reads an origin's quota then), through the
 * DevTools protocol; Firefox takes it only at launch (a browser of its own, whose origin groups
 * get a fifth of its storage, never less than 10 MiB). `close()` ends what it started.
 */
export async function quotaContext(browser, bytes, engine = ENGINE) {
  if (engine === "chromium") {
    const context = await browser.newContext();
    return {
      context,
      async limit(page) {
        const cdp = await context.newCDPSession(page);
        await cdp.send("Storage.overrideQuotaForOrigin", { origin: new URL(page.url()).origin, quotaSize: bytes });
      },
      close: () => context.close(),
    };
  }
  if (engine === "firefox") {
    const own = await launchFirefox({ "dom.quotaManager.temporaryStorage.fixedLimit": Math.ceil((5 * bytes) / 1024) });
    return { context: await own.newContext(), limit: async () => {}, close: () => own.close() };
  }
  throw new Error(lacks("storage.quota", engine));
}
