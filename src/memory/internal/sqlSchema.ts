/**
 * The memory area's tables (migration domain `"memory"`), for `SqlStore`.
 *
 * - `weft_sessions`: one row a session — its typed state as JSON text, and
 *   `next_seq`, the number the next appended message gets. Every write to a
 *   session's history first updates this row, which on PostgreSQL locks it
 *   until commit, so appends and replacements of one session never interleave.
 * - `weft_messages`: a session's messages in `seq` order. Seq numbers only
 *   need to be ordered, not dense: a condensed history's summary takes the
 *   numbers just below the first message kept (negative ones when needed).
 *   The primary key (session_id, seq) is the index that reads the newest N.
 * - `weft_paused_runs`: paused agent runs. A taken run keeps its row with
 *   `used_at` set and its value cleared, so its id is never reused and a
 *   second take says "used". `put_order` breaks ties between runs paused in
 *   the same millisecond, so runs are listed in the order they were stored.
 *
 * Values are TEXT holding JSON (not JSONB) so what is read back is the text
 * that was written, key order included, on SQLite and PostgreSQL alike.
 * Append new migrations to the list; never edit one that has shipped.
 */
import { Effect } from "effect"
import type { Migration } from "../../store/Database.ts"

/** The migration domain (`weft_schema.domain`) of the memory area. */
export const DOMAIN = "memory"

export const migrations: ReadonlyArray<Migration> = [
  (sql) =>
    Effect.gen(function* () {
      yield* sql`CREATE TABLE weft_sessions (
        session_id TEXT PRIMARY KEY,
        next_seq BIGINT NOT NULL,
        state TEXT
      )`
      // SQLite keeps a WITHOUT ROWID table in primary-key order: a session's messages sit together.
      const clustered = sql.onDialectOrElse({
        sqlite: () => sql.literal(" WITHOUT ROWID"),
        orElse: () => sql.literal("")
      })
      yield* sql`CREATE TABLE weft_messages (
        session_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
      )${clustered}`
      yield* sql`CREATE TABLE weft_paused_runs (
        id TEXT PRIMARY KEY,
        session_id TEXT,
        paused_at BIGINT NOT NULL,
        put_order BIGINT NOT NULL,
        value TEXT,
        used_at BIGINT
      )`
      yield* sql`CREATE INDEX weft_paused_runs_session ON weft_paused_runs (session_id)`
      yield* sql`CREATE INDEX weft_paused_runs_order ON weft_paused_runs (put_order)`
      yield* sql`CREATE INDEX weft_paused_runs_live ON weft_paused_runs (paused_at, put_order) WHERE used_at IS NULL`
    })
]
