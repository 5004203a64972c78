// (being written) — see act-node-registry.ts.

import type { NodeDef } from '../act-node-def';

export const storageNodes: readonly NodeDef[] = [];
