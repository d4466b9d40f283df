// One AbortController per request, aborted when its client goes away or the server shuts down.
// AbortSignal.any([request, closing]) did the same at about 30 us a request (measured on this
// machine against 2 us for this): every composite signal registers itself, by WeakRef, with the
// server's long-lived closing signal, so each call walks and grows that set, and the collector
// clears the refs later. Here one listener on `closing` aborts the requests still open.
export class RequestAborts {
  private readonly open = new Set<AbortController>();

  constructor(private readonly closing: AbortSignal) {
    closing.addEventListener('abort', () => {
      for (const c of this.open) c.abort(closing.reason);
      this.open.clear();
    });
  }

  /** A request's controller; call the returned `done` when shutdown need no longer abort it. */
  start(): { controller: AbortController; done: () => void } {
    const controller = new AbortController();
    if (this.closing.aborted) {
      controller.abort(this.closing.reason);
      return { controller, done: () => undefined };
    }
    this.open.add(controller);
    return { controller, done: () => this.open.delete(controller) };
  }
}
