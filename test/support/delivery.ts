// The delivery worker for tests that watch deliveries in one process (test/delivery/): polls and
// backoff scaled to milliseconds, loopback allowed (the receivers listen there), and its log
// captured, so nothing waits for real minutes and every attempt's log line can be read.
import { startDeliveryWorker, type DeliveryWorker, type DeliveryWorkerOptions } from '../../src/delivery-worker.ts';
import { capturedLog, type CapturedLog, type TestApi } from './api.ts';

export type TestDeliveryWorker = {
  /** Starts a worker over the API's pool; `overrides` change the test settings for this test. */
  readonly start: (overrides?: Partial<DeliveryWorkerOptions>) => void;
  /** What the worker started last has logged. */
  readonly log: () => CapturedLog;
};

/**
 * For one describe: a worker a test starts when it is ready for deliveries, stopped after each
 * test (waiting for what it has in flight). `defaults` are the describe's own settings (a VAPID pair).
 */
export function useDeliveryWorker(api: () => TestApi, defaults: Partial<DeliveryWorkerOptions> = {}): TestDeliveryWorker {
  let worker: DeliveryWorker | undefined;
  let log: CapturedLog | undefined;
  afterEach(async () => {
    await worker?.stop(5_000);
    worker = undefined;
  });
  return {
    start: (overrides = {}) => {
      log = capturedLog();
      worker = startDeliveryWorker({
        db: api().pool,
        log: log.log,
        pollMs: 50,
        concurrency: 4,
        retryBaseMs: 200,
        giveUpMs: 60_000,
        webhookDisableAfterMs: 60_000,
        outbound: { allowLoopback: true, timeoutMs: 2_000, maxResponseBytes: 65_536 },
        ...defaults,
        ...overrides,
      });
    },
    log: () => {
      if (!log) throw new Error('no delivery worker was started in this test');
      return log;
    },
  };
}

/** Resolves with what `probe` gives once it gives something; fails naming `what` after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
