/**
 * `npm run weft -- …` as a person runs it: each test starts examples/weft.ts
 * as a child process on a fresh data directory (embedded store) or on a fresh
 * PostgreSQL database (DATABASE_URL), and reads what it printed and how it
 * exited. Processes come and go between commands, so everything asserted
 * here survived a restart.
 */
import { cpSync, existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import * as Database from "../../src/store/Database.ts"
import { backends, postgresUrl } from "../support/databases.ts"
import { start } from "../fixtures/openai/server.ts"
import { type Ran, runNode } from "../support/node.ts"

const fixture = fileURLToPath(new URL("../fixtures/retrieval/corpus", import.meta.url))

const weft = (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  script = "weft.ts"
): Effect.Effect<Ran> => runNode([join("examples", script), ...args], { env })

/** A copy of the retrieval fixture corpus to change, and a data directory, both removed afterwards. */
const workspace = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = mkdtempSync(join(tmpdir(), "weft-cli-"))
    cpSync(fixture, join(dir, "corpus"), { recursive: true })
    return { corpus: join(dir, "corpus"), data: join(dir, "data"), dir }
  }),
  ({ dir }) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const summary = (ran: Ran) => JSON.parse(ran.stdout) as Record<string, number | string | Array<unknown>>

describe("npm run weft (embedded store)", () => {
  it.live(
    "npm run weft starts the command from the same bundle as npm start, and answers as the sources do",
    () =>
      Effect.gen(function* () {
        const { corpus, data } = yield* workspace
        const launched = yield* weft(["ingest", corpus, "--data-dir", data, "--json"], {}, "weft.mjs")
        assert.strictEqual(launched.code, 0, launched.stderr)
        assert.strictEqual(summary(launched).added, 8)
        const fromSources = yield* weft(["stats", "--data-dir", data], { WEFT_NO_BUNDLE: "1" }, "weft.mjs")
        const fromBundle = yield* weft(["stats", "--data-dir", data], {}, "weft.mjs")
        assert.strictEqual(fromBundle.code, 0, fromBundle.stderr)
        assert.strictEqual(fromBundle.stdout, fromSources.stdout)
        assert.match(fromBundle.stdout, /collection "default": 8 documents/)
      }).pipe(Effect.scoped),
    120_000
  )

  it.live(
    "the store's flags are taken before the subcommand as after it",
    () =>
      Effect.gen(function* () {
        const { corpus, data } = yield* workspace
        const ingested = yield* weft([
          "--data-dir",
          data,
          "--collection",
          "notes",
          "ingest",
          corpus,
          "--json"
        ])
        assert.strictEqual(ingested.code, 0, ingested.stderr)
        assert.strictEqual(summary(ingested).added, 8)
        const before = yield* weft(["--collection", "notes", "--data-dir", data, "stats"])
        const after = yield* weft(["stats", "--data-dir", data, "--collection", "notes"])
        assert.strictEqual(before.code, 0, before.stderr)
        assert.match(before.stdout, /collection "notes": 8 documents/)
        assert.strictEqual(after.stdout, before.stdout)
        // The default collection of the same store is another index: still empty.
        const other = yield* weft(["--data-dir", data, "stats"])
        assert.match(other.stdout, /collection "default": 0 documents/)
      }).pipe(Effect.scoped),
    120_000
  )

  it.live(
    "ingest of a folder with nothing readable exits 1, says why, and writes nothing",
    () =>
      Effect.gen(function* () {
        const { dir, data } = yield* workspace
        const bad = join(dir, "bad")
        cpSync(join(fixture, "chess.md"), join(bad, "chess.md"))
        writeFileSync(join(bad, "chess.md"), Buffer.from([0, 159, 146, 150, 0, 1, 2]))
        const ran = yield* weft(["ingest", bad, "--data-dir", data])
        assert.strictEqual(ran.code, 1, ran.stdout)
        assert.match(
          ran.stderr,
          /Nothing in .*bad could be read as text: skipped 1 file: chess\.md \(binary\)/
        )
        const stats = yield* weft(["stats", "--data-dir", data])
        assert.match(stats.stdout, /0 documents, 0 chunks/)
      }).pipe(Effect.scoped),
    120_000
  )

  it.live(
    "ingest writes only what changed: unchanged skipped, a changed file replaced, a deleted one dropped",
    () =>
      Effect.gen(function* () {
        const { corpus, data } = yield* workspace
        const first = yield* weft(["ingest", corpus, "--data-dir", data])
        assert.strictEqual(first.code, 0, first.stderr)
        assert.match(
          first.stdout,
          /^Ingested .* \(collection "default"\): \d+ files — 8 added, 0 changed, 0 unchanged/
        )
        const again = summary(yield* weft(["ingest", corpus, "--data-dir", data, "--json"]))
        assert.deepInclude(again, { added: 0, changed: 0, deleted: 0, chunksWritten: 0 })
        assert.strictEqual(again.unchanged, 8)
        assert.deepInclude(again.vectors as object, { embedded: 0, deleted: 0 }, "no chunk embedded again")
        writeFileSync(
          join(corpus, "solar.md"),
          "# Solar\n\nPanels now face west to catch the evening peak.\n"
        )
        unlinkSync(join(corpus, "chess.md"))
        const changed = summary(yield* weft(["ingest", corpus, "--data-dir", data, "--json"]))
        assert.deepInclude(changed, { added: 0, changed: 1, deleted: 1, unchanged: 6 })
        const vectors = changed.vectors as unknown as { embedded: number; deleted: number }
        assert.strictEqual(vectors.embedded, 1, "only the changed file's chunk is embedded")
        assert.isAbove(vectors.deleted, 0, "the deleted file's vectors are dropped")
        const stats = yield* weft(["stats", "--data-dir", data, "--json"])
        assert.deepInclude(JSON.parse(stats.stdout), { documents: 7 })
        const answer = yield* weft(["ask", "--data-dir", data, "--json", "Which way do the panels face now?"])
        assert.strictEqual(answer.code, 0, answer.stderr)
        const json = JSON.parse(answer.stdout)
        assert.match(json.answer, /west/)
        assert.strictEqual(json.citations[0].sourceId, "solar.md")
        const hybrid = yield* weft([
          "ask",
          "--data-dir",
          data,
          "--method",
          "hybrid",
          "Which way do the panels face now?"
        ])
        assert.strictEqual(hybrid.code, 0, hybrid.stderr)
        assert.match(hybrid.stdout, /hybrid search\)/)
        assert.match(hybrid.stdout, /\[1\] solar\.md/)
      }).pipe(Effect.scoped),
    120_000
  )

  it.live(
    "ask answers with citations from the store; a session is kept across processes",
    () =>
      Effect.gen(function* () {
        const { corpus, data } = yield* workspace
        yield* weft(["ingest", corpus, "--data-dir", data])
        const first = yield* weft([
          "ask",
          "--data-dir",
          data,
          "--session",
          "me",
          "How should I feed a sourdough starter?"
        ])
        assert.strictEqual(first.code, 0, first.stderr)
        assert.match(
          first.stdout,
          /Weft · answering from .*\(collection "default": 8 documents, \d+ passages, BM25\)/
        )
        assert.match(first.stdout, /\[1\] baking\.md/)
        assert.match(first.stdout, /Timeline/)
        // A new process: the follow-up is read in the light of the question the store kept.
        const followUp = yield* weft([
          "ask",
          "--data-dir",
          data,
          "--session",
          "me",
          "--json",
          "and how often?"
        ])
        assert.strictEqual(followUp.code, 0, followUp.stderr)
        assert.strictEqual(JSON.parse(followUp.stdout).citations[0].sourceId, "baking.md")
      }).pipe(Effect.scoped),
    120_000
  )

  it.live(
    "clear errors: asking a store that is not there or an empty collection, a missing folder, a file as the data directory, a data directory another process holds",
    () =>
      Effect.gen(function* () {
        const { corpus, data, dir } = yield* workspace
        // Reading commands say there is no store, and do not make one at a mistyped path.
        for (const args of [["ask", "anything?"], ["stats"]]) {
          const absent = yield* weft([...args, "--data-dir", data])
          assert.strictEqual(absent.code, 1)
          assert.match(
            absent.stderr,
            /there is no Weft store at .*data: run `npm run weft -- ingest <folder>` to make one/
          )
          assert.isFalse(existsSync(data), `${args[0]} created nothing`)
        }
        const ingested = yield* weft(["ingest", corpus, "--data-dir", data])
        assert.strictEqual(ingested.code, 0, ingested.stderr)
        const empty = yield* weft(["ask", "--data-dir", data, "--collection", "other", "anything?"])
        assert.strictEqual(empty.code, 1)
        assert.match(
          empty.stderr,
          /nothing is indexed in collection "other" at .*: run `npm run weft -- ingest <folder>` first/
        )
        const file = join(dir, "notes.md")
        writeFileSync(file, "# Notes")
        const notAFolder = yield* weft(["ingest", corpus, "--data-dir", file])
        assert.strictEqual(notAFolder.code, 1)
        assert.include(notAFolder.stderr, "is a file; the embedded store needs a folder of its own")
        assert.notInclude(notAFolder.stderr, "EEXIST")
        const missing = yield* weft(["ingest", join(corpus, "nope"), "--data-dir", data])
        assert.strictEqual(missing.code, 1)
        assert.match(missing.stderr, /No folder at .*nope/)
        // A second process on the same directory while the first holds it.
        yield* Layer.build(Database.layerEmbedded({ directory: data }))
        const busy = yield* weft(["stats", "--data-dir", data])
        assert.strictEqual(busy.code, 1)
        assert.match(busy.stderr, /is in use by another process/)
      }).pipe(Effect.scoped),
    120_000
  )
})

describe("npm run weft with OpenAI configured (a fake OpenAI server on loopback)", () => {
  it.live(
    "ingest keeps OpenAI's embeddings (requests checked against the API's schema); ask --method hybrid uses them",
    () =>
      Effect.gen(function* () {
        const { corpus, data } = yield* workspace
        const server = yield* Effect.acquireRelease(
          Effect.promise(() =>
            start({
              dimensions: 64,
              fallback: () => ({
                text: "Feed the starter flour and water [1].",
                usage: { prompt: 200, completion: 9 }
              })
            })
          ),
          (s) => Effect.promise(() => s.close())
        )
        const env = { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: "sk-test-not-printed" }
        const ingested = yield* weft(["ingest", corpus, "--data-dir", data, "--json"], env)
        assert.strictEqual(ingested.code, 0, ingested.stderr)
        const vectors = summary(ingested).vectors as unknown as {
          embedded: number
          model: string
          dimensions: number
        }
        assert.strictEqual(vectors.model, "text-embedding-3-small, openai")
        assert.strictEqual(vectors.dimensions, 64)
        assert.isAbove(vectors.embedded, 0)
        const embeddingCalls = server.requests.filter((r) => r.path.endsWith("/embeddings"))
        assert.isAbove(embeddingCalls.length, 0)
        assert.deepStrictEqual(server.violations, [])
        // Unchanged: nothing sent to the embeddings endpoint again.
        yield* weft(["ingest", corpus, "--data-dir", data, "--json"], env)
        assert.strictEqual(
          server.requests.filter((r) => r.path.endsWith("/embeddings")).length,
          embeddingCalls.length
        )
        const asked = yield* weft(
          ["ask", "--data-dir", data, "--method", "hybrid", "How should I feed a sourdough starter?"],
          env
        )
        assert.strictEqual(asked.code, 0, asked.stderr)
        assert.match(asked.stdout, /hybrid search\)/)
        assert.match(asked.stdout, /Model: .*openai/)
        assert.notInclude(asked.stdout + asked.stderr + ingested.stdout, "sk-test-not-printed")
      }).pipe(Effect.scoped),
    120_000
  )
})

const postgres = backends().find((backend) => backend.name === "postgres")

describe.runIf(postgres !== undefined)("npm run weft (PostgreSQL via DATABASE_URL)", () => {
  it.live(
    "ingest and ask run on the server named by DATABASE_URL, its password never printed",
    () =>
      Effect.gen(function* () {
        const { corpus } = yield* workspace
        const admin = new URL(postgresUrl()!)
        const name = `weft_cli_${process.pid}_${Date.now().toString(36)}`
        const context = yield* Layer.build(Database.layerPostgres({ url: Redacted.make(admin.toString()) }))
        const sql = Context.get(context, SqlClient.SqlClient)
        yield* Effect.acquireRelease(sql.unsafe(`CREATE DATABASE ${name}`).pipe(Effect.orDie), () =>
          sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).pipe(Effect.orDie)
        )
        const url = new URL(admin)
        url.pathname = `/${name}`
        url.password = "not-printed"
        const env = { DATABASE_URL: url.toString() }
        const ingested = yield* weft(["ingest", corpus], env)
        assert.strictEqual(ingested.code, 0, ingested.stderr)
        assert.match(ingested.stdout, /into postgres:\/\/weft@127\.0\.0\.1:\d+\/weft_cli_/)
        assert.notInclude(ingested.stdout + ingested.stderr, "not-printed")
        const answer = yield* weft(["ask", "--json", "How should I feed a sourdough starter?"], env)
        assert.strictEqual(answer.code, 0, answer.stderr)
        assert.strictEqual(JSON.parse(answer.stdout).citations[0].sourceId, "baking.md")
      }).pipe(Effect.scoped),
    120_000
  )
})
