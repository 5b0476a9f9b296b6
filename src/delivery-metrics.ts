// Counts of what the delivery worker did in this process, for /metrics (src/metrics.ts reads them
// when Prometheus scrapes). Plain numbers, so the worker does not need prom-client loaded, and a
// process that runs only the worker (WORKER=only) pays nothing for them.
export type DeliveryChannel = 'push' | 'webhook';
export type DeliveryOutcome = 'delivered' | 'retry' | 'failed' | 'gone' | 'refused';

const deliveries = new Map<string, number>();
let remindersFired = 0;

export function recordDelivery(channel: DeliveryChannel, outcome: DeliveryOutcome): void {
  const key = `${channel}\u0000${outcome}`;
  deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
}

export function recordReminderFired(): void {
  remindersFired += 1;
}

export function deliveryCounts(): { channel: DeliveryChannel; outcome: DeliveryOutcome; count: number }[] {
  return [...deliveries].map(([key, count]) => {
    const [channel, outcome] = key.split('\u0000') as [DeliveryChannel, DeliveryOutcome];
    return { channel, outcome, count };
  });
}

export function remindersFiredCount(): number {
  return remindersFired;
}
