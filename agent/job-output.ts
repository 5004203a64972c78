// Connects raw process output to the log shipper: one line splitter per stream (and graph node), every
// line masked, system lines from the agent stamped with their own stream.

import type { LogChunkInput, LogStream } from '../contract/agent-protocol.contract';
import type { OutputSink } from './job-executor';
import { IdleFlushingSplitter, MAX_LINE_BYTES, splitByBytes } from './line-splitter';
import type { SecretMasker } from './secret-masker';

export type ChunkConsumer = { append(chunk: LogChunkInput): void };

export type JobOutput = OutputSink & {
  /** The job's processes are gone: emit any held-back partial lines. */
  end(): void;
};

export type JobOutputOptions = {
  idleFlushMs?: number;
  maxLineBytes?: number;
};

export function createJobOutput(consumer: ChunkConsumer, masker: SecretMasker, options: JobOutputOptions = {}): JobOutput {
  const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  const splitters = new Map<string, IdleFlushingSplitter>();

  const splitterFor = (stream: Exclude<LogStream, 'system'>, node: string | undefined): IdleFlushingSplitter => {
    const key = `${stream}\u0000${node ?? ''}`;
    let splitter = splitters.get(key);
    if (!splitter) {
      splitter = new IdleFlushingSplitter((text) => consumer.append(withNode({ stream, text }, node)), {
        masker,
        maxLineBytes,
        idleFlushMs: options.idleFlushMs,
      });
      splitters.set(key, splitter);
    }
    return splitter;
  };

  return {
    write(stream, text, node): void {
      splitterFor(stream, node).write(text);
    },
    system(text, node): void {
      const line = text.endsWith('\n') ? text : `${text}\n`;
      for (const part of splitByBytes(masker.mask(line), maxLineBytes)) consumer.append(withNode({ stream: 'system', text: part }, node));
    },
    end(): void {
      for (const splitter of splitters.values()) splitter.end();
    },
  };
}

function withNode(chunk: LogChunkInput, node: string | undefined): LogChunkInput {
  return node === undefined ? chunk : { ...chunk, node };
}
