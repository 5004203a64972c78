import { defineSearchAttributeKey } from '@temporalio/common';

// Registered on the dev server by `npm start` (and by `npm run cluster` on a real cluster) so
// operators can find a run in the Temporal Web UI: BellowsProject="web" AND BellowsRunNumber=42.
export const projectSearchAttribute = defineSearchAttributeKey('BellowsProject', 'KEYWORD');
export const pipelineSearchAttribute = defineSearchAttributeKey('BellowsPipeline', 'KEYWORD');
export const runNumberSearchAttribute = defineSearchAttributeKey('BellowsRunNumber', 'INT');
