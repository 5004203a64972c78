// Ships job output to the API in numbered batches, strictly one at a time. Nothing is dropped on an API
// outage: a batch stays buffered until acknowledged and new output keeps accumulating behind it.

import type { LogBatchRequest, LogChunkInput } from '../contract/agent-protocol.contract';
import { describeError, errorOf, isJobGone, isSuccess, type ApiClient } from './api-client';
import { backoffDelay, isAbortError, sleep } from './backoff';
import { errorMessage, type Logger } from './logger';

export const DEFAULT_MAX_BATCH_BYTES = 64 * 1024;
export const DEFAULT_MAX_BUFFER_BYTES = 256 * 1024 * 1024;
/** Rough per-chunk JSON overhead, so many tiny chunks still count towards the limits. */
const CHUNK_OVERHEAD_BYTES = 48;

export type LogShipperOptions = {
  client: ApiClient;
  jobId: number;
  logger: Logger;
  /** The server replied `cancel: true`. */
  onCancel?: () => void;
  /** The server says the job is no longer ours (409/410 other than a seq mismatch, or 404). */
  onJobGone?: (reason: string) => void;
  flushIntervalMs?: number;
  maxBatchBytes?: number;
  maxBufferBytes?: number;
  /** Aborting gives up on unsent output (forced shutdown). */
  signal?: AbortSignal;
};

type InFlight = { batch: LogBatchRequest; bytes: number };

export class LogShipper {
  private pending: LogChunkInput[] = [];
  private pendingBytes = 0;
  private inFlight: InFlight | undefined;
  private nextSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private gone = false;
  private droppedBytes = 0;
  private readonly flushIntervalMs: number;
  private readonly maxBatchBytes: number;
  private readonly maxBufferBytes: number;

  constructor(private readonly options: LogShipperOptions) {
    this.flushIntervalMs = options.flushIntervalMs ?? 100;
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.maxBufferBytes = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
  }

  /** True once the server said the job is not ours any more; output is discarded from then on. */
  get jobGone(): boolean {
    return this.gone;
  }

  get bufferedBytes(): number {
    return this.pendingBytes + (this.inFlight?.bytes ?? 0);
  }

  append(chunk: LogChunkInput): void {
    if (this.gone) return;
    const stamped: LogChunkInput = chunk.at ? chunk : { ...chunk, at: new Date().toISOString() };
    const size = chunkBytes(stamped);
    if (this.bufferedBytes + size > this.maxBufferBytes) {
      this.droppedBytes += Buffer.byteLength(chunk.text);
      return;
    }
    if (this.droppedBytes > 0) this.appendDropNotice();
    this.push(stamped, size);
  }

  /** Sends everything buffered; resolves when all of it is acknowledged (or the job is gone / aborted). */
  async flush(): Promise<void> {
    if (this.droppedBytes > 0) this.appendDropNotice();
    while (!this.gone && (this.pending.length > 0 || this.inFlight || this.loop)) {
      this.kick();
      await this.loop;
    }
  }

  /** Forget all buffered output and stop sending (the job was taken away from this agent). */
  discard(): void {
    this.gone = true;
    this.clearTimer();
    this.pending = [];
    this.pendingBytes = 0;
    this.inFlight = undefined;
  }

  private push(chunk: LogChunkInput, size: number): void {
    this.pending.push(chunk);
    this.pendingBytes += size;
    if (this.loop) return; // the running send loop picks it up
    if (this.pendingBytes >= this.maxBatchBytes) this.kick();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.kick(), this.flushIntervalMs);
      this.timer.unref();
    }
  }

  private appendDropNotice(): void {
    const mib = Math.round(this.maxBufferBytes / (1024 * 1024));
    const text = `[bellows] ${this.droppedBytes} bytes of log output were dropped: the API was unreachable and the agent's ${mib} MiB log buffer was full\n`;
    this.droppedBytes = 0;
    const chunk: LogChunkInput = { stream: 'system', text, at: new Date().toISOString() };
    this.push(chunk, chunkBytes(chunk));
  }

  private kick(): void {
    this.clearTimer();
    if (this.loop || this.gone) return;
    this.loop = this.drain().finally(() => {
      this.loop = undefined;
      // Output appended by a microtask after the loop's last check would otherwise wait for the next append.
      if (this.pending.length > 0 && !this.gone) this.kick();
    });
  }

  private async drain(): Promise<void> {
    try {
      let conflicts = 0;
      while (!this.gone && (this.inFlight || this.pending.length > 0)) {
        this.inFlight ??= this.cutBatch();
        const conflict = await this.sendInFlight();
        conflicts = conflict ? conflicts + 1 : 0;
        // Repeated seq conflicts mean the server and agent disagree; don't spin on it.
        if (conflicts > 2) await sleep(backoffDelay(conflicts - 3), this.options.signal);
      }
    } catch (error) {
      if (isAbortError(error)) {
        this.discard();
        return;
      }
      this.options.logger.error(`Log shipping for job ${this.options.jobId} stopped: ${errorMessage(error)}`);
      this.discard();
    }
  }

  private cutBatch(): InFlight {
    const chunks: LogChunkInput[] = [];
    let bytes = 0;
    while (this.pending.length > 0) {
      const size = chunkBytes(this.pending[0]);
      if (chunks.length > 0 && bytes + size > this.maxBatchBytes) break;
      chunks.push(this.pending.shift() as LogChunkInput);
      bytes += size;
    }
    this.pendingBytes -= bytes;
    return { batch: { seq: this.nextSeq++, chunks }, bytes };
  }

  /** Returns true when the reply was a seq conflict (the batch is renumbered or dropped). */
  private async sendInFlight(): Promise<boolean> {
    const inFlight = this.inFlight as InFlight;
    const { jobId, client, logger } = this.options;
    const response = await client.sendLogBatch(jobId, inFlight.batch, { signal: this.options.signal });
    if (isSuccess(response)) {
      // Accepted even when the reply is unreadable (a newer server's): the next batch follows this one.
      const reply = response.ok ? response.body : undefined;
      if (!response.ok && response.violation) logger.warn(`Job ${jobId}: log batch ${inFlight.batch.seq} accepted, but ${response.violation}`);
      this.inFlight = undefined;
      this.nextSeq = reply ? reply.nextSeq : inFlight.batch.seq + 1;
      if (reply?.cancel) this.options.onCancel?.();
      return false;
    }
    const error = errorOf(response.body);
    const code = error?.code;
    if (response.status === 409 && code === 'log_seq_mismatch') {
      const expected = typeof error?.nextSeq === 'number' ? error.nextSeq : undefined;
      if (expected === undefined) return true;
      if (expected > inFlight.batch.seq) {
        // The server already has this batch (our earlier attempt landed but its reply was lost).
        this.inFlight = undefined;
        this.nextSeq = expected;
      } else {
        // The server is missing batches we no longer hold; renumber so what we do hold still arrives.
        if (expected < inFlight.batch.seq) logger.warn(`Job ${jobId}: server expects log batch ${expected} but ${inFlight.batch.seq} is the oldest unacknowledged one; renumbering`);
        inFlight.batch.seq = expected;
        this.nextSeq = expected + 1;
      }
      return true;
    }
    if (isJobGone(response) || response.status === 404) {
      const reason = `HTTP ${response.status}${code ? ` ${code}` : ''}${describeError(response)}`;
      this.discard();
      this.options.onJobGone?.(reason);
      return false;
    }
    // A batch the server will never accept (400/413/…) must not block everything after it.
    logger.warn(`Job ${jobId}: log batch ${inFlight.batch.seq} rejected with HTTP ${response.status}${describeError(response)}; dropping it`);
    this.inFlight = undefined;
    this.nextSeq = inFlight.batch.seq;
    return false;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function chunkBytes(chunk: LogChunkInput): number {
  return Buffer.byteLength(chunk.text) + CHUNK_OVERHEAD_BYTES;
}
