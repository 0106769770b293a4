// Firefox ESR for the tests, through puppeteer-core over WebDriver BiDi (Firefox's own
// implementation): puppeteer's page is Playwright's in all the tests use but a few names, which
// this module renames. Launches only; which engine runs is engines.js's choice.
export const FIREFOX = process.env.FIREFOX_PATH || "/usr/bin/firefox-esr";

export async function launchFirefox(prefs = {}) {
  const { default: puppeteer } = await import("puppeteer-core");
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX,
    headless: true,
    protocolTimeout: 600_000,
    // navigator.storage.persist() answers at once, as "allow", instead of prompting the user.
    extraPrefsFirefox: { "dom.storageManager.prompt.testing": true, "dom.storageManager.prompt.testing.allow": true, ...prefs },
  });
  return {
    engine: "firefox",
    newContext: async () => wrapContext(await browser.createBrowserContext()),
    close: () => browser.close(),
  };
}

function wrapContext(context) {
  return {
    newPage: async () => wrapPage(await context.newPage()),
    close: () => context.close(),
  };
}

function wrapPage(page) {
  const extra = {
    // Playwright: (fn, arg, options); puppeteer: (fn, options, ...args).
    waitForFunction: (fn, arg, options = {}) => page.waitForFunction(fn, { timeout: options.timeout ?? 30_000, polling: 50 }, arg),
    textContent: (selector) => page.$eval(selector, (e) => e.textContent),
    getAttribute: (selector, name) => page.$eval(selector, (e, n) => e.getAttribute(n), name),
    fill: async (selector, value) => {
      await page.$eval(selector, (e, v) => {
        e.value = v;
        e.dispatchEvent(new Event("input", { bubbles: true }));
      }, value);
    },
    setViewportSize: (size) => page.setViewport(size),
    setInputFiles: async (selector, file) => (await page.$(selector)).uploadFile(file),
    // Playwright takes "Control+Enter"; puppeteer presses one key at a time.
    keyboard: {
      async press(combo) {
        const keys = combo.split("+");
        const key = keys.pop();
        for (const modifier of keys) await page.keyboard.down(modifier);
        await page.keyboard.press(key);
        for (const modifier of keys.reverse()) await page.keyboard.up(modifier);
      },
    },
  };
  return new Proxy(page, {
    get(target, name) {
      if (name in extra) return extra[name];
      const value = target[name];
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
