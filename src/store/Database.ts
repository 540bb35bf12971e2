/**
 * Where Weft keeps what must outlive a process — indexed documents, session
 * histories, paused agent runs — as an `effect/sql` `SqlClient`.
 *
 * Two backends run the same queries and migrations:
 * - **embedded** (`layerEmbedded`): a SQLite file in a data directory, through
 *   `node:sqlite`; nothing to install or start. One process owns a directory
 *   at a time: a second one gets `DataDirectoryInUse`, never a shared file.
 * - **PostgreSQL** (`layerPostgres`): a server named by URL, through
 *   `@effect/sql-pg`, for many processes and large corpora.
 *
 * `layerConfig` picks one from the environment (`DATABASE_URL`, else
 * `WEFT_DATA_DIR`, else `.weft` in the working directory). Each area keeps its
 * own numbered migrations and calls `migrate` when its layer is built, so a
 * data directory written by an older Weft is upgraded in place, and one
 * written by a newer Weft is refused rather than misread.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SqlClient } from "effect/sql"
 * import * as Database from "./Database.ts"
 *
 * const program = Effect.gen(function* () {
 *   const sql = yield* SqlClient.SqlClient
 *   return yield* sql`SELECT 1 AS one`
 * }).pipe(Effect.provide(Database.layerEmbedded({ directory: ".weft" })))
 * ```
 */
import { mkdir } from "node:fs/promises"
import { join, resolve } from "node:path"
import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient, type SqlError } from "effect/sql"
import * as Sqlite from "./internal/sqlite.ts"
import {
  DatabaseUnreachable,
  DataDirectoryInUse,
  DataDirectoryUnusable,
  SqliteUnavailable,
  fail,
  queryFailed,
  redactUrl,
  SchemaTooNew,
  type StoreError
} from "./StoreError.ts"

/** What the open database is, for messages and for the few queries that differ by backend. */
export interface DatabaseInfo {
  readonly backend: "embedded" | "postgres"
  /** The data directory, or the server URL without its password. */
  readonly location: string
}

/** The open database's description; provided with the `SqlClient` by every layer here. */
export class Database extends Context.Service<Database, DatabaseInfo>()("weft/store/Database") {}

/** The SQLite file inside a data directory. */
export const FILE_NAME = "weft.db"

/** The default data directory, relative to the working directory. */
export const DEFAULT_DIRECTORY = ".weft"

export interface EmbeddedOptions {
  /** The data directory; created when missing. `":memory:"` opens a throwaway in-memory database. */
  readonly directory: string
}

/**
 * The embedded store in `directory` (`weft.db` inside it). It takes the file
 * for this process alone (SQLite's exclusive locking mode, released when the
 * layer's scope closes or the process dies), so a second process opening the
 * same directory fails at once with `DataDirectoryInUse`.
 */
export const layerEmbedded = (
  options: EmbeddedOptions
): Layer.Layer<SqlClient.SqlClient | Database, StoreError> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const inMemory = options.directory === ":memory:"
      const directory = inMemory ? ":memory:" : resolve(options.directory)
      const unusable = (detail: string) => fail(new DataDirectoryUnusable({ directory, detail }))
      if (!(yield* Sqlite.isAvailable))
        return yield* fail(new SqliteUnavailable({ nodeVersion: process.version }))
      if (!inMemory) {
        yield* Effect.tryPromise({
          try: () => mkdir(directory, { recursive: true }),
          catch: (cause) =>
            unusable(
              (cause as NodeJS.ErrnoException).code === "EEXIST" ||
                (cause as NodeJS.ErrnoException).code === "ENOTDIR"
                ? "it, or a folder above it, is a file; the embedded store needs a folder of its own"
                : cause instanceof Error
                  ? cause.message
                  : String(cause)
            )
        })
      }
      const file = inMemory ? ":memory:" : join(directory, FILE_NAME)
      const db = yield* Sqlite.open(file, 250).pipe(Effect.mapError((error) => unusable(error.message)))
      yield* Effect.try({
        try: () => {
          db.exec("PRAGMA locking_mode = EXCLUSIVE")
          db.exec("PRAGMA journal_mode = WAL")
          db.exec("PRAGMA synchronous = NORMAL")
          db.exec("PRAGMA foreign_keys = ON")
          // Takes the exclusive lock now, so a second process is told at open, not mid-write.
          db.exec("BEGIN IMMEDIATE; COMMIT")
        },
        catch: (cause) => {
          db.close()
          return Sqlite.sqlError(cause, "open").reason._tag === "LockTimeoutError"
            ? fail(new DataDirectoryInUse({ directory }))
            : unusable(cause instanceof Error ? cause.message : String(cause))
        }
      })
      const sql = yield* Sqlite.makeClient(db, file)
      return Context.make(SqlClient.SqlClient, sql).pipe(
        Context.add(Database, { backend: "embedded", location: directory })
      )
    })
  )

export interface PostgresOptions {
  /** `postgres://user:password@host:port/database`; kept `Redacted` so it is never logged. */
  readonly url: Redacted.Redacted<string>
  /** The most connections in the pool. Default 10. */
  readonly maxConnections?: number | undefined
  /** How long to wait for the server before `DatabaseUnreachable`. Default 5 seconds. */
  readonly connectTimeoutMs?: number | undefined
}

/**
 * A PostgreSQL server through `@effect/sql-pg`. Building the layer connects
 * once, so a wrong URL or a stopped server fails here with
 * `DatabaseUnreachable` naming the URL without its password, not on the first
 * query.
 */
export const layerPostgres = (
  options: PostgresOptions
): Layer.Layer<SqlClient.SqlClient | Database, StoreError> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const url = redactUrl(Redacted.value(options.url))
      const unreachable = (detail: string) => fail(new DatabaseUnreachable({ url, detail }))
      try {
        new URL(Redacted.value(options.url))
      } catch {
        return yield* unreachable(
          "the URL is not valid (expected postgres://user:password@host:port/database)"
        )
      }
      const { PgClient } = yield* Effect.promise(() => import("@effect/sql-pg"))
      const client = yield* PgClient.make({
        url: options.url,
        maxConnections: options.maxConnections ?? 10,
        connectTimeout: options.connectTimeoutMs ?? 5_000,
        applicationName: "weft"
      }).pipe(
        Effect.provide(Reactivity.layer),
        Effect.mapError((error) => unreachable(describeSqlError(error)))
      )
      yield* client`SELECT 1`.pipe(Effect.mapError((error) => unreachable(describeSqlError(error))))
      return Context.make(SqlClient.SqlClient, client as SqlClient.SqlClient).pipe(
        Context.add(Database, { backend: "postgres", location: url })
      )
    })
  )

const describeSqlError = (error: SqlError.SqlError): string => {
  const cause = error.reason.cause
  const detail = cause instanceof Error ? cause.message : error.message
  return detail.length > 0 ? detail : error.reason._tag
}

/**
 * The store the environment names: PostgreSQL when `DATABASE_URL` is set,
 * else the embedded store in `WEFT_DATA_DIR`, else in `directory` (default
 * `.weft` in the working directory).
 */
export const layerConfig = (
  options: { readonly directory?: string | undefined } = {}
): Layer.Layer<SqlClient.SqlClient | Database, StoreError | Config.ConfigError> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const url = yield* Config.option(Config.Redacted("DATABASE_URL"))
      if (Option.isSome(url) && Redacted.value(url.value).trim() !== "")
        return layerPostgres({ url: url.value })
      const directory = yield* Config.withDefault(
        Config.String("WEFT_DATA_DIR"),
        options.directory ?? DEFAULT_DIRECTORY
      )
      return layerEmbedded({ directory })
    })
  )

/** `domain`'s version in the `weft_schema` table (0 when it has none), creating the table when missing. */
const readVersion = (sql: SqlClient.SqlClient, domain: string): Effect.Effect<number, SqlError.SqlError> =>
  sql`CREATE TABLE IF NOT EXISTS weft_schema (domain TEXT PRIMARY KEY, version INTEGER NOT NULL)`.pipe(
    Effect.andThen(sql<{ version: number }>`SELECT version FROM weft_schema WHERE domain = ${domain}`),
    Effect.map((rows) => Number(rows[0]?.version ?? 0))
  )

/** One step of an area's schema: run once, in order, inside the migration's transaction. */
export type Migration = (sql: SqlClient.SqlClient) => Effect.Effect<unknown, SqlError.SqlError>

/**
 * Brings `domain`'s tables up to the last of `migrations` (version = how many
 * have run). Runs in one transaction, under a lock on PostgreSQL so two
 * processes starting together migrate once; a database already newer than
 * `migrations` fails with `SchemaTooNew` and is left untouched.
 */
export const migrate = (
  domain: string,
  migrations: ReadonlyArray<Migration>
): Effect.Effect<void, StoreError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const run = Effect.gen(function* () {
      yield* sql.onDialectOrElse({
        pg: () => sql`SELECT pg_advisory_xact_lock(727274)`,
        orElse: () => Effect.void
      })
      const found = yield* readVersion(sql, domain)
      if (found > migrations.length) {
        return yield* Effect.fail(fail(new SchemaTooNew({ domain, found, supported: migrations.length })))
      }
      if (found === migrations.length) return
      for (const migration of migrations.slice(found)) yield* migration(sql)
      yield* sql`INSERT INTO weft_schema (domain, version) VALUES (${domain}, ${migrations.length})
        ON CONFLICT (domain) DO UPDATE SET version = excluded.version`
    })
    yield* sql
      .withTransaction(run)
      .pipe(Effect.catchTag("SqlError", (error) => Effect.fail(queryFailed(`${domain} migration`, error))))
  })

/** The schema version `domain` is at in the open database (0 when it has none). */
export const schemaVersion = (domain: string): Effect.Effect<number, StoreError, SqlClient.SqlClient> =>
  SqlClient.SqlClient.pipe(
    Effect.flatMap((sql) => readVersion(sql, domain)),
    Effect.catchTag("SqlError", (error) => Effect.fail(queryFailed("schema version", error)))
  )
