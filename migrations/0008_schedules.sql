-- Schedules: a pipeline started on a cron or an interval. Temporal holds the schedule itself (its
-- timers, pause state and overlap policy, visible in the Temporal UI under the same id); this table holds
-- what each of its runs starts, so an edit to ref or inputs needs no Temporal change.
-- Forward-only. Runs a schedule starts carry trigger = {kind: 'schedule', scheduleId} and
-- idempotency_key 'schedule:<id>:<workflow id>', so a retried start never makes a second run.
-- runs.trigger is free-form jsonb (no constraint on its kind), so 'schedule' needs no change there.

create table schedules (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references projects(id) on delete cascade,
  pipeline text not null,
  cron text,
  every text,
  ref text,
  inputs jsonb not null default '{}',
  timezone text not null default 'UTC',
  overlap text not null default 'skip' check (overlap in ('skip', 'buffer_one', 'allow_all', 'cancel_other')),
  paused boolean not null default false,
  created_by text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((cron is null) <> (every is null))
);
create index schedules_project on schedules (project_id, created_at);

-- A schedule's recent runs: looked up by the schedule id in the trigger.
create index runs_schedule on runs ((trigger->>'scheduleId'), id desc) where trigger->>'kind' = 'schedule';
