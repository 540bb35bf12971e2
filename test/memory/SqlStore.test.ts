/**
 * The SQL store keeps the Memory contract (test/memory/contract.ts) on the
 * embedded store and on PostgreSQL, each test (each run of the property test
 * too) on an empty database: a new data directory for the embedded store; on
 * PostgreSQL one test database for the file, its memory tables emptied at
 * each build (the tests of a file run one at a time), since a new database or
 * schema a build costs ~70 ms and the property test builds 300 times.
 */
import { afterAll, beforeAll, describe } from "@effect/vitest"
import { type Context, Effect, Exit, Layer, Scope } from "effect"
import { SqlClient } from "effect/sql"
import * as SqlStore from "../../src/memory/SqlStore.ts"
import { MemoryStore } from "../../src/memory/Store.ts"
import type * as Database from "../../src/store/Database.ts"
import { backends, freshPostgres, postgresUrl } from "../support/databases.ts"
import { memoryContract } from "./contract.ts"

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
