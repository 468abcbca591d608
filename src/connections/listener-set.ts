import type { Logger } from '../observability/index.js';

/**
 * Subscribers to one kind of event. Each runs on its own later microtask, so a listener that
 * calls back into the emitter cannot reenter the step that emitted, and one that throws is
 * logged without stopping the others.
 */
export class ListenerSet<Args extends unknown[]> {
  private readonly listeners = new Set<(...args: Args) => void>();

  constructor(private readonly logger: Logger) {}

  /** Adds a listener; returns the function that removes it. */
  add(listener: (...args: Args) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Calls every current listener with `args`, later. */
  emit(...args: Args): void {
    for (const listener of [...this.listeners]) {
      queueMicrotask(() => {
        try {
          listener(...args);
        } catch (error) {
          this.logger.warn({ err: error }, 'connection event listener threw');
        }
      });
    }
  }
}
