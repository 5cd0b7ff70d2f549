/**
 * The background fetch loop of a stream consumer (windowed aggregates, profile interests):
 * `runOnce` over and over until `stop`; a failed round goes to `onError` and is retried after
 * `retryMs` (the unacked events are redelivered by the log).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventConsumer } from '../ports/event-log.js';

export class ConsumerLoop {
  private loop: Promise<void> | null = null;
  private stopping = false;

  constructor(
    private readonly runOnce: (consumer: EventConsumer) => Promise<unknown>,
    private readonly onError?: (e: unknown) => void,
    private readonly retryMs = 500,
  ) {}

  /** Starts the loop on `consumer` (no-op while it runs). */
  start(consumer: EventConsumer): void {
    if (this.loop !== null) return;
    this.stopping = false;
    this.loop = (async () => {
      while (!this.stopping) {
        try {
          await this.runOnce(consumer);
        } catch (e) {
          this.onError?.(e);
          await sleep(this.retryMs);
        }
      }
    })();
  }

  /** Stops the loop: closes `consumer` (ending a fetch in progress) and waits for the round. */
  async stop(consumer: EventConsumer | null): Promise<void> {
    this.stopping = true;
    await consumer?.close();
    await this.loop;
    this.loop = null;
  }
}
