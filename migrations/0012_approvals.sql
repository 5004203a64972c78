-- Approval gates (issue 14): a job of kind 'approval' runs on no agent; it waits with status
-- 'awaiting_approval' until someone allowed decides (or its timeout passes). The decision is kept
-- on the job: {decision: approved|rejected|timed_out, by, at, comment}.
alter table jobs drop constraint jobs_kind_check;
alter table jobs add constraint jobs_kind_check check (kind in ('act', 'script', 'approval'));
alter table jobs drop constraint jobs_status_check;
alter table jobs add constraint jobs_status_check
  check (status in ('waiting', 'queued', 'running', 'awaiting_approval', 'succeeded', 'failed', 'cancelled', 'skipped'));
alter table jobs add column approvers text[] not null default '{}';
alter table jobs add column approval jsonb;
