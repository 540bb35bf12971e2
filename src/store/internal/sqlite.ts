/**
 * An `effect/sql` `SqlClient` over `node:sqlite`, the embedded default store.
 *
 * `@effect/sql-sqlite-node` does not load with effect 4.1, and PGlite costs
 * about a second and 330 MB to open (docs/design.md, "Storage"), so Weft keeps
 * its own small driver: one `DatabaseSync` connection shared through a
 * semaphore (SQLite runs one writer at a time anyway), prepared statements
 * cached by SQL text, and effect's own SQLite compiler and transaction
 * handling (`makeSqliteAcquirers`). `node:sqlite` is loaded on first use, so a
 * program that never opens a store never loads it.
 */
import { Cause, Effect, type Scope, Semaphore, Stream } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient, type SqlConnection, SqlError, Statement } from "effect/sql"
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite"

/** The most prepared statements kept per connection; the store's queries are a few dozen. */
const STATEMENT_CACHE_SIZE = 200

/**
 * A `node:sqlite` failure as a `SqlError`, classified by effect's SQLite
 * classifier (a lock is `LockTimeoutError`, a duplicate key
 * `UniqueViolation`). `node:sqlite` puts SQLite's result code in `errcode`
 * (its `code` is always `"ERR_SQLITE_ERROR"`); the classifier reads `errno`,
 * so the code is copied there first.
 */
export const sqlError = (cause: unknown, operation: string): SqlError.SqlError => {
  if (typeof cause === "object" && cause !== null && "errcode" in cause && !("errno" in cause)) {
    Object.assign(cause, { errno: cause.errcode })
  }
  return new SqlError.SqlError({
    reason: SqlError.classifySqliteError(cause, {
      message: cause instanceof Error ? cause.message : String(cause),
      operation
    })
  })
}

/** SQLite binds numbers, strings, bigints, bytes and null; booleans become 0/1 and dates ISO text. */
const bindValue = (value: unknown): SQLInputValue => {
  if (value === undefined || value === null) return null
  if (typeof value === "boolean") return value ? 1 : 0
  if (value instanceof Date) return value.toISOString()
  return value as SQLInputValue
}

const bind = (params: ReadonlyArray<unknown>): Array<SQLInputValue> => params.map(bindValue)

/**
 * `node:sqlite`. On Node 22 loading it warns "SQLite is an experimental
 * feature" on stderr, which a CLI user can do nothing about; that one warning
 * is held back while it loads, every other passes as usual.
 */
const loadSqlite = async (): Promise<typeof import("node:sqlite")> => {
  const emit = process.emitWarning
  process.emitWarning = ((warning: string | Error, ...rest: Array<unknown>) => {
    const text = typeof warning === "string" ? warning : warning.message
    if (text.includes("SQLite is an experimental feature")) return
    return (emit as (...args: Array<unknown>) => void).call(process, warning, ...rest)
  }) as typeof process.emitWarning
  try {
    return await import("node:sqlite")
  } finally {
    process.emitWarning = emit
  }
}

/**
 * Whether this Node has `node:sqlite` (Weft needs Node ≥ 22.19; Node 20 has none): the
 * embedded store checks before it creates anything, so an older Node is told so, and not
 * that the data directory is at fault.
 */
export const isAvailable: Effect.Effect<boolean> = Effect.promise(() =>
  loadSqlite().then(
    () => true,
    () => false
  )
)

/** Opens `file` (`:memory:` for a throwaway database) and returns the raw handle. */
export const open = (file: string, busyTimeoutMs: number): Effect.Effect<DatabaseSync, SqlError.SqlError> =>
  Effect.tryPromise({
    try: async () => {
      const { DatabaseSync } = await loadSqlite()
      return new DatabaseSync(file, { timeout: busyTimeoutMs })
    },
    catch: (cause) => sqlError(cause, "open")
  })

const makeConnection = (db: DatabaseSync): SqlConnection.Connection => {
  const cache = new Map<string, StatementSync>()
  const prepare = (sql: string): StatementSync => {
    let statement = cache.get(sql)
    if (statement === undefined) {
      statement = db.prepare(sql)
      if (cache.size >= STATEMENT_CACHE_SIZE) {
        const oldest = cache.keys().next().value
        if (oldest !== undefined) cache.delete(oldest)
      }
      cache.set(sql, statement)
    }
    return statement
  }
  const rows = (statement: StatementSync, params: ReadonlyArray<unknown>): ReadonlyArray<any> => {
    // A statement that returns no columns (INSERT, UPDATE …) runs through `run`.
    if (statement.columns().length > 0) return statement.all(...bind(params))
    statement.run(...bind(params))
    return []
  }
  const run = <A>(operation: string, f: () => A): Effect.Effect<A, SqlError.SqlError> =>
    Effect.try({ try: f, catch: (cause) => sqlError(cause, operation) })
  const values = (statement: StatementSync, params: ReadonlyArray<unknown>) => {
    statement.setReturnArrays(true)
    try {
      return rows(statement, params) as ReadonlyArray<ReadonlyArray<unknown>>
    } finally {
      statement.setReturnArrays(false)
    }
  }
  return {
    execute: (sql, params, transformRows) =>
      run("execute", () => {
        const result = rows(prepare(sql), params)
        return transformRows ? transformRows(result) : result
      }),
    executeRaw: (sql, params) => run("executeRaw", () => prepare(sql).run(...bind(params))),
    executeValues: (sql, params) => run("executeValues", () => values(prepare(sql), params)),
    executeValuesUnprepared: (sql, params) => run("executeValues", () => values(db.prepare(sql), params)),
    executeUnprepared: (sql, params, transformRows) =>
      run("executeUnprepared", () => {
        const result = rows(db.prepare(sql), params)
        return transformRows ? transformRows(result) : result
      }),
    executeStream: (sql, params, transformRows) =>
      Stream.suspend(() => {
        const result = rows(prepare(sql), params)
        return Stream.fromIterable(transformRows ? transformRows(result) : result)
      }).pipe(Stream.mapError((cause) => sqlError(cause, "executeStream")))
  }
}

/**
 * A `SqlClient` on an open `DatabaseSync`; closing the scope closes the
 * database (statements in flight finish first: they hold the semaphore).
 */
export const makeClient = (
  db: DatabaseSync,
  file: string
): Effect.Effect<SqlClient.SqlClient, never, Scope.Scope> =>
  Effect.gen(function* () {
    const semaphore = yield* Semaphore.make(1)
    const connection = makeConnection(db)
    yield* Effect.addFinalizer(() =>
      semaphore.withPermit(
        Effect.sync(() => {
          if (db.isOpen) db.close()
        })
      )
    )
    const acquirers = SqlClient.makeSqliteAcquirers({
      connection: Effect.succeed(connection),
      semaphore,
      isTransaction: () => db.isTransaction
    })
    return yield* SqlClient.make({
      ...acquirers,
      compiler: Statement.makeCompilerSqlite(),
      driver: "weft-sqlite",
      spanAttributes: [
        ["db.system.name", "sqlite"],
        ["db.namespace", file]
      ],
      beginTransaction: "BEGIN IMMEDIATE"
    }).pipe(Effect.provide(Reactivity.layer))
  }).pipe(Effect.catchCause((cause) => Effect.die(Cause.squash(cause))))
