-- Re-run chosen jobs: the job keys an attempt was asked to re-run (matrix names already expanded to
-- their keys). Null means every job (or, with failed_only, every job that did not succeed); the jobs
-- that need them re-run too, and the rest carry over from the previous attempt.
alter table run_attempts add column rerun_jobs text[];
