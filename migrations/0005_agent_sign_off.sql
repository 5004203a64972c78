-- An agent that stops cleanly says so: it is offline at once instead of after the lease
-- (BELLOWS_AGENT_LOST_AFTER_SECONDS). Any later heartbeat, claim or registration clears it.
alter table agents add column signed_off_at timestamptz;
