/**
 * `Memory`'s store in SQL: session histories, typed state and paused agent
 * runs in the Weft database (`src/store/Database.ts`) — the embedded SQLite
 * file by default, or PostgreSQL — so they outlive the process.
 *
 * It keeps the four promises of the `Store` contract (`Store.ts`) on both
 * databases, with the database doing the deciding rather than this process:
 * - a batch of messages is appended in one transaction, all or none;
 * - `replaceOldest` deletes the oldest messages and inserts their replacement
 *   in one transaction, numbering it just below the first message kept, so
 *   messages appended meanwhile stay after it;
 * - writes to one session's history go through its `weft_sessions` row, which
 *   PostgreSQL locks until commit, so two processes appending to one session
 *   never get the same sequence number;
 * - `takePaused` is one `UPDATE … WHERE used_at IS NULL RETURNING`: of any
 *   number of takes racing from any number of processes, one sees the row
 *   still live; the rest see it used. The used row stays, value cleared, so
 *   its id is never reused.
 *
 * Reading the newest N messages is an indexed `ORDER BY seq DESC LIMIT N` on
 * the (session_id, seq) primary key, not a read of the whole history.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import * as Database from "../store/Database.ts"
 * import * as Memory from "./Memory.ts"
 * import * as SqlStore from "./SqlStore.ts"
 *
 * // Memory in the database the environment names (DATABASE_URL, else .weft/).
 * const program = Effect.gen(function* () {
 *   const memory = yield* Memory.Memory
 *   return yield* memory.history("session-1", { last: 20 })
 * }).pipe(Effect.provide(SqlStore.layerMemory.pipe(Layer.provide(Database.layerConfig()))))
 * ```
 */
import { Effect, Layer, type Schema } from "effect"
import { chunksOf } from "effect/Array"
import { SqlClient, type SqlError } from "effect/sql"
import { InvalidOption } from "../core/InvalidOption.ts"
import { migrate } from "../store/Database.ts"
import { queryFailed, StoreFailed, type StoreError } from "../store/StoreError.ts"
import { DOMAIN, migrations } from "./internal/sqlSchema.ts"
import * as Memory from "./Memory.ts"
import {
  InvalidMessage,
  InvalidPausedRun,
  InvalidState,
  MemoryError,
  type MemoryErrorReason,
  PausedRunExists,
  PausedRunNotFound,
  PausedRunUsed
} from "./MemoryError.ts"
import { MemoryStore, type PausedRunInfo, type Store, type StoredPausedRun } from "./Store.ts"

/** Rows a multi-row insert carries at most: 3 parameters each, far below SQLite's 32k and PostgreSQL's 65k. */
const INSERT_CHUNK = 1_000

/** A failed statement: the store's error, retryable when the database said so (a lock, a lost connection). */
const databaseFailed =
  (operation: string) =>
  (error: SqlError.SqlError): MemoryError =>
    new MemoryError({ reason: new StoreFailed({ error: queryFailed(`memory.${operation}`, error) }) })

const messageReason = (sessionId: string) => (issue: string) => new InvalidMessage({ sessionId, issue })
const stateReason = (sessionId: string) => (issue: string) => new InvalidState({ sessionId, issue })
const pausedReason = (id: string) => (issue: string) => new InvalidPausedRun({ id, issue })

/** Stored JSON text back to a value; text that is not JSON (a damaged row) is the given reason. */
const parseAll = (
  texts: ReadonlyArray<string>,
  reason: (issue: string) => MemoryErrorReason
): Effect.Effect<Array<Schema.Json>, MemoryError> =>
  Effect.try({
    try: () => texts.map((text) => JSON.parse(text) as Schema.Json),
    catch: (cause) =>
      new MemoryError({
        reason: reason(
          `a stored value is not JSON: ${cause instanceof Error ? cause.message : String(cause)}`
        )
      })
  })

interface PausedRow {
  readonly id: string
  readonly session_id: string | null
  readonly paused_at: number | string
  readonly value: string | null
  readonly used_at: number | string | null
}

const infoOf = (row: Pick<PausedRow, "id" | "session_id" | "paused_at">): PausedRunInfo =>
  row.session_id === null
    ? { id: row.id, pausedAt: Number(row.paused_at) }
    : { id: row.id, sessionId: row.session_id, pausedAt: Number(row.paused_at) }

/**
 * The SQL store over the `SqlClient` in context. Brings the memory tables up
 * to date first (`StoreError` `SchemaTooNew` when the database is newer).
 */
export const make: Effect.Effect<Store, StoreError, SqlClient.SqlClient> = Effect.gen(function* () {
  yield* migrate(DOMAIN, migrations)
  const sql = yield* SqlClient.SqlClient

  /** Inserts `texts` as the session's messages numbered from `firstSeq`. */
  const insertMessages = (sessionId: string, firstSeq: number, texts: ReadonlyArray<string>) =>
    Effect.forEach(
      chunksOf(
        texts.map((message, i) => ({ session_id: sessionId, seq: firstSeq + i, message })),
        INSERT_CHUNK
      ),
      (rows) => sql`INSERT INTO weft_messages ${sql.insert(rows)}`,
      { discard: true }
    )

  /** The paused run is not live: `PausedRunUsed` when its row says when it was taken, else `PausedRunNotFound`. */
  const gone = (id: string) =>
    Effect.flatMap(
      sql<{ used_at: number | string | null }>`SELECT used_at FROM weft_paused_runs WHERE id = ${id}`,
      (rows) => {
        const usedAt = rows[0]?.used_at
        return Effect.fail(
          new MemoryError({
            reason:
              usedAt === undefined || usedAt === null
                ? new PausedRunNotFound({ id })
                : new PausedRunUsed({ id, usedAt: Number(usedAt) })
          })
        )
      }
    )

  const storedRun = (row: PausedRow): Effect.Effect<StoredPausedRun, MemoryError> =>
    row.value === null
      ? Effect.fail(new MemoryError({ reason: pausedReason(row.id)("the stored run has no value") }))
      : Effect.map(parseAll([row.value], pausedReason(row.id)), ([value]) => ({
          ...infoOf(row),
          value: value as Schema.Json
        }))

  const store: Store = {
    appendMessages: (sessionId, messages) => {
      if (messages.length === 0) return Effect.void
      const texts = messages.map((message) => JSON.stringify(message))
      const count = texts.length
      return sql
        .withTransaction(
          Effect.gen(function* () {
            // Reserves `count` numbers and, on PostgreSQL, locks the session until commit.
            const [row] = yield* sql<{ next_seq: number | string }>`
              INSERT INTO weft_sessions (session_id, next_seq) VALUES (${sessionId}, ${count})
              ON CONFLICT (session_id) DO UPDATE SET next_seq = weft_sessions.next_seq + ${count}
              RETURNING next_seq`
            yield* insertMessages(sessionId, Number(row!.next_seq) - count, texts)
          })
        )
        .pipe(Effect.mapError(databaseFailed("appendMessages")))
    },

    readMessages: (sessionId, last) => {
      if (last === 0) return Effect.succeed([])
      const read =
        last === undefined
          ? sql<{ message: string }>`
              SELECT message FROM weft_messages WHERE session_id = ${sessionId} ORDER BY seq`
          : Effect.map(
              sql<{ message: string }>`
                SELECT message FROM weft_messages WHERE session_id = ${sessionId}
                ORDER BY seq DESC LIMIT ${last}`,
              (rows) => rows.slice().reverse()
            )
      return read.pipe(
        Effect.mapError(databaseFailed("readMessages")),
        Effect.flatMap((rows) =>
          parseAll(
            rows.map((row) => row.message),
            messageReason(sessionId)
          )
        )
      )
    },

    replaceOldest: (sessionId, count, messages) => {
      const texts = messages.map((message) => JSON.stringify(message))
      return sql
        .withTransaction(
          Effect.gen(function* () {
            // Locks the session (PostgreSQL) so no append slips between the count and the delete.
            const [session] = yield* sql<{ next_seq: number | string }>`
              INSERT INTO weft_sessions (session_id, next_seq) VALUES (${sessionId}, 0)
              ON CONFLICT (session_id) DO UPDATE SET next_seq = weft_sessions.next_seq
              RETURNING next_seq`
            const [kept] = yield* sql<{ seq: number | string }>`
              SELECT seq FROM weft_messages WHERE session_id = ${sessionId}
              ORDER BY seq LIMIT 1 OFFSET ${count}`
            let firstKept: number
            if (kept !== undefined) firstKept = Number(kept.seq)
            else {
              const [total] = yield* sql<{ n: number | string }>`
                SELECT COUNT(*) AS n FROM weft_messages WHERE session_id = ${sessionId}`
              const has = Number(total?.n ?? 0)
              if (count > has) {
                return yield* new MemoryError({
                  reason: new InvalidOption({
                    option: "count",
                    value: String(count),
                    expected: `at most the session's ${has} messages`
                  })
                })
              }
              firstKept = Number(session!.next_seq)
            }
            // Every message numbered below the first kept one is among the oldest `count`.
            yield* sql`DELETE FROM weft_messages WHERE session_id = ${sessionId} AND seq < ${firstKept}`
            yield* insertMessages(sessionId, firstKept - texts.length, texts)
          })
        )
        .pipe(Effect.catchTag("SqlError", (error) => Effect.fail(databaseFailed("replaceOldest")(error))))
    },

    readState: (sessionId) =>
      sql<{ state: string | null }>`SELECT state FROM weft_sessions WHERE session_id = ${sessionId}`.pipe(
        Effect.mapError(databaseFailed("readState")),
        Effect.flatMap((rows) => {
          const text = rows[0]?.state
          return text === undefined || text === null
            ? Effect.succeed(undefined)
            : Effect.map(parseAll([text], stateReason(sessionId)), ([state]) => state)
        })
      ),

    writeState: (sessionId, state) =>
      sql`
        INSERT INTO weft_sessions (session_id, next_seq, state) VALUES (${sessionId}, 0, ${JSON.stringify(state)})
        ON CONFLICT (session_id) DO UPDATE SET state = excluded.state`.pipe(
        Effect.asVoid,
        Effect.mapError(databaseFailed("writeState"))
      ),

    clear: (sessionId) =>
      sql
        .withTransaction(
          Effect.all(
            [
              sql`DELETE FROM weft_sessions WHERE session_id = ${sessionId}`,
              sql`DELETE FROM weft_messages WHERE session_id = ${sessionId}`,
              sql`DELETE FROM weft_paused_runs WHERE session_id = ${sessionId}`
            ],
            { discard: true }
          )
        )
        .pipe(Effect.mapError(databaseFailed("clear"))),

    putPaused: (run) =>
      sql<{ id: string }>`
        INSERT INTO weft_paused_runs (id, session_id, paused_at, put_order, value)
        VALUES (
          ${run.id}, ${run.sessionId ?? null}, ${run.pausedAt},
          (SELECT COALESCE(MAX(put_order), 0) + 1 FROM weft_paused_runs),
          ${JSON.stringify(run.value)}
        )
        ON CONFLICT (id) DO NOTHING
        RETURNING id`.pipe(
        Effect.mapError(databaseFailed("putPaused")),
        Effect.flatMap((rows) =>
          rows.length === 1
            ? Effect.void
            : Effect.fail(new MemoryError({ reason: new PausedRunExists({ id: run.id }) }))
        )
      ),

    peekPaused: (id) =>
      sql<PausedRow>`
        SELECT id, session_id, paused_at, value, used_at FROM weft_paused_runs WHERE id = ${id}`.pipe(
        Effect.mapError(databaseFailed("peekPaused")),
        Effect.flatMap(([row]) =>
          row === undefined
            ? Effect.fail(new MemoryError({ reason: new PausedRunNotFound({ id }) }))
            : row.used_at !== null
              ? Effect.fail(
                  new MemoryError({ reason: new PausedRunUsed({ id, usedAt: Number(row.used_at) }) })
                )
              : storedRun(row)
        )
      ),

    takePaused: (id, usedAt) =>
      sql
        .withTransaction(
          Effect.gen(function* () {
            // The one statement that decides: only a take that finds the row still live updates it.
            const [row] = yield* sql<PausedRow>`
              UPDATE weft_paused_runs SET used_at = ${usedAt}
              WHERE id = ${id} AND used_at IS NULL
              RETURNING id, session_id, paused_at, value, used_at`
            if (row === undefined) return yield* gone(id)
            // The used row stays as the id's marker; its value is no longer needed.
            yield* sql`UPDATE weft_paused_runs SET value = NULL WHERE id = ${id}`
            return row
          })
        )
        .pipe(
          Effect.catchTag("SqlError", (error) => Effect.fail(databaseFailed("takePaused")(error))),
          Effect.flatMap(storedRun)
        ),

    listPaused: (sessionId) =>
      (sessionId === undefined
        ? sql<PausedRow>`
            SELECT id, session_id, paused_at FROM weft_paused_runs
            WHERE used_at IS NULL ORDER BY paused_at, put_order`
        : sql<PausedRow>`
            SELECT id, session_id, paused_at FROM weft_paused_runs
            WHERE used_at IS NULL AND session_id = ${sessionId} ORDER BY paused_at, put_order`
      ).pipe(
        Effect.map((rows) => rows.map(infoOf)),
        Effect.mapError(databaseFailed("listPaused"))
      )
  }
  return store
})

/**
 * The SQL store as Memory's `MemoryStore`, on the `SqlClient` in context
 * (`Database.layerEmbedded`, `layerPostgres` or `layerConfig`). Building it
 * migrates the memory tables.
 */
export const layer: Layer.Layer<MemoryStore, StoreError, SqlClient.SqlClient> = Layer.effect(
  MemoryStore,
  make
)

/** `Memory` kept in SQL: `Memory.layer` over this store. */
export const layerMemory: Layer.Layer<Memory.Memory, StoreError, SqlClient.SqlClient> = Memory.layer.pipe(
  Layer.provide(layer)
)
