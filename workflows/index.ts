export { runAttemptWorkflow } from './run-attempt.workflow';
export { scheduledRunWorkflow } from './scheduled-run.workflow';
