import { Inject, Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CONFIG, type Config } from '../config/config';
import { QueueNotifier } from '../queue/queue-notifier.service';
import { MetricsRepository } from './metrics.repository';

/**
 * Prometheus metrics. Gauges about shared state (queue, runs, agents, log bytes) are read from
 * Postgres at scrape time; claim latency and HTTP-side counters are this instance's own.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly claimLatency = new Histogram({
    name: 'bellows_claim_latency_seconds',
    help: 'Time from a job being queued to an agent claiming it.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers: [this.registry],
  });
  private readonly claims = new Counter({ name: 'bellows_claims_total', help: 'Jobs handed to agents by this instance.', registers: [this.registry] });
  // What a queued job costs in claim statements: the first attempt of each long poll (its re-check)
  // and every attempt after a wakeup, apart, so targeted wakeups can be told from poll churn.
  private readonly claimAttempts = new Counter({
    name: 'bellows_claim_attempts_total',
    help: 'Claim statements run for long-polling agents on this instance, by outcome and by what started them (poll_start: a new long poll; wakeup: a queue notification).',
    labelNames: ['outcome', 'after'],
    registers: [this.registry],
  });

  constructor(
    private readonly repository: MetricsRepository,
    notifier: QueueNotifier,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    new Gauge({
      name: 'bellows_long_polls_waiting',
      help: 'Agents long-polling this instance for a job right now.',
      registers: [this.registry],
      collect() {
        this.set(notifier.waiting);
      },
    });
    new Counter({
      name: 'bellows_queue_wakeups_total',
      help: 'Long polls this instance woke, by kind (targeted: for a named job; all: one per wake-all; passed_on: a job a woken poll did not take, handed on; unmatched: a named job no poll here could take).',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        this.reset();
        const counts = notifier.wakeups;
        this.inc({ kind: 'targeted' }, counts.targeted);
        this.inc({ kind: 'all' }, counts.all);
        this.inc({ kind: 'passed_on' }, counts.passedOn);
        this.inc({ kind: 'unmatched' }, counts.unmatched);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'bellows_' });
    const labelled = (name: string, help: string, labelNames: string[], collect: (gauge: Gauge) => Promise<void>) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        async collect() {
          this.reset();
          await collect(this);
        },
      });
    labelled('bellows_queue_depth', 'Queued jobs per required label set.', ['labels'], async (gauge) => {
      for (const row of await this.repository.queueDepthByLabels()) gauge.set({ labels: row.labels.join(',') }, row.depth);
    });
    labelled('bellows_queue_oldest_seconds', 'Age of the oldest queued job per required label set.', ['labels'], async (gauge) => {
      for (const row of await this.repository.queueDepthByLabels()) gauge.set({ labels: row.labels.join(',') }, row.oldestSeconds);
    });
    labelled('bellows_runs', 'Runs by status.', ['status'], async (gauge) => {
      for (const row of await this.repository.runsByStatus()) gauge.set({ status: row.status }, row.count);
    });
    labelled('bellows_jobs_active', 'Jobs waiting, queued or running.', ['status'], async (gauge) => {
      for (const row of await this.repository.jobsByStatus()) gauge.set({ status: row.status }, row.count);
    });
    labelled('bellows_agents', 'Agents by status (online, busy, offline).', ['status'], async (gauge) => {
      for (const status of ['online', 'busy', 'offline']) gauge.set({ status }, 0);
      for (const row of await this.repository.agentsByStatus(this.config.agentLostAfterSeconds)) gauge.set({ status: row.status }, row.count);
    });
    labelled('bellows_log_bytes_ingested_total', 'Log bytes stored for all jobs.', [], async (gauge) => {
      gauge.set(await this.repository.logBytesTotal());
    });
  }

  observeClaim(queuedAt: Date | null): void {
    this.claims.inc();
    if (queuedAt) this.claimLatency.observe(Math.max(0, (Date.now() - queuedAt.getTime()) / 1000));
  }

  observeClaimAttempt(outcome: 'claimed' | 'empty', after: 'poll_start' | 'wakeup'): void {
    this.claimAttempts.inc({ outcome, after });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
