#include "sqlite_schema.hpp"

namespace videogate::jobs {

// Column order shared by every SELECT and by row_to_record.
const char* const sqlite_job_columns =
    "id, client, upstream, key_fp, upstream_id, model, prompt, size, seconds, status, progress, "
    "created_at, completed_at, expires_at, remixed_from_video_id, error_code, error_message, "
    "content_url, idempotency_key, updated_at_ms, seq, lost_polls, lost_since_ms";

const char* const sqlite_schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  seq                   INTEGER PRIMARY KEY,  -- the rowid: max + 1 on insert, kept on update
  id                    TEXT    NOT NULL UNIQUE,
  client                TEXT    NOT NULL,
  upstream              TEXT    NOT NULL,
  key_fp                TEXT    NOT NULL,
  upstream_id           TEXT    NOT NULL,
  model                 TEXT    NOT NULL,
  prompt                TEXT    NOT NULL,
  size                  TEXT    NOT NULL,
  seconds               TEXT    NOT NULL,
  status                TEXT    NOT NULL,
  progress              INTEGER NOT NULL,
  created_at            INTEGER NOT NULL,
  completed_at          INTEGER,
  expires_at            INTEGER,
  remixed_from_video_id TEXT,
  error_code            TEXT,
  error_message         TEXT,
  content_url           TEXT,
  idempotency_key       TEXT,
  updated_at_ms         INTEGER NOT NULL,
  lost_polls            INTEGER NOT NULL DEFAULT 0,
  lost_since_ms         INTEGER NOT NULL DEFAULT 0
);
-- Idempotency-Keys, recorded before the vendor is called (DESIGN §4).
CREATE TABLE IF NOT EXISTS idempotency (
  client        TEXT    NOT NULL,
  key           TEXT    NOT NULL,
  fingerprint   TEXT    NOT NULL,
  state         INTEGER NOT NULL,  -- 0 pending, 1 unknown outcome, 2 done
  video_id      TEXT    NOT NULL,
  message       TEXT    NOT NULL,
  created_at    INTEGER NOT NULL,
  PRIMARY KEY (client, key)
) WITHOUT ROWID;
-- Upstream key states, so a restart does not send traffic to a key disabled a minute ago.
CREATE TABLE IF NOT EXISTS key_states (
  upstream          TEXT    NOT NULL,
  key_fp            TEXT    NOT NULL,
  health            INTEGER NOT NULL,
  until_ms          INTEGER NOT NULL,
  since_ms          INTEGER NOT NULL,
  reason            TEXT    NOT NULL,
  step_s            INTEGER NOT NULL,
  rate_limit_streak INTEGER NOT NULL,
  transient_streak  INTEGER NOT NULL,
  PRIMARY KEY (upstream, key_fp)
) WITHOUT ROWID;
-- Every index costs each insert a b-tree write: partial indexes skip rows that need none.
CREATE INDEX IF NOT EXISTS jobs_client_seq ON jobs (client, seq);
CREATE INDEX IF NOT EXISTS jobs_client_idempotency ON jobs (client, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_unfinished ON jobs (seq) WHERE status NOT IN ('completed', 'failed', 'deleted');
-- The job watcher's question, per upstream: which unfinished jobs were asked about longest ago.
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (upstream, updated_at_ms) WHERE status NOT IN ('completed', 'failed', 'deleted');
-- The webhook outbox (DESIGN §9): events written with their job's terminal state.
CREATE TABLE IF NOT EXISTS outbox (
  id                TEXT    PRIMARY KEY,
  type              TEXT    NOT NULL,
  video_id          TEXT    NOT NULL,
  client            TEXT    NOT NULL,
  body              TEXT    NOT NULL,
  created_at        INTEGER NOT NULL,
  status            INTEGER NOT NULL,  -- 0 pending, 1 delivered, 2 failed
  attempts          INTEGER NOT NULL,
  last_error        TEXT    NOT NULL,
  next_attempt_ms   INTEGER NOT NULL,
  first_attempt_ms  INTEGER NOT NULL,
  updated_ms        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (next_attempt_ms) WHERE status = 0;
CREATE INDEX IF NOT EXISTS outbox_by_change ON outbox (status, updated_ms);
-- Images served to vendors that take image URLs only, until they expire.
CREATE TABLE IF NOT EXISTS media (
  token       TEXT    PRIMARY KEY,
  mime        TEXT    NOT NULL,
  bytes       BLOB    NOT NULL,
  expires_ms  INTEGER NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 4;
)sql";

}  // namespace videogate::jobs
