/**
 * The persistent store: index documents in SQL, search them with a filter,
 * re-ingest without rewriting what did not change, and keep a session's
 * history in the same database. Runs on a throwaway embedded database; point
 * `Database.layerPostgres({ url })` at a server for the same code on
 * PostgreSQL.
 *
 *   npm run snippet -- storage
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Console, Effect, Layer } from "effect"
import { Prompt } from "effect/ai"
import { Database, Filter, Memory, Retriever, SqlIndex, SqlStore } from "weft-ai"

const documents = [
  {
    sourceId: "handbook/leave.md",
    text: "# Leave\n\nFull-time staff get 27 days of annual leave a year, booked two weeks ahead.",
    tags: ["hr"]
  },
  {
    sourceId: "handbook/expenses.md",
    text: "# Expenses\n\nTravel is booked through the portal; receipts are due within 30 days.",
    tags: ["finance"]
  },
  {
    sourceId: "notes/offsite.md",
    text: "# Offsite\n\nThe team offsite is booked for the first week of June.",
    tags: ["team"]
  }
]

const program = Effect.gen(function* () {
  // Ingest: each document's content hash is stored with it.
  const first = yield* SqlIndex.ingestDocuments(documents)
  yield* Console.log(`first ingest: ${first.added} added, ${first.chunksWritten} chunks written`)
  const again = yield* SqlIndex.ingestDocuments(documents)
  yield* Console.log(
    `same documents again: ${again.unchanged} unchanged, ${again.chunksWritten} chunks written`
  )

  // BM25 in SQL, filtered in SQL: only the handbook's HR pages.
  const where = Filter.and(Filter.sourcePrefix("handbook/"), Filter.anyTag("hr"))
  const passages = yield* Retriever.retrieve("how many days off do staff get?", { topK: 3, where }).pipe(
    Effect.provide(Retriever.layerSql())
  )
  for (const p of passages) yield* Console.log(`  ${p.sourceId} (${p.score.toFixed(2)}): ${p.text}`)

  // A session's history in the same database, as effect/ai Prompt messages.
  const memory = yield* Memory.Memory
  yield* memory.append("alice", [
    Prompt.userMessage({ content: [Prompt.textPart({ text: "How many days of leave do I get?" })] })
  ])
  const history = yield* memory.history("alice")
  const stats = yield* SqlIndex.stats()
  yield* Console.log(
    `store: ${stats.documents} documents, ${stats.chunks} chunks, ${stats.terms} terms; alice has ${history.length} message`
  )
})

// A fresh data directory for the run; a real program keeps one (`.weft`) across runs.
const directory = mkdtempSync(join(tmpdir(), "weft-snippet-"))
const store = Database.layerEmbedded({ directory })

await Effect.runPromise(
  program.pipe(Effect.provide(SqlStore.layerMemory.pipe(Layer.provideMerge(store))))
).finally(() => rmSync(directory, { recursive: true, force: true }))
