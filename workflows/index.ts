export { runAttemptWorkflow } from './run-attempt.workflow';
