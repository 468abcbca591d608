import type { Logger } from '../observability/index.js';

/**
 * What a hub releases when it closes, in reverse order of acquisition; a step that fails is logged
 * and the rest still run.
 */
export class Cleanups {
  private readonly steps: Array<() => Promise<void>> = [];

  constructor(private readonly logger: Logger) {}

  push(...steps: Array<() => Promise<void>>): void {
    this.steps.push(...steps);
  }

  async run(): Promise<void> {
    const steps = this.steps.splice(0).reverse();
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        this.logger.error({ err }, 'error while shutting down');
      }
    }
  }
}
