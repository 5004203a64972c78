export { createRunActivities, type RunActivities, type RunActivityDeps } from './run-attempt.activities';
export { createScheduledRunActivities, type ScheduledRunActivities, type ScheduledRunActivityDeps } from './scheduled-run.activities';
