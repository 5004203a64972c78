-- Live views over Socket.IO.

-- @socket.io/postgres-adapter and @socket.io/postgres-emitter put payloads over the NOTIFY limit
-- (8,000 bytes) here and send only the row id; each adapter deletes rows older than 30 s.
-- Exactly as the adapter's README declares it.
CREATE TABLE IF NOT EXISTS socket_io_attachments (
    id          bigserial UNIQUE,
    created_at  timestamptz DEFAULT NOW(),
    payload     bytea
);

-- The agent status last announced to live viewers. Comparing against it in one UPDATE makes each
-- online/busy/offline transition announced once, by whichever API instance sees it first.
alter table agents add column live_status text;
