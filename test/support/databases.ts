/**
 * The databases a store suite runs on: the embedded store in a fresh
 * temporary directory, and a fresh database on the test PostgreSQL server
 * (started by test/support/postgres-setup.ts), dropped when the layer closes.
 *
 *     describe.each(backends())("%s", ({ layer }) => { … it.layer(layer()) … })
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { inject } from "vitest"
import * as Database from "../../src/store/Database.ts"
import type { StoreError } from "../../src/store/StoreError.ts"

export interface Backend {
  readonly name: "embedded" | "postgres"
  /** A fresh, empty database for each build of the layer. */
  readonly layer: () => Layer.Layer<SqlClient.SqlClient | Database.Database, StoreError>
}

const embedded: Backend = {
  name: "embedded",
  layer: () =>
    Layer.unwrap(
      Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "weft-store-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      ).pipe(Effect.map((directory) => Database.layerEmbedded({ directory })))
    )
}

let databaseCounter = 0

/** The test server's admin URL, or undefined when there is no server. */
export const postgresUrl = (): string | undefined => {
  const url = inject("postgresUrl")
  return url === "" ? undefined : url
}

/** A fresh database on the test server, dropped when the layer's scope closes. */
export const freshPostgres = (
  adminUrl: string
): Layer.Layer<SqlClient.SqlClient | Database.Database, StoreError> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const name = `weft_test_${process.pid}_${Date.now().toString(36)}_${databaseCounter++}`
      const admin = yield* Layer.build(
        Database.layerPostgres({ url: Redacted.make(adminUrl), maxConnections: 1 })
      )
      const sql = Context.get(admin, SqlClient.SqlClient)
      const run = (statement: string) => sql.unsafe(statement).pipe(Effect.orDie)
      yield* Effect.acquireRelease(run(`CREATE DATABASE ${name}`), () =>
        run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      )
      const url = new URL(adminUrl)
      url.pathname = `/${name}`
      return Database.layerPostgres({ url: Redacted.make(url.toString()), maxConnections: 4 })
    })
  )

/** The backends to run a store suite on: always embedded, PostgreSQL when the test server is up. */
export const backends = (): ReadonlyArray<Backend> => {
  const admin = postgresUrl()
  return admin === undefined
    ? [embedded]
    : [embedded, { name: "postgres", layer: () => freshPostgres(admin) }]
}
