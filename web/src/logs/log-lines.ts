// The log model: chunks (numbered by seq, per job) split into display lines. Append-only and mutable
// for speed; React re-renders through a version counter.
import Anser from 'anser';
import type { LogChunk } from '../api/wire';

export type LogLine = { seq: number; node: string | null; stream: LogChunk['stream']; text: string; plainText?: string };

export function chunkLines(chunk: LogChunk): LogLine[] {
  const body = chunk.text.endsWith('\n') ? chunk.text.slice(0, -1) : chunk.text;
  return body.split('\n').map((text) => ({ seq: chunk.seq, node: chunk.node, stream: chunk.stream, text: text.replace(/\r$/, '') }));
}

export function plainText(line: LogLine): string {
  if (line.plainText === undefined) line.plainText = line.text.includes('\u001b') ? Anser.ansiToText(line.text) : line.text;
  return line.plainText;
}

/** Section of a node id: the node itself, and for nested ids (`group/child`) also every enclosing group. */
export function nodeMatches(lineNode: string | null, filter: string): boolean {
  return lineNode === filter || (lineNode !== null && lineNode.startsWith(`${filter}/`));
}
