// The node library against the reference's: every type it defines is implemented or refused with a
// reason, and the node-library table in docs/act.md names each one with the right status.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeDef, refusal, supportedNodeTypes } from '../../agent/act';
import { REFUSED_TYPES } from '../../agent/act/act-node-registry';

/** The node types of the reference library (actionforge/actrun-cli, nodes/*.yml), by the ids their files declare. */
const REFERENCE_TYPES = [
  'affirm', 'array-add', 'array-append', 'array-get', 'artifact-download', 'artifact-upload', 'bool-and', 'bool-or', 'bool-xand', 'bool-xor',
  'branch', 'comment', 'concurrent-exec', 'concurrent-for-each-loop', 'concurrent-for-loop', 'const-bool', 'const-number', 'const-string',
  'credentials-accesskey', 'credentials-ssh', 'credentials-userpass', 'dir-create', 'dir-walk', 'docker-run', 'env-array', 'env-get',
  'file-compress', 'file-decompress', 'file-read', 'file-write', 'filepath-join-array', 'filepath-join', 'filepath-location', 'filepath-op',
  'filepath-rel', 'filepath-sort', 'for-each-loop', 'for-loop', 'freeze', 'gh-action', 'gh-start', 'git-checkout', 'git-clone', 'git-commit',
  'git-pull', 'git-push', 'git-stage', 'group-inputs', 'group-outputs', 'group', 'hash', 'http', 'item-stats', 'length', 'llm-prompt',
  'math-add', 'math-compare-op', 'math-divide', 'math-equal', 'math-greater-equal', 'math-greater', 'math-less', 'math-lesser-equal',
  'math-modulo', 'math-multiply', 'math-not-equal', 'math-op', 'math-subtract', 'negate', 'number-array', 'p4-credentials', 'p4-print',
  'p4-run', 'p4-sync', 'parser', 'print', 'process-exit', 'property-getter', 'property-setter', 'random-number', 'random-stream',
  'repo-download', 'run-exec', 'run-python-embedded', 'run', 'secret-get', 'secret-set', 'secret', 'select-data', 'select-exec', 'sequence',
  'serializer', 'sleep', 'start', 'storage-delete', 'storage-download', 'storage-provider-s3', 'storage-upload', 'storage-walk',
  'stream-cache', 'string-array', 'string-decode', 'string-encode', 'string-fmt', 'string-join-array', 'string-join', 'string-match-regex',
  'string-match', 'string-replace', 'string-split', 'string-transform', 'switch-arch', 'switch-platform', 'system-info', 'test', 'wait-for',
].map((name) => `core/${name}@v1`);

describe('the node library', () => {
  it('implements every reference node type, or refuses it with a reason', () => {
    const missing = REFERENCE_TYPES.filter((type) => nodeDef(type) === undefined && refusal(type) === undefined);
    expect(missing).toEqual([]);
    expect(REFERENCE_TYPES.filter((type) => refusal(type) !== undefined).sort()).toEqual([...REFUSED_TYPES].sort());
    expect(supportedNodeTypes()).toHaveLength(REFERENCE_TYPES.length - REFUSED_TYPES.length);
    // Types outside the library stay unknown rather than refused.
    expect(refusal('core/teleport@v1')).toBeUndefined();
  });

  it('is listed in docs/act.md, each type once, with its status', () => {
    const readme = readFileSync('docs/act.md', 'utf8');
    const rows = readme.split('\n').filter((line) => line.startsWith('| core/'));
    const listed = new Map<string, string>();
    for (const row of rows) {
      const [types, status] = row.split('|').slice(1, 3).map((cell) => cell.trim());
      for (const type of types.match(/core\/[\w-]+@v\d+/g) ?? []) {
        expect(listed.has(type), `${type} is listed twice`).toBe(false);
        listed.set(type, status);
      }
    }
    for (const type of REFERENCE_TYPES) expect(listed.get(type), type).toBe(refusal(type) ? 'refused' : 'yes');
    expect([...listed.keys()].sort()).toEqual([...REFERENCE_TYPES].sort());
  });
});
