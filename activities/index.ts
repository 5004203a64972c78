export { createRunActivities, type RunActivities, type RunActivityDeps } from './run-attempt.activities';
