-- Live graph view of `.act` jobs: the latest set of executing nodes and each node's state, as
-- reported by the agent running the job's current try.
alter table jobs
  add column active_nodes text[] not null default '{}',
  add column node_states jsonb not null default '{}',
  add column nodes_reported_at timestamptz;
