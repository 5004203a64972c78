-- Webhooks: hooks that start a pipeline's runs, and the log of every delivery they received.
-- Forward-only. A run started by a delivery carries runs.idempotency_key = 'hook:<hookId>:<deliveryId>',
-- so a delivery sent twice (or redelivered) lands on the same run.

create table hooks (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references projects(id) on delete cascade,
  pipeline text not null,
  format text not null check (format in ('github', 'standard', 'token')),
  -- HMAC verification needs the plain secret, so it is encrypted (AES-256-GCM, the secrets key), not hashed.
  -- Null for the token format, which authenticates with a trigger-scoped API token instead.
  secret_ciphertext text,
  -- The token minted with a token-format hook; revoked with the hook.
  token_id uuid references tokens(id) on delete set null,
  events text[] not null default '{}',
  branches text[] not null default '{}',
  description text,
  created_by text not null,
  created_at timestamptz not null default now(),
  check ((format = 'token') = (secret_ciphertext is null))
);
create index hooks_project on hooks (project_id, created_at);

-- Every request to a hook, accepted or not. Enough of the request is kept to process it again
-- (redelivery): the body up to 1 MiB and the headers that carry the event and delivery id.
-- Signatures and bearer tokens are never stored.
create table hook_deliveries (
  id bigint generated always as identity primary key,
  hook_id uuid not null references hooks(id) on delete cascade,
  delivery_id text,
  event text,
  verdict text not null check (verdict in ('accepted', 'duplicate', 'skipped', 'rejected', 'failed')),
  -- True when the request proved it came from the sender (signature or token); only those may be redelivered.
  verified boolean not null default false,
  reason text,
  run_id bigint references runs(id) on delete set null,
  response_code int not null,
  headers jsonb not null default '{}',
  body bytea,
  body_bytes int not null default 0,
  redelivery_of bigint references hook_deliveries(id) on delete set null,
  redelivered_by text,
  received_at timestamptz not null default now()
);
create index hook_deliveries_hook on hook_deliveries (hook_id, id desc);
