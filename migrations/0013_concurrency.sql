-- Concurrency groups (issue 14): a pipeline (the whole run attempt) or one of its jobs takes a slot of a
-- named group before it may run, and gives it back when it ends. The slots are rows, so they outlive any
-- crash: a workflow that wakes after its worker died finds its claim where it left it.
--
-- A claim is `waiting` (in line, by id: first come, first served) or `holding`. It belongs to one run
-- attempt, or to one job of it (job_id), and goes away when its owner releases it; a claim whose owner
-- ended without releasing (a terminated workflow) is swept by the next acquire in its group.
create table concurrency_claims (
  id bigint generated always as identity primary key,
  project_id uuid not null references projects(id) on delete cascade,
  group_key text not null,
  run_id bigint not null references runs(id) on delete cascade,
  attempt int not null,
  job_id bigint references jobs(id) on delete cascade,
  slot_limit int not null check (slot_limit between 1 and 1000),
  on_conflict text not null check (on_conflict in ('queue', 'cancel_in_progress', 'skip')),
  state text not null default 'waiting' check (state in ('waiting', 'holding')),
  requested_at timestamptz not null default now(),
  acquired_at timestamptz,
  foreign key (run_id, attempt) references run_attempts(run_id, attempt) on delete cascade
);
-- One claim per owner: a retried acquire finds its own row instead of queueing twice.
create unique index concurrency_claims_owner on concurrency_claims (run_id, attempt, coalesce(job_id, 0));
create index concurrency_claims_group on concurrency_claims (project_id, group_key, id);

-- A pipeline's own group, as declared ({group, limit, onConflict}); a job's is part of its definition in `jobs`.
alter table pipeline_versions add column concurrency jsonb;
-- The groups resolved for a run (the ${ref}/${inputs.X} in them filled in): an attempt's pipeline group,
-- and a job's own.
alter table run_attempts add column concurrency jsonb;
alter table jobs add column concurrency jsonb;

-- Why an attempt (and so its run) ended as it did, when a policy ended it: superseded, concurrency_skipped.
alter table run_attempts add column reason text;
alter table runs add column reason text;

-- The queue's "held back" list: jobs a policy keeps out of the queue (a concurrency slot, a retry backoff,
-- a person's approval), without scanning every waiting job.
create index jobs_held on jobs (id) where status = 'awaiting_approval' or (status = 'waiting' and reason in ('concurrency', 'retry_backoff'));
