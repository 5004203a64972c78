-- Automatic retries (issue 14): a job's retry policy as declared, and while it waits out a backoff, when
-- the run-attempt workflow's durable timer releases it to the queue again (shown to users; the timer
-- decides, never this column).
alter table jobs add column retry jsonb;
alter table jobs add column retry_at timestamptz;
