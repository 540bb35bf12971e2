import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import * as Database from "../../src/store/Database.ts"
import { StoreError } from "../../src/store/StoreError.ts"
import { backends } from "../support/databases.ts"

const migrations: ReadonlyArray<Database.Migration> = [
  (sql) => sql`CREATE TABLE t_items (id TEXT PRIMARY KEY, body TEXT NOT NULL)`,
  (sql) => sql`ALTER TABLE t_items ADD COLUMN tag TEXT`
]

describe.each(backends())("Database on $name", ({ layer }) => {
  it.layer(layer())((it) => {
    it.effect("migrates in order, once, and keeps the data an older version wrote", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* Database.migrate("test", migrations.slice(0, 1))
        yield* sql`INSERT INTO t_items (id, body) VALUES ('a', 'kept')`
        yield* Database.migrate("test", migrations)
        yield* Database.migrate("test", migrations)
        assert.strictEqual(yield* Database.schemaVersion("test"), 2)
        const rows = yield* sql<{
          id: string
          body: string
          tag: string | null
        }>`SELECT id, body, tag FROM t_items`
        assert.deepStrictEqual(
          rows.map((row) => ({ ...row })),
          [{ id: "a", body: "kept", tag: null }]
        )
      })
    )

    it.effect("refuses a schema newer than it knows, touching nothing", () =>
      Effect.gen(function* () {
        yield* Database.migrate(
          "newer",
          migrations.slice(0, 0).concat([(sql) => sql`CREATE TABLE t_newer (a TEXT)`])
        )
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE weft_schema SET version = 7 WHERE domain = 'newer'`
        const error = yield* Effect.flip(
          Database.migrate("newer", [(sql) => sql`CREATE TABLE t_newer (a TEXT)`])
        )
        assert.strictEqual(error.reason._tag, "SchemaTooNew")
        assert.match(error.message, /version 7, newer than this Weft knows \(1\)/)
        assert.strictEqual(yield* Database.schemaVersion("newer"), 7)
      })
    )

    it.effect("an unprepared statement returns its rows, whatever keyword it opens with", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql`WITH t AS (SELECT 1 AS one) SELECT one FROM t`.unprepared
        assert.deepStrictEqual(
          rows.map((row) => Number(row.one)),
          [1]
        )
      })
    )

    it.effect("a duplicate key is effect/sql's UniqueViolation on either backend", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE t_unique (id TEXT UNIQUE)`
        yield* sql`INSERT INTO t_unique (id) VALUES ('a')`
        const error = yield* Effect.flip(sql`INSERT INTO t_unique (id) VALUES ('a')`)
        assert.strictEqual(error.reason._tag, "UniqueViolation")
        assert.isFalse(error.isRetryable)
      })
    )

    it.effect("rolls a failing migration back whole", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          Database.migrate("broken", [
            (sql) => sql`CREATE TABLE t_broken (a TEXT)`,
            (sql) => sql`THIS IS NOT SQL`
          ])
        )
        assert.strictEqual(error.reason._tag, "QueryFailed")
        assert.strictEqual(yield* Database.schemaVersion("broken"), 0)
        const sql = yield* SqlClient.SqlClient
        const exit = yield* Effect.exit(sql`SELECT a FROM t_broken`)
        assert.isTrue(Exit.isFailure(exit))
      })
    )
  })
})

describe("embedded data directory", () => {
  it.effect(
    "a second process opening the same directory gets DataDirectoryInUse, then opens it once freed",
    () =>
      Effect.gen(function* () {
        const directory = mkdtempSync(join(tmpdir(), "weft-lock-"))
        const openFromChild = () =>
          spawnSync(process.execPath, [join(process.cwd(), "test/fixtures/store/open-dir.ts"), directory], {
            encoding: "utf8"
          }).stdout.trim()
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* Layer.build(Database.layerEmbedded({ directory }))
            const reason = JSON.parse(openFromChild())
            assert.strictEqual(reason._tag, "DataDirectoryInUse")
            assert.strictEqual(reason.directory, directory)
          })
        )
        assert.strictEqual(openFromChild(), "opened")
        rmSync(directory, { recursive: true, force: true })
      })
  )

  it.effect("opens again after the owner closes it, data intact", () =>
    Effect.gen(function* () {
      const directory = mkdtempSync(join(tmpdir(), "weft-reopen-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(directory, { recursive: true, force: true })))
      const write = Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE kept (a TEXT)`
        yield* sql`INSERT INTO kept VALUES ('x')`
      })
      yield* write.pipe(Effect.provide(Database.layerEmbedded({ directory })))
      const rows = yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ a: string }>`SELECT a FROM kept`
      }).pipe(Effect.provide(Database.layerEmbedded({ directory })))
      assert.deepStrictEqual(
        rows.map((row) => row.a),
        ["x"]
      )
    }).pipe(Effect.scoped)
  )

  it.effect("a file where the directory should be is a clear error", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "weft-file-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const file = join(dir, "not-a-dir")
      writeFileSync(file, "x")
      const error = yield* Effect.flip(Layer.build(Database.layerEmbedded({ directory: file })))
      assert.instanceOf(error, StoreError)
      assert.strictEqual(error.reason._tag, "DataDirectoryUnusable")
      // Said in words, not as the raw EEXIST of a mkdir; a folder below a file is the same case.
      assert.include(error.message, "is a file; the embedded store needs a folder of its own")
      const below = yield* Effect.flip(
        Layer.build(Database.layerEmbedded({ directory: join(file, "store") }))
      )
      assert.include(below.message, "is a file; the embedded store needs a folder of its own")
    }).pipe(Effect.scoped)
  )
})

describe("PostgreSQL connection errors", () => {
  it.effect("an unreachable server names the URL without its password", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(
          Database.layerPostgres({
            url: Redacted.make("postgres://alice:s3cret-pw@127.0.0.1:1/app"),
            connectTimeoutMs: 2_000
          })
        )
      )
      assert.strictEqual(error.reason._tag, "DatabaseUnreachable")
      assert.include(error.message, "postgres://alice@127.0.0.1:1/app")
      assert.notInclude(error.message, "s3cret")
      assert.notInclude(JSON.stringify(error.reason), "s3cret")
    }).pipe(Effect.scoped)
  )

  it.effect("a malformed URL is DatabaseUnreachable, not a crash", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(Database.layerPostgres({ url: Redacted.make("not a url") }))
      )
      assert.strictEqual(error.reason._tag, "DatabaseUnreachable")
      assert.match(error.message, /not valid/)
    }).pipe(Effect.scoped)
  )
})
