/**
 * The abort signal of one upstream request, which the hub makes on every tool call. Node 20 takes
 * microseconds to make an `AbortSignal` (its constructor gives an `EventTarget` a new prototype)
 * and about as long again to add its first listener; this `EventTarget` has an abort signal's
 * members (`aborted`, `reason`, `throwIfAborted`, the `abort` event, `onabort`) at a small fraction
 * of that cost. It goes only where those members are all that is read: the SDK's request options
 * and undici's dispatcher API. Node's own APIs (`fetch`, timers, `AbortSignal.any`) accept nothing
 * but a real `AbortSignal`.
 */
export class RequestSignal extends EventTarget implements AbortSignal {
  aborted = false;
  reason: unknown = undefined;
  onabort: ((this: AbortSignal, event: Event) => unknown) | null = null;

  /** Throws the reason once aborted, as `AbortSignal.throwIfAborted` does. */
  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  /**
   * Aborts with `reason` (none gives an `AbortError`, as `AbortController.abort()` would) and
   * dispatches `abort`; only the first call counts.
   */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new DOMException('This operation was aborted', 'AbortError');
    const event = new Event('abort');
    this.dispatchEvent(event);
    this.onabort?.call(this, event);
  }
}
