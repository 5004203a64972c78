import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { SQL, type Sql } from '../database/sql';
import { decodeNotification, pickWakeups, QUEUE_CHANNEL, type QueueNotification, type QueuedJobRef } from './queue-wakeups';

type Waiter = { key: number; labels: ReadonlySet<string>; wake: (job: QueuedJobRef | null) => void };

/** A long poll's registration: armed before its claim statement, so a change in between is not missed. */
export type ArmedPoll = {
  /** Resolves when woken (true) or after `ms` / on abort (false). */
  wait: (ms: number, signal?: AbortSignal) => Promise<boolean>;
  disarm: () => void;
  /** The queued jobs this poll was woken for (none for a "wake all"): it owes them to others should it not claim them. */
  readonly wokenFor: QueuedJobRef[];
};

export type WakeupCounts = { targeted: number; all: number; passedOn: number; unmatched: number };

/**
 * Wakes long-polling agents when the queue changes anywhere: every API instance LISTENs on the
 * same Postgres channel. A NOTIFY names the jobs queued (queue-wakeups.ts): each instance wakes, per
 * job, only its longest-waiting poll whose agent has the job's labels. One waiter per job and
 * instance, not every waiter: with 1,000 idle agents that was 1,000 claim statements per job.
 */
@Injectable()
export class QueueNotifier implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('queue-notifier');
  // Insertion order is arming order: the first matching entry is the longest-waiting poll.
  private readonly waiters = new Map<number, Waiter>();
  private nextKey = 1;
  private closing = false;
  readonly wakeups: WakeupCounts = { targeted: 0, all: 0, passedOn: 0, unmatched: 0 };

  constructor(@Inject(SQL) private readonly sql: Sql) {}

  async onModuleInit(): Promise<void> {
    await this.sql.listen(QUEUE_CHANNEL, (payload) => this.deliver(decodeNotification(payload)), () => {
      // (Re)connected: whatever was queued while the listener was away was never announced here.
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
  arm(labels: readonly string[]): ArmedPoll {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const wokenFor: QueuedJobRef[] = [];
    let wasWoken = false;
    const key = this.nextKey++;
    this.waiters.set(key, {
      key,
      labels: new Set(labels),
      wake: (job) => {
        this.waiters.delete(key);
        wasWoken = true;
        if (job) wokenFor.push(job);
        wake();
      },
    });
    const disarm = () => {
      this.waiters.delete(key);
      wake();
    };
    return {
      wokenFor,
      disarm,
      wait: async (ms, signal) => {
        const timer = setTimeout(disarm, ms);
        signal?.addEventListener('abort', disarm, { once: true });
        await woken;
        clearTimeout(timer);
        signal?.removeEventListener('abort', disarm);
        this.waiters.delete(key);
        return wasWoken;
      },
    };
  }

  /**
   * A woken poll that did not claim the jobs it was woken for hands them to the next matching
   * waiter here (its client left, it claimed an earlier job, it timed out or failed).
   */
  passOn(jobs: QueuedJobRef[]): void {
    if (!jobs.length) return;
    this.wakeups.passedOn += jobs.length;
    this.deliver({ kind: 'jobs', jobs });
  }

  get waiting(): number {
    return this.waiters.size;
  }

  private deliver(notification: QueueNotification): void {
    if (notification.kind === 'all') return this.wakeAll();
    const waiters = [...this.waiters.values()];
    const wakeups = pickWakeups(waiters, notification.jobs);
    this.wakeups.targeted += wakeups.length;
    this.wakeups.unmatched += notification.jobs.length - wakeups.length;
    for (const wakeup of wakeups) this.waiters.get(wakeup.key)?.wake(wakeup.job);
  }

  private wakeAll(): void {
    this.wakeups.all++;
    for (const waiter of [...this.waiters.values()]) waiter.wake(null);
  }
}
