// The listeners of one source of events (an Owner, a shared link, a worker link): added, removed,
// called in order. A listener that throws does not stop the others; its error is rethrown
// on its own so it still shows.

export class Listeners {
  #fns = new Set();

  /** Adds `fn`; returns the function that removes it. */
  add(fn) {
    this.#fns.add(fn);
    return () => this.#fns.delete(fn);
  }

  emit(event) {
    for (const fn of this.#fns) {
      try {
        fn(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
