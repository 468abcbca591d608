/** What {@link measureThroughput} saw. */
export interface Throughput {
  completed: number;
  errors: number;
  /** The first failure, as status and text (for the log). */
  firstError: string | undefined;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Runs `call` from `concurrency` loops for `durationMs`; a call answering other than 200 is an error. */
export async function measureThroughput(
  call: () => Promise<{ status: number; body?: string }>,
  options: { concurrency: number; durationMs: number },
): Promise<Throughput> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const end = started + options.durationMs;
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const answer = await call().catch((error: unknown) => ({ status: 0, body: String(error) }));
      if (answer.status === 200) latencies.push(performance.now() - t0);
      else {
        errors += 1;
        firstError ??= `${answer.status} ${'body' in answer ? String(answer.body).slice(0, 200) : ''}`;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, () => loop()));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((x, y) => x - y);
  const at = (q: number): number =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  return {
    completed: latencies.length,
    errors,
    firstError,
    perSecond: latencies.length / elapsed,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}
