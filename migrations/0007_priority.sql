-- Priority: a pipeline's (per version), overridable per trigger; its runs' jobs carry it. The queue
-- goes by priority (higher first), then by its own order (queue_rank), so the claim's index leads with
-- the priority, negated so that one ascending scan gives the claim order.
alter table pipeline_versions add column priority int not null default 0;
alter table runs add column priority int not null default 0;
alter table jobs add column priority int not null default 0;
drop index jobs_queue;
create index jobs_queue on jobs ((-priority), queue_rank, id) where status = 'queued';
