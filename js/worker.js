// The dedicated Worker of `connect(name, { worker: true })`: for a shared database it stands for
// its page in the election of the owner and runs the database here when elected; for a private
// one (storage: "memory") it runs that page's Owner. Either way queries never block the page.
import { Owner } from "./owner.js";
import { SharedLink } from "./shared.js";
import { serveLocal } from "./local.js";
import { setWasmSource } from "./wasm.js";

let serve = null;

self.onmessage = (event) => {
  const message = event.data ?? {};
  // The page's `wasm` option, as a URL's text or a compiled module.
  if (message.wasm != null) setWasmSource(message.wasm);
  if (message.kind === "call") {
    serve?.(message);
  } else if (message.kind === "private") {
    const { name, durability, context } = message;
    serve = serveLocal(self, () => Owner.open(name, { storage: "memory", durability }), { context });
  } else if (message.kind === "shared") {
    // A shared database: the page's connections reach it like any other context, by BroadcastChannel.
    SharedLink.get(message.name).join({ durability: message.durability });
  } else if (message.kind === "leave") {
    // The page's last connection went: let go of the database before the page terminates us,
    // so the page's `disconnect()` resolves with the database free.
    SharedLink.get(message.name)
      .leave()
      .finally(() => self.postMessage({ kind: "left" }));
  }
};
