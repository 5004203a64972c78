-- Core schema: tokens, projects, pipelines, runs, jobs, logs, artifacts, agents.
-- Forward-only. Every write from a Temporal activity is keyed by a business key so a retried
-- activity lands on the same row.

create table projects (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique,
  name text not null,
  created_at timestamptz not null default now()
);

-- API tokens (kind 'api') and agent registration tokens (kind 'agent'). Only the SHA-256 of a
-- token is stored; the token itself is shown once.
create table tokens (
  id uuid primary key default gen_random_uuid(),
  kind text not null check (kind in ('api', 'agent')),
  name text not null,
  token_hash text not null unique,
  scopes text[] not null default '{}',
  project_id uuid references projects(id) on delete cascade,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);

create table pipelines (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references projects(id) on delete cascade,
  name text not null,
  latest_version int not null default 0,
  next_run_number int not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (project_id, name)
);

-- Every PUT of a pipeline is a new immutable version; runs point at the version they run.
create table pipeline_versions (
  pipeline_id uuid not null references pipelines(id) on delete cascade,
  version int not null,
  kind text not null check (kind in ('act', 'script')),
  content text not null,
  sha256 text not null,
  labels text[] not null default '{}',
  matrix jsonb not null default '{}',
  env jsonb not null default '{}',
  inputs jsonb not null default '{}',
  jobs jsonb,
  timeout_minutes int not null,
  created_at timestamptz not null default now(),
  primary key (pipeline_id, version)
);

-- Secret values are encrypted (AES-256-GCM) with the deployment's secrets key; never returned by the API.
create table secrets (
  project_id uuid not null references projects(id) on delete cascade,
  name text not null,
  ciphertext text not null,
  updated_at timestamptz not null default now(),
  primary key (project_id, name)
);

-- Queue order is FIFO by run (its jobs share a base rank); people may then move jobs by hand.
create sequence job_queue_rank_seq;

create table runs (
  id bigint generated always as identity primary key,
  project_id uuid not null references projects(id) on delete cascade,
  pipeline_id uuid not null references pipelines(id) on delete cascade,
  pipeline_version int not null,
  number int not null,
  ref text not null,
  commit_sha text,
  inputs jsonb not null default '{}',
  env jsonb not null default '{}',
  status text not null default 'queued' check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  attempt int not null default 1,
  trigger jsonb not null default '{}',
  idempotency_key text unique,
  queue_base bigint not null default nextval('job_queue_rank_seq'),
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  unique (pipeline_id, number),
  foreign key (pipeline_id, pipeline_version) references pipeline_versions(pipeline_id, version)
);
create index runs_project_created on runs (project_id, id desc);
create index runs_status on runs (status, id desc);

create table run_attempts (
  run_id bigint not null references runs(id) on delete cascade,
  attempt int not null,
  status text not null default 'queued' check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  failed_only boolean not null default false,
  workflow_id text not null unique,
  workflow_started_at timestamptz,
  cancel_requested_at timestamptz,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  primary key (run_id, attempt)
);
create index run_attempts_unstarted on run_attempts (created_at) where workflow_started_at is null;

create table agents (
  id uuid primary key default gen_random_uuid(),
  name text not null unique,
  token_id uuid references tokens(id) on delete set null,
  secret_hash text not null unique,
  declared_labels text[] not null default '{}',
  labels_override text[],
  hostname text,
  os text,
  arch text,
  version text,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  deleted_at timestamptz
);

-- A job is one unit an agent claims. 'waiting' jobs wait for their needs; 'queued' jobs are claimable,
-- in queue_rank order. Each claim is a try; a lost agent's try is kept and the job is queued again.
create table jobs (
  id bigint generated always as identity primary key,
  run_id bigint not null references runs(id) on delete cascade,
  attempt int not null,
  key text not null,
  name text not null,
  kind text not null check (kind in ('act', 'script')),
  content text not null,
  matrix jsonb not null default '{}',
  env jsonb not null default '{}',
  labels text[] not null default '{}',
  needs text[] not null default '{}',
  timeout_minutes int not null,
  status text not null default 'waiting'
    check (status in ('waiting', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'skipped')),
  reason text,
  try int not null default 0,
  max_tries int not null default 3,
  agent_id uuid references agents(id) on delete set null,
  exit_code int,
  queue_rank bigint,
  cancel_requested boolean not null default false,
  carried_from_job_id bigint references jobs(id) on delete set null,
  lease_expires_at timestamptz,
  log_seq bigint not null default 0,
  log_bytes bigint not null default 0,
  created_at timestamptz not null default now(),
  queued_at timestamptz,
  started_at timestamptz,
  finished_at timestamptz,
  unique (run_id, attempt, key)
);
create index jobs_queue on jobs (queue_rank, id) where status = 'queued';
create index jobs_running_lease on jobs (lease_expires_at) where status = 'running';
create index jobs_agent on jobs (agent_id) where status = 'running';
create index jobs_run on jobs (run_id, attempt);

create table job_tries (
  job_id bigint not null references jobs(id) on delete cascade,
  try int not null,
  agent_id uuid references agents(id) on delete set null,
  status text not null default 'running' check (status in ('running', 'succeeded', 'failed', 'cancelled', 'lost')),
  reason text,
  exit_code int,
  next_log_batch bigint not null default 0,
  claimed_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  primary key (job_id, try)
);

-- Log lines never pass through Temporal history. seq is per job, across its tries.
create table log_chunks (
  job_id bigint not null references jobs(id) on delete cascade,
  seq bigint not null,
  try int not null,
  stream text not null,
  node text,
  text text not null,
  at timestamptz not null default now(),
  primary key (job_id, seq)
);

create table artifacts (
  id uuid primary key default gen_random_uuid(),
  run_id bigint not null references runs(id) on delete cascade,
  job_id bigint not null references jobs(id) on delete cascade,
  attempt int not null,
  try int not null,
  name text not null,
  size bigint not null,
  sha256 text not null,
  storage_key text not null,
  created_at timestamptz not null default now(),
  unique (job_id, try, name)
);
create index artifacts_run on artifacts (run_id);
create index artifacts_created on artifacts (created_at desc, id);
create index artifacts_name on artifacts using btree (lower(name) text_pattern_ops);
