import { cpSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { synonymsOf } from "../../src/text/Synonyms.ts"
import { Effect, Exit, Fiber, Layer, Tracer } from "effect"
import { SqlClient } from "effect/sql"
import type * as Chunking from "../../src/retrieval/Chunking.ts"
import * as Filter from "../../src/retrieval/Filter.ts"
import * as Ingest from "../../src/retrieval/Ingest.ts"
import * as Retriever from "../../src/retrieval/Retriever.ts"
import * as SqlIndex from "../../src/retrieval/SqlIndex.ts"
import { random } from "../fixtures/seeded.ts"
import { backends } from "../support/databases.ts"

const fixture = new URL("../fixtures/retrieval/corpus", import.meta.url).pathname

/** A copy of the fixture corpus in a temporary folder, removed when the test ends. */
const corpusCopy = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = mkdtempSync(join(tmpdir(), "weft-corpus-"))
    cpSync(fixture, dir, { recursive: true })
    return dir
  }),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** Runs `effect` with a tracer that records the text of every SQL statement it executes. */
const recordingStatements = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const spans: Array<Tracer.NativeSpan> = []
    const tracer = Tracer.make({
      span(options) {
        const span = new Tracer.NativeSpan(options)
        spans.push(span)
        return span
      }
    })
    const result = yield* effect.pipe(Effect.provideService(Tracer.Tracer, tracer))
    const statements = spans
      .map((span) => span.attributes.get("db.query.text"))
      .filter((text): text is string => typeof text === "string")
    return { result, statements }
  })

const isWrite = (statement: string) => /^\s*(INSERT|UPDATE|DELETE|CREATE|ALTER|DROP)\b/i.test(statement)

/** A seeded corpus with a Zipf-like vocabulary: many shared terms, repeated lengths, and so exact ties. */
const syntheticCorpus = (documents: number, seed: number): Array<Chunking.Document> => {
  const next = random(seed)
  const vocabulary = Array.from({ length: 400 }, (_, i) => `w${i.toString(36)}x`)
  const word = () => vocabulary[Math.floor(vocabulary.length * next() ** 3)]!
  return Array.from({ length: documents }, (_, d) => {
    const sentences = 1 + Math.floor(next() * 6)
    const lines: Array<string> = []
    if (next() < 0.5) lines.push(`# ${word()} ${word()}`)
    for (let s = 0; s < sentences; s++) {
      const words = 3 + Math.floor(next() * 12)
      lines.push(`${Array.from({ length: words }, word).join(" ")}.`)
    }
    return { sourceId: `doc-${String(d).padStart(4, "0")}.md`, text: lines.join("\n") }
  })
}

const queries = [
  "sourdough starter yeast",
  "how do bees make honey",
  "volcano eruption lava",
  "compiler parser tokens",
  "chess opening",
  "knitting needles wool yarn",
  "solar panels sunlight energy",
  "tide pools at low tide",
  "the"
]

describe.each(backends())("SqlIndex on $name", ({ layer }) => {
  it.layer(Layer.merge(layer(), NodeServices.layer))((it) => {
    it.effect("indexes a folder; re-ingesting it unchanged writes nothing, not even an UPDATE", () =>
      Effect.gen(function* () {
        const dir = yield* corpusCopy
        const index = yield* SqlIndex.make({ collection: "unchanged" })
        const first = yield* index.ingestFolder(dir)
        assert.strictEqual(first.files, 9)
        assert.strictEqual(first.added, 8)
        assert.strictEqual(first.unchanged, 0)
        assert.isAbove(first.chunksWritten, 8)
        // notes.json has no "text" field: passed over, and said why.
        assert.deepStrictEqual(
          first.skipped.map((file) => [file.sourceId, file.reason]),
          [["notes.json", "NotDocument"]]
        )
        const before = yield* index.stats
        assert.strictEqual(before.documents, 8)
        assert.strictEqual(before.chunks, first.chunksWritten)
        assert.isAbove(before.terms, 100)

        const { result: second, statements } = yield* recordingStatements(index.ingestFolder(dir))
        assert.strictEqual(second.unchanged, 8)
        assert.strictEqual(second.added + second.changed + second.deleted, 0)
        assert.strictEqual(second.chunksWritten, 0)
        assert.isAbove(statements.length, 0, "the tracer saw the reads")
        assert.deepStrictEqual(statements.filter(isWrite), [])
        const after = yield* index.stats
        assert.deepStrictEqual(after, before)
      })
    )

    it.effect("a changed file's old chunks and postings are gone, replaced by the new ones", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const dir = yield* corpusCopy
        const index = yield* SqlIndex.make({ collection: "changed" })
        yield* index.ingestFolder(dir)
        const generation = (yield* index.stats).generation
        assert.isAbove((yield* index.search("sourdough starter")).length, 0)
        writeFileSync(join(dir, "baking.md"), "# Pasta\n\nFresh pasta needs semolina, eggs and patience.\n")
        const summary = yield* index.ingestFolder(dir)
        assert.strictEqual(summary.changed, 1)
        assert.strictEqual(summary.unchanged, 7)
        assert.strictEqual(summary.chunksWritten, 1)
        assert.isAbove(summary.chunksDeleted, 0)
        assert.isAbove((yield* index.stats).generation, generation)
        assert.deepStrictEqual(yield* index.search("sourdough starter"), [])
        const pasta = yield* index.search("semolina")
        assert.deepStrictEqual(
          pasta.map((passage) => [passage.id, passage.title, passage.documentTitle]),
          [["baking.md#0", "Pasta", "Pasta"]]
        )
        const chunks = yield* sql<{ id: string }>`
          SELECT id FROM weft_chunks WHERE collection = 'changed' AND source_id = 'baking.md'`
        assert.deepStrictEqual(
          chunks.map((row) => row.id),
          ["baking.md#0"]
        )
        // Every posting belongs to a chunk that exists, and the collection's counters match the rows.
        const [orphans] = yield* sql<{ n: number | string }>`
          SELECT COUNT(*) AS n FROM weft_postings p WHERE p.collection = 'changed'
          AND NOT EXISTS (SELECT 1 FROM weft_chunks c WHERE c.collection = p.collection AND c.id = p.chunk_id)`
        assert.strictEqual(Number(orphans!.n), 0)
        const [counters] = yield* sql<{ chunk_count: number | string; total_length: number | string }>`
          SELECT chunk_count, total_length FROM weft_collections WHERE collection = 'changed'`
        const [actual] = yield* sql<{ n: number | string; total: number | string }>`
          SELECT COUNT(*) AS n, SUM(length) AS total FROM weft_chunks WHERE collection = 'changed'`
        assert.strictEqual(Number(counters!.chunk_count), Number(actual!.n))
        assert.strictEqual(Number(counters!.total_length), Number(actual!.total))
      })
    )

    it.effect("a deleted file leaves the index; an unreadable one keeps its indexed version", () =>
      Effect.gen(function* () {
        const dir = yield* corpusCopy
        const index = yield* SqlIndex.make({ collection: "deleted" })
        yield* index.ingestFolder(dir)
        // chess.md becomes a broken link (unreadable); solar.md is deleted.
        unlinkSync(join(dir, "chess.md"))
        symlinkSync(join(dir, "missing-target.md"), join(dir, "chess.md"))
        unlinkSync(join(dir, "solar.md"))
        const summary = yield* index.ingestFolder(dir)
        assert.strictEqual(summary.deleted, 1)
        assert.deepStrictEqual(
          summary.skipped.map((file) => [file.sourceId, file.reason]),
          [
            ["chess.md", "Unreadable"],
            ["notes.json", "NotDocument"]
          ]
        )
        assert.deepStrictEqual(yield* index.search("solar panels sunlight"), [])
        const chess = yield* index.search("chess opening", { topK: 1 })
        assert.strictEqual(chess[0]?.sourceId, "chess.md")
        assert.strictEqual((yield* index.stats).documents, 7)
        // A folder emptied of every file empties the collection.
        for (const file of ["baking.md", "compilers.md", "knitting.txt", "notes.json"])
          unlinkSync(join(dir, file))
        rmSync(join(dir, "nature"), { recursive: true })
        unlinkSync(join(dir, "chess.md"))
        // Files there, none readable: ingestion fails and the index keeps what it had.
        writeFileSync(join(dir, "binary.md"), Buffer.from([0, 159, 146, 150, 0, 1, 2]))
        const unreadable = yield* Effect.flip(index.ingestFolder(dir))
        assert.strictEqual(unreadable.reason._tag, "EmptyCorpus")
        assert.strictEqual((yield* index.stats).documents, 7)
        unlinkSync(join(dir, "binary.md"))
        const emptied = yield* index.ingestFolder(dir)
        assert.strictEqual(emptied.files, 0)
        assert.strictEqual(emptied.deleted, 7)
        assert.deepStrictEqual(yield* index.stats, {
          ...(yield* index.stats),
          documents: 0,
          chunks: 0,
          terms: 0
        })
      })
    )

    it.effect("BM25 in SQL ranks as the in-memory index does: same ids, scores within 1e-9", () =>
      Effect.gen(function* () {
        const chunking = { size: 24, overlap: 6 }
        const corpora: Array<{
          name: string
          documents: ReadonlyArray<Chunking.Document>
          queries: Array<string>
        }> = [
          { name: "fixture", documents: yield* Ingest.loadFolder(fixture), queries },
          {
            name: "synthetic",
            documents: syntheticCorpus(300, 7),
            queries: Array.from({ length: 40 }, (_, i) => {
              const next = random(1000 + i)
              return Array.from(
                { length: 1 + (i % 4) },
                () => `w${Math.floor(400 * next() ** 2).toString(36)}x`
              ).join(" ")
            })
          }
        ]
        let compared = 0
        for (const corpus of corpora) {
          const memory = yield* Retriever.fromDocuments(corpus.documents, { chunking })
          const index = yield* SqlIndex.make({ collection: `bm25-${corpus.name}`, chunking })
          yield* index.ingestDocuments(corpus.documents)
          for (const query of corpus.queries) {
            const expected = yield* memory.retrieve(query, { topK: 40 })
            const actual = yield* index.search(query, { topK: 40 })
            assert.deepStrictEqual(
              actual.map((passage) => passage.id),
              expected.map((passage) => passage.id),
              `${corpus.name}: ${query}`
            )
            for (let i = 0; i < expected.length; i++) {
              assert.approximately(actual[i]!.score, expected[i]!.score, 1e-9)
              assert.strictEqual(actual[i]!.text, expected[i]!.text)
              assert.strictEqual(actual[i]!.title, expected[i]!.title)
            }
            compared += expected.length
          }
        }
        assert.isAbove(compared, 500)
      })
    )

    it.effect(
      "exact ties rank as in memory over documents sorted by source id, whatever order they were ingested in",
      () =>
        Effect.gen(function* () {
          // Source ids whose code-unit order differs from a locale's (case, punctuation, accents),
          // and a document of twelve equal chunks (chunk 10 sorts before chunk 2 as text).
          const same = "Tide pools hold crabs."
          const documents: Array<Chunking.Document> = [
            ...["b.md", "B.md", "_n.md", "a-z.md", "a_z.md", "Z.md", "ä.md", "a.md"].map((sourceId) => ({
              sourceId,
              text: same
            })),
            { sourceId: "many.md", text: Array.from({ length: 12 }, () => `# Tide\n\n${same}\n`).join("\n") }
          ]
          const sorted = [...documents].sort((a, b) => (a.sourceId < b.sourceId ? -1 : 1))
          const memory = yield* Retriever.fromDocuments(sorted)
          const index = yield* SqlIndex.make({ collection: "ties" })
          yield* index.ingestDocuments([...documents].reverse())
          const expected = yield* memory.retrieve("tide crabs", { topK: 40 })
          const actual = yield* index.search("tide crabs", { topK: 40 })
          assert.lengthOf(expected, 20)
          assert.deepStrictEqual(
            actual.map((passage) => passage.id),
            expected.map((passage) => passage.id)
          )
          assert.deepStrictEqual(
            actual.filter((passage) => passage.sourceId === "many.md").map((passage) => passage.id),
            Array.from({ length: 12 }, (_, i) => `many.md#${i}`)
          )
        })
    )

    it.effect("re-ingesting the same documents in another order, with an empty one, writes nothing", () =>
      Effect.gen(function* () {
        const documents = [...syntheticCorpus(40, 5), { sourceId: "blank.md", text: " \n" }]
        const index = yield* SqlIndex.make({ collection: "reordered" })
        yield* index.ingestDocuments(documents)
        const before = yield* index.stats
        const { result, statements } = yield* recordingStatements(
          index.ingestDocuments([...documents].reverse(), { removeMissing: true })
        )
        assert.strictEqual(result.unchanged, 40)
        assert.strictEqual(result.empty, 1)
        assert.strictEqual(result.added + result.changed + result.deleted, 0)
        assert.isAbove(statements.length, 0, "the tracer saw the reads")
        assert.deepStrictEqual(statements.filter(isWrite), [])
        assert.deepStrictEqual(yield* index.stats, before)
      })
    )

    it.effect("a JSON file that no longer parses keeps its indexed records", () =>
      Effect.gen(function* () {
        const dir = yield* corpusCopy
        writeFileSync(
          join(dir, "faq.json"),
          JSON.stringify([
            { id: "refunds", text: "Refunds are paid within fourteen days." },
            { id: "shipping", text: "Parcels ship from Rotterdam." }
          ])
        )
        const index = yield* SqlIndex.make({ collection: "unparsable" })
        yield* index.ingestFolder(dir)
        const documents = (yield* index.stats).documents
        writeFileSync(join(dir, "faq.json"), '[{ "id": "refunds", "text": "Refunds are')
        const summary = yield* index.ingestFolder(dir)
        assert.strictEqual(summary.deleted, 0)
        assert.include(
          summary.skipped.map((file) => file.sourceId),
          "faq.json"
        )
        assert.strictEqual((yield* index.stats).documents, documents)
        const [refund] = yield* index.search("refunds paid")
        assert.strictEqual(refund?.sourceId, "faq.json#refunds")
        const [parcel] = yield* index.search("parcels Rotterdam")
        assert.strictEqual(parcel?.sourceId, "faq.json#shipping")
      })
    )

    it.effect("filters give the same passages in SQL as in memory", () =>
      Effect.gen(function* () {
        const day = 86_400_000
        const documents: Array<Chunking.Document> = syntheticCorpus(60, 3).map((document, i) => ({
          ...document,
          sourceId: `${["guides", "notes", "api"][i % 3]}/${document.sourceId}`,
          ...(i % 5 === 0 ? {} : { updatedAt: Date.UTC(2025, 0, 1) + i * day }),
          ...(i % 4 === 0 ? {} : { tags: [["red"], ["blue"], ["red", "blue"]][i % 3]! })
        }))
        // Ties go to the earlier document: in memory by position, in SQL by source id, so give them in that order.
        documents.sort((a, b) => (a.sourceId < b.sourceId ? -1 : 1))
        const memory = yield* Retriever.fromDocuments(documents)
        const index = yield* SqlIndex.make({ collection: "filters" })
        yield* index.ingestDocuments(documents)
        const filters: Array<Filter.Filter> = [
          Filter.source("notes/doc-0001.md", "guides/doc-0003.md"),
          Filter.sourcePrefix("api/"),
          Filter.anyTag("red"),
          Filter.allTags("red", "blue"),
          Filter.not(Filter.anyTag("blue")),
          Filter.updatedBetween({ from: Date.UTC(2025, 0, 10), to: Date.UTC(2025, 0, 40) }),
          Filter.not(Filter.updatedBetween({ from: Date.UTC(2025, 0, 10) })),
          Filter.and(
            Filter.sourcePrefix("guides/"),
            Filter.or(Filter.anyTag("blue"), Filter.not(Filter.allTags()))
          ),
          Filter.or(),
          Filter.and()
        ]
        let nonEmpty = 0
        for (const where of filters) {
          for (const query of ["w0x w1x", "w2x", "w3x w5x w8x"]) {
            const expected = yield* memory.retrieve(query, { topK: 100, where })
            const actual = yield* index.search(query, { topK: 100, where })
            assert.deepStrictEqual(
              actual.map((passage) => passage.id),
              expected.map((passage) => passage.id),
              JSON.stringify(where)
            )
            const accepts = Filter.toPredicate(where)
            for (const passage of actual) assert.isTrue(accepts(passage))
            if (actual.length > 0) nonEmpty += 1
          }
        }
        assert.isAbove(nonEmpty, 20)
      })
    )

    it.effect("passages carry their document's metadata; JSON and JSON Lines files are indexed", () =>
      Effect.gen(function* () {
        const dir = yield* corpusCopy
        writeFileSync(
          join(dir, "faq.json"),
          JSON.stringify([
            {
              id: "refunds",
              title: "Refunds",
              text: "Refunds are paid within fourteen days.",
              tags: ["billing"]
            },
            { id: "shipping", title: "Shipping", text: "Parcels ship from Rotterdam.", author: "ops" }
          ])
        )
        writeFileSync(
          join(dir, "log.jsonl"),
          `${JSON.stringify({ text: "The aquarium pump hums at night." })}\n\n${JSON.stringify({ text: "Glaciers carve fjords." })}\n`
        )
        const index = yield* SqlIndex.make({ collection: "metadata" })
        const summary = yield* index.ingestFolder(dir)
        assert.strictEqual(summary.added, 12)
        const [refund] = yield* index.search("refunds paid")
        assert.strictEqual(refund?.sourceId, "faq.json#refunds")
        assert.strictEqual(refund?.documentTitle, "Refunds")
        assert.deepStrictEqual(refund?.tags, ["billing"])
        assert.isNumber(refund?.updatedAt)
        const [shipping] = yield* index.search("parcels Rotterdam", {
          where: Filter.not(Filter.anyTag("billing"))
        })
        assert.deepStrictEqual(shipping?.metadata, { author: "ops" })
        const [glacier] = yield* index.search("glaciers fjords")
        assert.strictEqual(glacier?.sourceId, "log.jsonl#2")
        const [bees] = yield* index.search("honey bees", { where: Filter.sourcePrefix("nature/") })
        assert.strictEqual(bees?.documentTitle, "Honey bees")
      })
    )

    it.effect("empty documents are skipped and counted; an emptied one leaves the index", () =>
      Effect.gen(function* () {
        const index = yield* SqlIndex.make({ collection: "empty" })
        const first = yield* index.ingestDocuments([
          { sourceId: "a.md", text: "Alpha particles." },
          { sourceId: "b.md", text: "  \n\t " },
          { sourceId: "c.md", text: "Gamma rays." }
        ])
        assert.strictEqual(first.added, 2)
        assert.strictEqual(first.empty, 1)
        const second = yield* index.ingestDocuments([{ sourceId: "c.md", text: "" }])
        assert.strictEqual(second.empty, 1)
        assert.strictEqual(second.deleted, 1)
        assert.strictEqual((yield* index.stats).documents, 1)
        // removeMissing: the collection becomes exactly the documents given.
        const third = yield* index.ingestDocuments([{ sourceId: "d.md", text: "Delta." }], {
          removeMissing: true
        })
        assert.strictEqual(third.deleted, 1)
        assert.deepStrictEqual(
          (yield* index.search("alpha delta", { topK: 10 })).map((passage) => passage.sourceId),
          ["d.md"]
        )
      })
    )

    it.effect("topK, minScore and the token budget; a query longer than the budget is a typed error", () =>
      Effect.gen(function* () {
        const index = yield* SqlIndex.make({ collection: "budget" })
        yield* index.ingestDocuments(yield* Ingest.loadFolder(fixture))
        const all = yield* index.search("water light heat honey stitch", { topK: 20 })
        assert.isAbove(all.length, 3)
        assert.lengthOf(yield* index.search("water light heat honey stitch", { topK: 2 }), 2)
        const threshold = all[2]!.score
        const above = yield* index.search("water light heat honey stitch", { topK: 20, minScore: threshold })
        assert.isTrue(above.every((passage) => passage.score >= threshold))
        assert.strictEqual(above.length, all.filter((passage) => passage.score >= threshold).length)
        const budget = 120
        const fitted = yield* index.search("water light heat honey stitch", { topK: 20, tokenBudget: budget })
        assert.isAbove(fitted.length, 0)
        assert.isBelow(fitted.length, all.length)
        assert.deepStrictEqual(
          fitted.map((passage) => passage.id),
          all.slice(0, fitted.length).map((passage) => passage.id)
        )
        const tooLong = yield* Effect.flip(index.search("word ".repeat(200), { tokenBudget: 50 }))
        assert.strictEqual(tooLong.reason._tag, "QueryTooLong")
        assert.match(tooLong.message, /takes 20\d tokens, more than the context budget of 50/)
        const badTopK = yield* Effect.flip(index.search("sun", { topK: 0 }))
        assert.strictEqual(badTopK.reason._tag, "InvalidOption")
        const badWhere = yield* Effect.flip(index.search("sun", { where: { _tag: "Nope" } as never }))
        assert.strictEqual(badWhere.reason._tag, "InvalidOption")
        assert.strictEqual((yield* Effect.flip(index.search("  "))).reason._tag, "EmptyQuery")
      })
    )

    it.effect("a collection keeps the options it was indexed with; other options are refused", () =>
      Effect.gen(function* () {
        const index = yield* SqlIndex.make({ collection: "options", chunking: { size: 30, overlap: 5 } })
        yield* index.ingestDocuments([{ sourceId: "a.md", text: "Alpha." }])
        const reopened = yield* SqlIndex.make({ collection: "options" })
        assert.deepStrictEqual(reopened.options.chunking, { size: 30, overlap: 5, maxTokens: 75 })
        // The same options, given again (in another order, the stemmer by another name), are accepted.
        const same = yield* SqlIndex.make({
          collection: "options",
          bm25: { stem: true },
          chunking: { overlap: 5, size: 30 }
        })
        assert.deepStrictEqual(same.options, reopened.options)
        const refused = yield* Effect.flip(
          SqlIndex.make({ collection: "options", chunking: { size: 40, overlap: 5 } })
        )
        assert.strictEqual(refused.reason._tag, "InvalidOption")
        assert.match(refused.message, /indexed with/)
        yield* reopened.clear
        const fresh = yield* SqlIndex.make({ collection: "options", chunking: { size: 40, overlap: 5 } })
        assert.strictEqual(fresh.options.chunking.size, 40)
      })
    )

    it.effect("Retriever.layerSql serves the Retriever service from the SQL index", () =>
      Effect.gen(function* () {
        yield* SqlIndex.ingestFolder(fixture, { collection: "served" })
        const passages = yield* Retriever.retrieve("sourdough starter", { topK: 2 }).pipe(
          Effect.provide(Retriever.layerSql({ collection: "served" }))
        )
        assert.strictEqual(passages[0]?.sourceId, "baking.md")
        const size = yield* Retriever.indexSize.pipe(
          Effect.provide(Retriever.layerSql({ collection: "served" }))
        )
        assert.strictEqual(size.documents, 8)
        const closure = yield* Effect.flip(
          Retriever.retrieve("sourdough", { filter: () => true }).pipe(
            Effect.provide(Retriever.layerSql({ collection: "served" }))
          )
        )
        assert.strictEqual(closure.reason._tag, "InvalidOption")
      })
    )

    it.effect("prepare rewrites each document before it is hashed: what it drops is not indexed", () =>
      Effect.gen(function* () {
        const prepare = (document: Chunking.Document) => ({
          ...document,
          text: document.text.replace(/sourdough/gi, "")
        })
        const first = yield* SqlIndex.ingestFolder(fixture, { collection: "prepared", prepare })
        assert.isAbove(first.added, 0)
        const found = yield* SqlIndex.search("sourdough", { collection: "prepared" })
        assert.deepStrictEqual(found, [])
        const again = yield* SqlIndex.ingestFolder(fixture, { collection: "prepared", prepare })
        assert.strictEqual(again.unchanged, first.added)
        assert.strictEqual(again.chunksWritten, 0)
      })
    )

    it.effect("query expansion scores in SQL as in memory (synonyms at half weight, once each)", () =>
      Effect.gen(function* () {
        const documents = yield* Ingest.loadFolder(fixture)
        const memory = yield* Retriever.fromDocuments(documents)
        yield* SqlIndex.ingestDocuments(documents, { collection: "expanded" })
        const sqlRetriever = Retriever.layerSql({ collection: "expanded" })
        let compared = 0
        for (const query of ["booking a vacation", "work mobile phone", "how often to feed the starter"]) {
          for (const expandWeight of [0.5, 1]) {
            const options = { topK: 10, expand: synonymsOf, expandWeight }
            const expected = yield* memory.retrieve(query, options)
            const actual = yield* Retriever.retrieve(query, options).pipe(Effect.provide(sqlRetriever))
            assert.deepStrictEqual(
              actual.map((p) => p.id),
              expected.map((p) => p.id),
              query
            )
            for (let i = 0; i < expected.length; i++)
              assert.approximately(actual[i]!.score, expected[i]!.score, 1e-9)
            compared += expected.length
          }
        }
        assert.isAbove(compared, 0)
        // A paraphrase found through a synonym, as in memory.
        yield* SqlIndex.ingestDocuments(
          [
            { sourceId: "leave.md", text: "Annual leave must be booked two weeks ahead." },
            { sourceId: "desk.md", text: "Desks are booked through the portal each week." }
          ],
          { collection: "paraphrase" }
        )
        const paraphrase = Retriever.layerSql({ collection: "paraphrase" })
        const [plain] = yield* Retriever.retrieve("booking a vacation").pipe(Effect.provide(paraphrase))
        assert.strictEqual(plain?.sourceId, "desk.md")
        const [top] = yield* Retriever.retrieve("booking a vacation", { expand: synonymsOf }).pipe(
          Effect.provide(paraphrase)
        )
        assert.strictEqual(top?.sourceId, "leave.md")
      })
    )

    it.effect("folder progress times both phases on the Clock (TestClock: no time passes)", () =>
      Effect.gen(function* () {
        const reports: Array<SqlIndex.IngestProgress> = []
        yield* SqlIndex.ingestFolder(fixture, {
          collection: "folder-progress",
          onProgress: (progress) => reports.push(progress)
        })
        assert.isTrue(reports.some((report) => report.phase === "reading"))
        assert.isTrue(reports.some((report) => report.phase === "indexing"))
        assert.deepStrictEqual([...new Set(reports.map((report) => report.elapsedMs))], [0])
      })
    )

    it.effect("reports progress, and an interrupted ingestion leaves whole documents", () =>
      Effect.gen(function* () {
        const index = yield* SqlIndex.make({ collection: "progress" })
        const documents = syntheticCorpus(1500, 11)
        const reports: Array<SqlIndex.IngestProgress> = []
        const fiber = yield* Effect.forkChild(
          index.ingestDocuments(documents, { onProgress: (progress) => reports.push(progress) })
        )
        // Let it get past its first committed batch, then interrupt.
        while (reports.length < 800) yield* Effect.yieldNow
        yield* Fiber.interrupt(fiber)
        assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(fiber)))
        assert.isTrue(reports.every((report, i) => report.filesDone === i + 1 && report.files === 1500))
        const sql = yield* SqlClient.SqlClient
        // Every indexed document has all its chunks: none was cut in half.
        const rows = yield* sql<{ source_id: string; chunk_count: number | string; chunks: number | string }>`
          SELECT d.source_id, d.chunk_count, (SELECT COUNT(*) FROM weft_chunks c
            WHERE c.collection = d.collection AND c.source_id = d.source_id) AS chunks
          FROM weft_documents d WHERE d.collection = 'progress'`
        assert.isAbove(rows.length, 0)
        assert.isBelow(rows.length, 1500)
        for (const row of rows) assert.strictEqual(Number(row.chunks), Number(row.chunk_count))
        // Ingesting again completes the rest, and only the rest.
        const rest = yield* index.ingestDocuments(documents)
        assert.strictEqual(rest.unchanged, rows.length)
        assert.strictEqual(rest.added, 1500 - rows.length)
      })
    )
  })
})
