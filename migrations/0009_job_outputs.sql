-- Job outputs: the KEY=VALUE pairs a job wrote to $BELLOWS_OUTPUT, reported with its finish. Jobs that
-- need it receive them in their claim; a job carried over into a failed-only re-run copies them.
alter table jobs add column outputs jsonb not null default '{}';
