// The demo console's wiring: one idbsql connection, the editor, sidebar, history, sample data,
// export/import, delete, and the sync panel. Rendering lives in render.js, data in sample.js.

import { connect, deleteDatabase } from "idbsql";
import { History } from "./history.js";
import { h, renderError, renderResult, renderTables } from "./render.js";
import { EXAMPLES, sampleScripts } from "./sample.js";

const DB_NAME = "demo";
const SYNC_PREF_KEY = "idbsql-demo:sync-url";

const $ = (selector) => document.querySelector(selector);
const ui = {
  sql: $("#sql"),
  run: $("#run"),
  status: $("#status"),
  output: $("#output"),
  tables: $("#tables"),
  examples: $("#examples"),
  history: $("#history"),
  banner: $("#banner"),
  dbName: $("#db-name"),
  loadSample: $("#load-sample"),
  exportButton: $("#export"),
  importInput: $("#import"),
  deleteButton: $("#delete-db"),
  clearHistory: $("#clear-history"),
  syncUrl: $("#sync-url"),
  syncToggle: $("#sync-toggle"),
  syncLight: $("#sync-light"),
  syncStatusText: $("#sync-status-text"),
  syncPending: $("#sync-pending"),
  syncLast: $("#sync-last"),
};

/** @type {import("idbsql").Database | null} */
let db = null;
/** @type {History | null} */
let history = null;
let busy = false;

const defaultSyncUrl = () => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/sync`;

function showBanner(message, kind = "info") {
  ui.banner.hidden = !message;
  ui.banner.className = `banner ${kind}`;
  ui.banner.textContent = message ?? "";
}

function setStatus(text) {
  ui.status.textContent = text;
}

/** Runs `task` with the console's controls disabled, so two actions never interleave. */
async function exclusive(task) {
  if (busy || !db) return undefined;
  const controls = [ui.run, ui.loadSample, ui.exportButton, ui.deleteButton];
  busy = true;
  for (const control of controls) control.disabled = true;
  try {
    return await task();
  } finally {
    busy = false;
    for (const control of controls) control.disabled = false;
  }
}

async function refreshTables() {
  if (!db) return;
  const tables = await db.tables();
  ui.tables.replaceChildren(
    ...renderTables(tables, {
      onPick: (table) => {
        ui.sql.value = `SELECT * FROM ${table.name} LIMIT 100;`;
        runEditor();
      },
    }),
  );
}

async function refreshHistory() {
  if (!history) return;
  const entries = await history.list();
  ui.history.replaceChildren(
    ...entries.map((entry) => {
      const button = h("button", { type: "button", className: entry.ok ? "history-entry" : "history-entry failed", title: entry.ran_at ?? "" }, entry.sql);
      button.addEventListener("click", () => {
        ui.sql.value = entry.sql;
        ui.sql.focus();
      });
      return h("li", {}, button);
    }),
  );
}

async function runSql(sql) {
  const started = performance.now();
  let ok = true;
  try {
    const results = await db.exec(sql);
    const elapsed = performance.now() - started;
    ui.output.replaceChildren(...results.map(renderResult));
    // Each result shows its own row count; the status line only sums up the run.
    const summary =
      results.length === 1
        ? `1 statement · ${results[0].rowCount.toLocaleString("en")} rows`
        : `${results.length} statements`;
    setStatus(`${summary} · ${elapsed.toFixed(1)} ms`);
  } catch (error) {
    ok = false;
    ui.output.replaceChildren(renderError(error));
    setStatus(`failed after ${(performance.now() - started).toFixed(1)} ms`);
  }
  await history?.add(sql, ok).catch(() => {});
  await Promise.all([refreshTables(), refreshHistory()]);
}

function runEditor() {
  const sql = ui.sql.value.trim();
  if (!sql) return Promise.resolve();
  return exclusive(() => runSql(sql));
}

async function loadSample() {
  await exclusive(async () => {
    const started = performance.now();
    setStatus("loading sample data…");
    try {
      let rows = 0;
      for (const script of sampleScripts()) {
        for (const result of await db.exec(script)) if (result.command === "INSERT") rows += result.rowCount;
      }
      setStatus(`sample data: ${rows.toLocaleString("en")} rows in ${(performance.now() - started).toFixed(0)} ms`);
      ui.output.replaceChildren(h("p", { className: "muted" }, "Sample shop loaded: customer, product, orders, order_item. Try an example on the left."));
    } catch (error) {
      ui.output.replaceChildren(renderError(error));
      setStatus("sample data failed");
    }
    await refreshTables();
  });
}

async function exportDatabase() {
  await exclusive(async () => {
    try {
      const sql = await db.export();
      const blob = new Blob([sql], { type: "application/sql" });
      const link = h("a", { href: URL.createObjectURL(blob), download: `${DB_NAME}-${new Date().toISOString().slice(0, 10)}.sql` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      setStatus(`exported ${(sql.length / 1024).toFixed(1)} KiB of SQL`);
    } catch (error) {
      ui.output.replaceChildren(renderError(error));
    }
  });
}

async function importDatabase(file) {
  await exclusive(async () => {
    try {
      const { statements, rows } = await db.import(await file.text());
      setStatus(`imported ${file.name}: ${statements} statements, ${rows.toLocaleString("en")} rows`);
      ui.output.replaceChildren(h("p", { className: "muted" }, `Imported ${file.name}.`));
    } catch (error) {
      ui.output.replaceChildren(renderError(error));
      setStatus("import failed; nothing was changed");
    }
    await refreshTables();
  });
  ui.importInput.value = "";
}

async function deleteEverything() {
  if (!confirm(`Delete the database "${DB_NAME}" and its history from this browser?`)) return;
  await exclusive(async () => {
    await db.disconnect();
    await history?.close();
    db = null;
    history = null;
    await deleteDatabase(DB_NAME);
    await History.delete(DB_NAME);
    localStorage.removeItem(SYNC_PREF_KEY);
    ui.output.replaceChildren(h("p", { className: "muted" }, "Database deleted. A new, empty one is open."));
    await open();
    setStatus("deleted");
  });
}

// --- sync panel ---------------------------------------------------------------------------

function renderSync() {
  const status = db?.sync?.status ?? "offline";
  ui.syncLight.dataset.status = status;
  ui.syncStatusText.textContent = db?.sync ? status : "not connected";
  ui.syncPending.textContent = String(db?.sync?.pending ?? 0);
  ui.syncToggle.textContent = db?.sync && localStorage.getItem(SYNC_PREF_KEY) ? "Disconnect" : "Connect";
}

function watchSync() {
  if (!db?.sync) return;
  db.sync.addEventListener("status", renderSync);
  db.sync.addEventListener("change", (event) => {
    ui.syncLast.textContent = `${event.detail.tables.join(", ")} at ${new Date().toLocaleTimeString("en-GB")}`;
    renderSync();
  });
  db.sync.addEventListener("reject", (event) => {
    showBanner(`The server refused a change and it was rolled back: ${event.detail.reason}`, "warning");
  });
}

async function toggleSync() {
  const wanted = !(db?.sync && localStorage.getItem(SYNC_PREF_KEY));
  if (wanted) {
    const url = ui.syncUrl.value.trim() || defaultSyncUrl();
    localStorage.setItem(SYNC_PREF_KEY, url);
    await exclusive(async () => {
      // Sync is chosen at connect time, so the connection is reopened with it.
      await db.disconnect();
      await open();
    });
  } else {
    localStorage.removeItem(SYNC_PREF_KEY);
    db.sync.stop();
  }
  renderSync();
}

// --- start ---------------------------------------------------------------------------------

async function open() {
  const syncUrl = localStorage.getItem(SYNC_PREF_KEY);
  ui.syncUrl.value = syncUrl ?? defaultSyncUrl();
  try {
    db = await connect(DB_NAME, syncUrl ? { sync: { url: syncUrl } } : {});
  } catch (error) {
    showBanner(`Cannot open the database: ${error.message}`, "error");
    setStatus("not open");
    throw error;
  }
  history ??= await History.open(DB_NAME);
  ui.dbName.textContent = `· ${DB_NAME}`;
  // Tables change here, in another tab of this demo, or by sync: the sidebar follows.
  db.on("change", () => {
    refreshTables().catch(() => {});
  });
  watchSync();
  renderSync();
  await Promise.all([refreshTables(), refreshHistory()]);
}

for (const example of EXAMPLES) {
  const button = h("button", { type: "button", className: "example" }, example.title);
  button.addEventListener("click", () => {
    ui.sql.value = example.sql;
    runEditor();
  });
  ui.examples.append(h("li", {}, button));
}

ui.run.addEventListener("click", runEditor);
ui.sql.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    runEditor();
  }
});
ui.loadSample.addEventListener("click", loadSample);
ui.exportButton.addEventListener("click", exportDatabase);
ui.importInput.addEventListener("change", () => {
  const [file] = ui.importInput.files;
  if (file) importDatabase(file);
});
ui.deleteButton.addEventListener("click", deleteEverything);
ui.clearHistory.addEventListener("click", async () => {
  await history?.clear();
  await refreshHistory();
});
ui.syncToggle.addEventListener("click", () => toggleSync().catch((error) => showBanner(error.message, "error")));

try {
  await open();
  ui.run.disabled = false;
  setStatus("ready");
} finally {
  // Tests wait for this; it is set even when opening failed, so they see the banner.
  window.demoReady = true;
}
