// Turns a stream of decoded text into log lines: complete lines keep their "\n" so the server (and any
// reader) can tell a partial line flushed early (a progress bar) from a finished one and rejoin them.

import { createSecretMasker, type SecretMasker } from './secret-masker';

export const MAX_LINE_BYTES = 16 * 1024;

export type LineSplitterOptions = {
  masker?: SecretMasker;
  maxLineBytes?: number;
};

/** Pure, synchronous line assembly with masking; the idle timer lives in {@link IdleFlushingSplitter}. */
export class LineSplitter {
  private buffer = '';
  private readonly masker: SecretMasker;
  private readonly maxLineBytes: number;

  constructor(options: LineSplitterOptions = {}) {
    this.masker = options.masker ?? createSecretMasker([]);
    this.maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  }

  get pending(): string {
    return this.buffer;
  }

  /** Complete lines (masked, split at maxLineBytes) found after appending `text`. */
  push(text: string): string[] {
    this.buffer += text;
    const out: string[] = [];
    let newline = this.buffer.indexOf('\n');
    while (newline !== -1) {
      const line = this.buffer.slice(0, newline + 1);
      this.buffer = this.buffer.slice(newline + 1);
      out.push(...splitByBytes(this.masker.mask(line), this.maxLineBytes));
      newline = this.buffer.indexOf('\n');
    }
    // Output without newlines must not grow the buffer without bound.
    if (Buffer.byteLength(this.buffer) > this.maxLineBytes) out.push(...this.flushPartial());
    return out;
  }

  /** Emits the pending partial line, except a tail that might be the start of a secret. */
  flushPartial(): string[] {
    if (this.buffer === '') return [];
    const cut = this.masker.safeCut(this.buffer);
    if (cut === 0) return [];
    const head = this.buffer.slice(0, cut);
    this.buffer = this.buffer.slice(cut);
    return splitByBytes(this.masker.mask(head), this.maxLineBytes);
  }

  /** The stream ended: nothing can complete a held-back tail any more, so emit all of it. */
  end(): string[] {
    const rest = this.buffer;
    this.buffer = '';
    return rest === '' ? [] : splitByBytes(this.masker.mask(rest), this.maxLineBytes);
  }
}

/** Splits on UTF-8 byte length without cutting a multi-byte character in half. */
export function splitByBytes(text: string, maxBytes: number): string[] {
  if (Buffer.byteLength(text) <= maxBytes) return [text];
  const bytes = Buffer.from(text, 'utf8');
  const parts: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + maxBytes, bytes.length);
    // 0b10xxxxxx is a continuation byte: back off to the start of that character.
    while (end < bytes.length && end > start && (bytes[end] & 0xc0) === 0x80) end--;
    if (end === start) end = Math.min(start + maxBytes, bytes.length);
    parts.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
  }
  return parts;
}

export type IdleFlushingSplitterOptions = LineSplitterOptions & {
  /** A partial line is emitted after this much silence so progress output shows up live. */
  idleFlushMs?: number;
};

/** A {@link LineSplitter} that also flushes a partial line once the stream has been idle for a while. */
export class IdleFlushingSplitter {
  private readonly splitter: LineSplitter;
  private readonly idleFlushMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly emit: (text: string) => void,
    options: IdleFlushingSplitterOptions = {},
  ) {
    this.splitter = new LineSplitter(options);
    this.idleFlushMs = options.idleFlushMs ?? 250;
  }

  write(text: string): void {
    this.clearTimer();
    for (const line of this.splitter.push(text)) this.emit(line);
    if (this.splitter.pending !== '') {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        for (const line of this.splitter.flushPartial()) this.emit(line);
      }, this.idleFlushMs);
      this.timer.unref();
    }
  }

  end(): void {
    this.clearTimer();
    for (const line of this.splitter.end()) this.emit(line);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
