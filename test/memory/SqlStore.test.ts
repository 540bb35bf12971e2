/**
 * The SQL store keeps the Memory contract (test/memory/contract.ts) on the
 * embedded store and on PostgreSQL, each test (each run of the property test
 * too) on an empty database: a new data directory for the embedded store; on
 * PostgreSQL one test database for the file, its memory tables emptied at
 * each build (the tests of a file run one at a time), since a new database or
 * schema a build costs ~70 ms and the property test builds 300 times.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Redacted, Schema, Scope } from "effect"
import { Prompt } from "effect/ai"
import { SqlClient } from "effect/sql"
import { Memory } from "../../src/memory/index.ts"
import * as SqlStore from "../../src/memory/SqlStore.ts"
import { MemoryStore } from "../../src/memory/Store.ts"
import * as Database from "../../src/store/Database.ts"
import { backends, freshPostgres, postgresUrl } from "../support/databases.ts"
import { memoryContract, text } from "./contract.ts"

/** The file's test database on the PostgreSQL server. */
let postgres:
  | { context: Context.Context<SqlClient.SqlClient | Database.Database>; scope: Scope.Closeable }
  | undefined

beforeAll(async () => {
  const admin = postgresUrl()
  if (admin === undefined) return
  const scope = Scope.makeUnsafe()
  const context = await Effect.runPromise(Layer.buildWithScope(freshPostgres(admin), scope))
  postgres = { context, scope }
})

afterAll(async () => {
  if (postgres !== undefined) await Effect.runPromise(Scope.close(postgres.scope, Exit.void))
})

/** The SQL store on the file's PostgreSQL database, migrated, then emptied. */
const emptiedPostgres: Layer.Layer<MemoryStore, unknown> = Layer.unwrap(
  Effect.sync(() => {
    if (postgres === undefined) throw new Error("no PostgreSQL test database")
    const emptied = Layer.effect(
      MemoryStore,
      Effect.tap(SqlStore.make, () =>
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql`DELETE FROM weft_messages`.pipe(
            Effect.andThen(sql`DELETE FROM weft_sessions`),
            Effect.andThen(sql`DELETE FROM weft_paused_runs`)
          )
        )
      )
    )
    return emptied.pipe(Layer.provide(Layer.succeedContext(postgres.context)))
  })
)

describe.each(backends())("SqlStore on $name", ({ name, layer }) => {
  memoryContract(
    `SQL (${name})`,
    name === "postgres"
      ? emptiedPostgres
      : Layer.unwrap(Effect.sync(() => SqlStore.layer.pipe(Layer.provide(layer()))))
  )
})

describe.each(backends())("SqlStore on $name, beyond the contract", ({ name, layer }) => {
  /** A fresh database, the SQL Memory on it, and the raw client to look at its tables. */
  const fresh = Layer.unwrap(
    Effect.sync(() => {
      const database = layer()
      return SqlStore.layerMemory.pipe(Layer.provideMerge(database))
    })
  )

  it.live("concurrent appends to one session keep every batch whole and in its own order", () =>
    Effect.gen(function* () {
      const memory = yield* Memory.Memory
      const batches = Array.from({ length: 20 }, (_, b) => [0, 1, 2].map((i) => text("user", `${b}.${i}`)))
      yield* Effect.forEach(batches, (batch) => memory.append("s", batch), { concurrency: "unbounded" })
      const said = (yield* memory.history("s")).map(Memory.textOf)
      assert.strictEqual(said.length, 60)
      assert.deepStrictEqual([...said].sort(), batches.flat().map(Memory.textOf).sort())
      for (let i = 0; i < 60; i += 3) {
        const batch = said[i]!.split(".")[0]
        assert.deepStrictEqual(said.slice(i, i + 3), [`${batch}.0`, `${batch}.1`, `${batch}.2`])
      }
    }).pipe(Effect.provide(fresh))
  )

  it.live("a condensing racing appends replaces only the oldest; every appended message stays after it", () =>
    Effect.gen(function* () {
      const memory = yield* Memory.Memory
      yield* memory.append(
        "s",
        Array.from({ length: 10 }, (_, i) => text("user", `old ${i}`))
      )
      const appended = Array.from({ length: 10 }, (_, i) => `new ${i}`)
      yield* Effect.all(
        [
          memory.replaceOldest("s", 10, [Prompt.systemMessage({ content: "summary" })]),
          ...appended.map((said) => memory.append("s", [text("user", said)]))
        ],
        { concurrency: "unbounded" }
      )
      const said = (yield* memory.history("s")).map(Memory.textOf)
      assert.strictEqual(said[0], "summary")
      assert.deepStrictEqual(said.slice(1).sort(), [...appended].sort())
      // A summary longer than what it replaces, and more than once: order holds, numbers go below the first kept.
      yield* memory.replaceOldest("s", 1, [text("user", "a"), text("assistant", "b"), text("user", "c")])
      yield* memory.replaceOldest("s", 2, [text("user", "ab")])
      assert.deepStrictEqual((yield* memory.history("s")).map(Memory.textOf).slice(0, 3), [
        "ab",
        "c",
        said[1]!
      ])
      assert.deepStrictEqual((yield* memory.history("s", { last: 2 })).map(Memory.textOf), said.slice(-2))
    }).pipe(Effect.provide(fresh))
  )

  it.live(
    "reading the newest N messages walks the (session_id, seq) key backwards, not the whole table",
    () =>
      Effect.gen(function* () {
        const memory = yield* Memory.Memory
        const sql = yield* SqlClient.SqlClient
        // 40 sessions of 50 messages: the table is 40 times what one history reads.
        yield* Effect.forEach(
          Array.from({ length: 40 }, (_, n) => (n === 0 ? "s" : `other-${n}`)),
          (session) =>
            memory.append(
              session,
              Array.from({ length: 50 }, (_, i) => text("user", `${i}`))
            ),
          { discard: true }
        )
        // The statement SqlStore.readMessages runs for `last`, its parameters inlined.
        const query = "SELECT message FROM weft_messages WHERE session_id = 's' ORDER BY seq DESC LIMIT 5"
        const plan = yield* sql.onDialectOrElse({
          pg: () =>
            sql`ANALYZE weft_messages`.pipe(
              Effect.andThen(sql.unsafe<{ "QUERY PLAN": string }>(`EXPLAIN ${query}`)),
              Effect.map((rows) => rows.map((row) => row["QUERY PLAN"]).join("\n"))
            ),
          orElse: () =>
            Effect.map(sql.unsafe<{ detail: string }>(`EXPLAIN QUERY PLAN ${query}`), (rows) =>
              rows.map((row) => row.detail).join("\n")
            )
        })
        if (name === "postgres") {
          assert.match(plan, /Index Scan Backward using weft_messages_pkey/)
          assert.notMatch(plan, /Sort|Seq Scan/)
        } else {
          assert.match(plan, /SEARCH weft_messages USING PRIMARY KEY \(session_id=\?\)/)
          assert.notMatch(plan, /TEMP B-TREE|SCAN weft_messages/)
        }
        assert.deepStrictEqual((yield* memory.history("s", { last: 3 })).map(Memory.textOf), [
          "47",
          "48",
          "49"
        ])
      }).pipe(Effect.provide(fresh))
  )

  it.live("a taken run keeps only its marker: used_at set, value gone, id never reused", () =>
    Effect.gen(function* () {
      const memory = yield* Memory.Memory
      const sql = yield* SqlClient.SqlClient
      yield* memory.putPaused("r", Schema.String, "a long paused run", { sessionId: "s" })
      yield* memory.takePaused("r", Schema.String)
      const [row] = yield* sql<{ value: string | null; used_at: number | string | null }>`
        SELECT value, used_at FROM weft_paused_runs WHERE id = 'r'`
      assert.isNull(row!.value)
      assert.isAbove(Number(row!.used_at), 0)
      const again = yield* Effect.flip(memory.putPaused("r", Schema.String, "again"))
      assert.strictEqual(again.reason._tag, "PausedRunExists")
    }).pipe(Effect.provide(fresh))
  )

  it.live("migrates once; a database whose memory schema is newer is refused with SchemaTooNew", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* SqlStore.make
      yield* SqlStore.make
      assert.strictEqual(yield* Database.schemaVersion("memory"), 1)
      yield* sql`UPDATE weft_schema SET version = 2 WHERE domain = 'memory'`
      const error = yield* Effect.flip(SqlStore.make)
      assert.strictEqual(error.reason._tag, "SchemaTooNew")
      assert.match(error.message, /memory schema is version 2, newer than this Weft knows \(1\)/)
    }).pipe(Effect.scoped, Effect.provide(fresh))
  )

  it.live(
    "a write failing part-way keeps none of it: an append's earlier inserts, a condensing's delete",
    () =>
      Effect.gen(function* () {
        const memory = yield* Memory.Memory
        const sql = yield* SqlClient.SqlClient
        yield* memory.append("s", [text("user", "kept 0"), text("user", "kept 1")])
        // The database refuses any message saying "boom", so a write fails after some of its statements ran.
        yield* sql.onDialectOrElse({
          pg: () =>
            sql
              .unsafe(
                `CREATE FUNCTION weft_test_boom() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN IF NEW.message LIKE '%boom%' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$`
              )
              .pipe(
                Effect.andThen(
                  sql.unsafe(
                    "CREATE TRIGGER weft_test_boom BEFORE INSERT ON weft_messages FOR EACH ROW EXECUTE FUNCTION weft_test_boom()"
                  )
                )
              ),
          orElse: () =>
            sql.unsafe(
              "CREATE TRIGGER weft_test_boom BEFORE INSERT ON weft_messages WHEN NEW.message LIKE '%boom%' BEGIN SELECT RAISE(ABORT, 'boom'); END"
            )
        })
        // 2,500 messages take three INSERTs; only the last message, in the third, is refused.
        const batch = Array.from({ length: 2_500 }, (_, i) => text("user", i === 2_499 ? "boom" : `m ${i}`))
        const appended = yield* Effect.flip(memory.append("s", batch))
        assert.strictEqual(appended.reason._tag, "StoreFailed")
        assert.deepStrictEqual((yield* memory.history("s")).map(Memory.textOf), ["kept 0", "kept 1"])
        // replaceOldest deletes the oldest, then inserts the summary: the insert is refused, the delete undone.
        const replaced = yield* Effect.flip(memory.replaceOldest("s", 1, [text("user", "boom summary")]))
        assert.strictEqual(replaced.reason._tag, "StoreFailed")
        assert.deepStrictEqual((yield* memory.history("s")).map(Memory.textOf), ["kept 0", "kept 1"])
        // The numbers the failed append reserved were handed back too: the next message is numbered 2.
        yield* memory.append("s", [text("user", "after")])
        const seqs = yield* sql<{ seq: number | string }>`
        SELECT seq FROM weft_messages WHERE session_id = 's' ORDER BY seq`
        assert.deepStrictEqual(
          seqs.map((row) => Number(row.seq)),
          [0, 1, 2]
        )
      }).pipe(Effect.provide(fresh))
  )

  it.live("a take the database fails part-way leaves the run live for the next take", () =>
    Effect.gen(function* () {
      const memory = yield* Memory.Memory
      const sql = yield* SqlClient.SqlClient
      yield* memory.putPaused("r", Schema.String, "the run")
      // The database refuses to clear a run's value: the take's second statement, after its first marked it used.
      yield* sql.onDialectOrElse({
        pg: () =>
          sql
            .unsafe(
              `CREATE FUNCTION weft_test_keep() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN IF NEW.value IS NULL THEN RAISE EXCEPTION 'kept'; END IF; RETURN NEW; END $$`
            )
            .pipe(
              Effect.andThen(
                sql.unsafe(
                  "CREATE TRIGGER weft_test_keep BEFORE UPDATE ON weft_paused_runs FOR EACH ROW EXECUTE FUNCTION weft_test_keep()"
                )
              )
            ),
        orElse: () =>
          sql.unsafe(
            "CREATE TRIGGER weft_test_keep BEFORE UPDATE ON weft_paused_runs WHEN NEW.value IS NULL BEGIN SELECT RAISE(ABORT, 'kept'); END"
          )
      })
      const failed = yield* Effect.flip(memory.takePaused("r", Schema.String))
      assert.strictEqual(failed.reason._tag, "StoreFailed")
      yield* sql.onDialectOrElse({
        pg: () => sql`DROP TRIGGER weft_test_keep ON weft_paused_runs`,
        orElse: () => sql`DROP TRIGGER weft_test_keep`
      })
      assert.strictEqual(yield* memory.takePaused("r", Schema.String), "the run")
      const again = yield* Effect.flip(memory.takePaused("r", Schema.String))
      assert.strictEqual(again.reason._tag, "PausedRunUsed")
    }).pipe(Effect.provide(fresh))
  )

  it.live("a failing statement is a MemoryError saying the database failed, and changes nothing", () =>
    Effect.gen(function* () {
      const memory = yield* Memory.Memory
      const sql = yield* SqlClient.SqlClient
      yield* memory.append("s", [text("user", "kept")])
      yield* sql`DROP TABLE weft_paused_runs`
      const error = yield* Effect.flip(memory.putPaused("r", Schema.String, "x"))
      assert.strictEqual(error._tag, "MemoryError")
      assert.strictEqual(error.reason._tag, "StoreFailed")
      assert.strictEqual(error.isRetryable, false, "a missing table is not worth retrying")
      assert.match(error.message, /The database failed during memory\.putPaused: /)
      const cleared = yield* Effect.flip(memory.clear("s"))
      assert.match(cleared.message, /The database failed during memory\.clear: /)
      // clear is one transaction: its failure on the third table left the first two as they were.
      assert.deepStrictEqual((yield* memory.history("s")).map(Memory.textOf), ["kept"])
    }).pipe(Effect.provide(fresh))
  )
})

describe.skipIf(postgresUrl() === undefined)("SqlStore on PostgreSQL, many clients", () => {
  it.live("50 takes of one paused run from 5 separate connection pools at once: exactly one wins", () =>
    Effect.gen(function* () {
      const database = yield* Layer.build(freshPostgres(postgresUrl()!))
      const url = Redacted.make(Context.get(database, Database.Database).location)
      // Five clients with ten connections each, as five processes would have.
      const stores = yield* Effect.forEach(Array.from({ length: 5 }), () =>
        Layer.build(Layer.provide(SqlStore.layer, Database.layerPostgres({ url, maxConnections: 10 }))).pipe(
          Effect.map((context) => Context.get(context, MemoryStore))
        )
      )
      yield* stores[0]!.putPaused({ id: "race", sessionId: "s", pausedAt: 1, value: { step: 3 } })
      const exits = yield* Effect.all(
        Array.from({ length: 50 }, (_, i) => Effect.exit(stores[i % 5]!.takePaused("race", 1_000 + i))),
        { concurrency: "unbounded" }
      )
      const won = exits.filter(Exit.isSuccess)
      assert.strictEqual(won.length, 1)
      assert.deepStrictEqual(won[0]!.value.value, { step: 3 })
      const lost = exits.filter(Exit.isFailure).map((exit) => Exit.findErrorOption(exit))
      assert.strictEqual(lost.length, 49)
      for (const error of lost) {
        assert.isTrue(error._tag === "Some" && error.value.reason._tag === "PausedRunUsed")
      }
      const usedAt = lost.map((error) =>
        error._tag === "Some" && error.value.reason._tag === "PausedRunUsed" ? error.value.reason.usedAt : 0
      )
      // Every loser names the one winning take's time.
      assert.strictEqual(new Set(usedAt).size, 1)
    }).pipe(Effect.scoped)
  )
})
