import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { SQL, type Sql } from '../database/sql';

type Waiter = { wake: () => void };

/**
 * Wakes long-polling agents when the queue changes anywhere: every API instance LISTENs on the
 * same Postgres channel, so a job queued by any worker reaches an agent waiting on any instance.
 */
@Injectable()
export class QueueNotifier implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('queue-notifier');
  private readonly waiters = new Set<Waiter>();
  private closing = false;

  constructor(@Inject(SQL) private readonly sql: Sql) {}

  async onModuleInit(): Promise<void> {
    await this.sql.listen('bellows_queue', () => this.wakeAll(), () => {
      // (Re)connected: anything queued while the listener was away must be looked at now.
      this.wakeAll();
    });
    this.logger.log('listening for queue changes');
  }

  // Before the HTTP server closes: it waits for open requests, so long polls must be answered (204) first.
  beforeApplicationShutdown(): void {
    this.closing = true;
    this.wakeAll();
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** Arm before looking at the queue, then wait: a change in between is not missed. */
  arm(): { wait: (ms: number) => Promise<void>; disarm: () => void } {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const waiter: Waiter = { wake };
    this.waiters.add(waiter);
    const disarm = () => {
      this.waiters.delete(waiter);
      wake();
    };
    return {
      disarm,
      wait: async (ms: number) => {
        const timer = setTimeout(disarm, ms);
        await woken;
        clearTimeout(timer);
        this.waiters.delete(waiter);
      },
    };
  }

  get waiting(): number {
    return this.waiters.size;
  }

  private wakeAll(): void {
    for (const waiter of this.waiters) waiter.wake();
    this.waiters.clear();
  }
}
