// Parses the file a job names by $BELLOWS_OUTPUT: `KEY=VALUE` lines and GitHub Actions' multi-line form
// `KEY<<DELIMITER` … `DELIMITER`. Pure, so every rule (and every error's wording) is pinned in unit tests.

import { MAX_OUTPUTS_BYTES, OUTPUT_KEY_PATTERN, OUTPUT_KEY_RULE, outputsSize } from '../contract/agent-protocol.contract';

export type ParsedOutputs = { ok: true; outputs: Record<string, string> } | { ok: false; error: string };

/**
 * Blank lines are ignored; a later KEY replaces an earlier one (a job may update a value as it goes).
 * Lines end in \n or \r\n. A malformed line fails the whole file, naming the line: an output silently
 * dropped would surface much later, as an empty value in a job that needs this one.
 */
export function parseOutputsFile(text: string): ParsedOutputs {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  // The newline ending the last line leaves an empty string behind, not a line of its own.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const fail = (line: number, problem: string): ParsedOutputs => ({ ok: false, error: `$BELLOWS_OUTPUT line ${line}: ${problem}` });
  const checkKey = (key: string, line: number): ParsedOutputs | undefined =>
    OUTPUT_KEY_PATTERN.test(key) ? undefined : fail(line, `"${key}" is not a valid output name (${OUTPUT_KEY_RULE})`);

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const number = i + 1;
    if (line.trim() === '') continue;
    const heredoc = line.indexOf('<<');
    const equals = line.indexOf('=');
    if (heredoc > 0 && (equals === -1 || heredoc < equals)) {
      const key = line.slice(0, heredoc);
      const delimiter = line.slice(heredoc + 2);
      const bad = checkKey(key, number);
      if (bad) return bad;
      if (delimiter === '') return fail(number, `${key}<< needs a delimiter after <<`);
      const body: string[] = [];
      let end = -1;
      for (let j = i + 1; j < lines.length; j++) {
        if (lines[j] === delimiter) {
          end = j;
          break;
        }
        body.push(lines[j]);
      }
      if (end === -1) return fail(number, `${key}<<${delimiter} is never closed by a line "${delimiter}"`);
      outputs[key] = body.join('\n');
      i = end;
      continue;
    }
    if (equals <= 0) return fail(number, `expected KEY=VALUE or KEY<<DELIMITER, got "${truncate(line)}"`);
    const key = line.slice(0, equals);
    const bad = checkKey(key, number);
    if (bad) return bad;
    outputs[key] = line.slice(equals + 1);
  }
  const size = outputsSize(outputs);
  if (size > MAX_OUTPUTS_BYTES) return { ok: false, error: `$BELLOWS_OUTPUT: the outputs take ${size} bytes, more than the ${MAX_OUTPUTS_BYTES} allowed` };
  return { ok: true, outputs };
}

function truncate(line: string): string {
  return line.length > 60 ? `${line.slice(0, 60)}…` : line;
}
