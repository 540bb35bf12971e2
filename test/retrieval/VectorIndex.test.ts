import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Ref } from "effect"
import { EmbeddingModel } from "effect/ai"
import { SqlClient } from "effect/sql"
import * as Filter from "../../src/retrieval/Filter.ts"
import * as SqlSchema from "../../src/retrieval/internal/sqlSchema.ts"
import * as LexicalEmbedding from "../../src/retrieval/LexicalEmbedding.ts"
import * as SqlIndex from "../../src/retrieval/SqlIndex.ts"
import * as VectorIndex from "../../src/retrieval/VectorIndex.ts"
import { backends } from "../support/databases.ts"

const docs = [
  {
    sourceId: "bones.md",
    text: "Vitamin D deficiency raises the risk of hip fractures in older adults.",
    tags: ["health"]
  },
  { sourceId: "stars.md", text: "Neutron stars are the collapsed cores of massive stars.", tags: ["space"] },
  {
    sourceId: "yeast.md",
    text: "Transcription factors regulate gene expression in yeast cells.",
    tags: ["biology"]
  }
]

describe("VectorMatrix", () => {
  it.effect("finds the nearest rows by cosine, best first, and honours accept", () =>
    Effect.gen(function* () {
      const matrix = yield* VectorIndex.matrixOf([
        [1, 0, 0],
        [0, 2, 0],
        [1, 1, 0],
        [0, 0, 0]
      ])
      const hits = matrix.search([3, 1, 0], 3)
      assert.deepStrictEqual(
        hits.map((hit) => hit.row),
        [0, 2, 1]
      )
      assert.closeTo(hits[0]!.score, 3 / Math.sqrt(10), 1e-6)
      assert.deepStrictEqual(
        matrix.search([3, 1, 0], 2, (row) => row !== 0).map((hit) => hit.row),
        [2, 1]
      )
    })
  )

  it.effect("fails with InvalidOutputError when vectors differ in length", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        VectorIndex.matrixOf([
          [1, 0],
          [1, 0, 0]
        ])
      )
      assert.strictEqual(error.reason._tag, "InvalidOutputError")
    })
  )
})

/**
 * "cell" is in four texts of six, "zebrafish" in one: unweighted, the text
 * repeating "cells" is nearest to "cell zebrafish"; weighted by idf, the one
 * naming the rare zebrafish is.
 */
const idfDocs = [
  { sourceId: "cells.md", text: "Cells divide. Cells grow. Cells die." },
  { sourceId: "zebrafish.md", text: "The zebrafish heart regenerates after injury." },
  { sourceId: "yeast.md", text: "Yeast cells ferment sugar." },
  { sourceId: "blood.md", text: "Blood cells carry oxygen." },
  { sourceId: "plants.md", text: "Plant cells have walls." },
  { sourceId: "stars.md", text: "Neutron stars are collapsed cores." }
]
const idfQuery = "cell zebrafish"

describe("VectorIndex in memory", () => {
  it.effect(
    "weights the query's terms by idf over the chunks with the lexical model; queryIdf: false does not",
    () =>
      Effect.gen(function* () {
        const weighted = yield* VectorIndex.fromDocuments(idfDocs)
        const plain = yield* VectorIndex.fromDocuments(idfDocs, { queryIdf: false })
        assert.strictEqual((yield* weighted.search(idfQuery, { topK: 1 }))[0]?.sourceId, "zebrafish.md")
        assert.strictEqual((yield* plain.search(idfQuery, { topK: 1 }))[0]?.sourceId, "cells.md")
        // Stored vectors are the same either way: only the query changes.
        assert.deepStrictEqual(weighted.matrix.data, plain.matrix.data)
      }).pipe(Effect.provide(LexicalEmbedding.layer()))
  )

  it.effect("embeds the query with the model itself when the model is not the lexical one", () =>
    Effect.gen(function* () {
      const embedded = yield* Ref.make(0)
      const index = yield* VectorIndex.fromDocuments(idfDocs).pipe(Effect.provide(countingModel(embedded)))
      const before = yield* Ref.get(embedded)
      const [best] = yield* index.search(idfQuery, { topK: 1 })
      assert.strictEqual(yield* Ref.get(embedded), before + 1)
      assert.strictEqual(best?.sourceId, "cells.md")
    }).pipe(
      // The lexical Embedder in context belongs to another model: it must not be used.
      Effect.provide(LexicalEmbedding.layer())
    )
  )

  it.effect("returns the nearest chunk as a Passage with its document's metadata, and applies where", () =>
    Effect.gen(function* () {
      const index = yield* VectorIndex.fromDocuments(docs, { batchSize: 2 })
      assert.strictEqual(index.matrix.size, 3)
      const [best] = yield* index.search("fractures and vitamin D", { topK: 1 })
      assert.strictEqual(best?.sourceId, "bones.md")
      assert.deepStrictEqual(best?.tags, ["health"])
      const filtered = yield* index.search("fractures and vitamin D", {
        topK: 3,
        where: Filter.anyTag("space")
      })
      assert.deepStrictEqual(
        filtered.map((passage) => passage.sourceId),
        ["stars.md"]
      )
      const empty = yield* Effect.flip(index.search("  "))
      assert.strictEqual(empty.reason._tag, "EmptyQuery")
    }).pipe(Effect.provide(LexicalEmbedding.layer()))
  )
})

/** The lexical model, counting the texts it is asked to embed. */
const countingModel = (embedded: Ref.Ref<number>) =>
  Layer.effect(
    EmbeddingModel.EmbeddingModel,
    Effect.gen(function* () {
      const embedder = LexicalEmbedding.makeEmbedder()
      return yield* EmbeddingModel.make({
        embedMany: ({ inputs }) =>
          Ref.update(embedded, (n) => n + inputs.length).pipe(
            Effect.as({
              results: inputs.map((input) => Array.from(embedder.embed(input))),
              usage: { inputTokens: undefined }
            })
          )
      })
    })
  )

/** Writes a collection's documents and one chunk per sentence, as the SQL index stores them. */
const ingest = (
  collection: string,
  documents: ReadonlyArray<{ sourceId: string; text: string; tags: ReadonlyArray<string>; hash?: string }>
) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* SqlSchema.migrate
    yield* sql`DELETE FROM weft_chunks WHERE collection = ${collection}`
    yield* sql`DELETE FROM weft_documents WHERE collection = ${collection}`
    for (const doc of documents) {
      yield* sql`INSERT INTO weft_documents ${sql.insert({
        collection,
        source_id: doc.sourceId,
        title: null,
        updated_at: null,
        tags: JSON.stringify(doc.tags),
        metadata: null,
        content_hash: doc.hash ?? "h1",
        chunk_count: 1
      })}`
      yield* sql`INSERT INTO weft_chunks ${sql.insert({
        collection,
        id: `${doc.sourceId}#0`,
        source_id: doc.sourceId,
        position: 0,
        title: null,
        text: doc.text,
        length: doc.text.split(" ").length
      })}`
    }
    yield* sql`INSERT INTO weft_collections (collection, chunk_count, total_length, generation, options)
      VALUES (${collection}, ${documents.length}, 0, 1, '{}')
      ON CONFLICT (collection) DO UPDATE SET chunk_count = excluded.chunk_count,
        generation = weft_collections.generation + 1`
  })

describe.each(backends())("VectorIndex over SQL on $name", ({ layer }) => {
  it.layer(layer())((it) => {
    it.effect(
      "sync embeds only missing or changed chunks, drops orphans, and search finds the nearest under where",
      () =>
        Effect.gen(function* () {
          const embedded = yield* Ref.make(0)
          const index = yield* VectorIndex.makeSql({ model: "counting-lexical" }).pipe(
            Effect.provide(countingModel(embedded))
          )
          yield* ingest("c1", docs)
          const progress: Array<string> = []
          const first = yield* index.sync({
            collection: "c1",
            batchSize: 2,
            onProgress: ({ embedded, total }) => progress.push(`${embedded}/${total}`)
          })
          assert.deepStrictEqual(first, { embedded: 3, deleted: 0, unchanged: 0, dimensions: 1024 })
          assert.deepStrictEqual(progress, ["2/3", "3/3"])
          assert.strictEqual(yield* Ref.get(embedded), 3)

          const again = yield* index.sync({ collection: "c1" })
          assert.deepStrictEqual(again, { embedded: 0, deleted: 0, unchanged: 3, dimensions: 1024 })
          assert.strictEqual(yield* Ref.get(embedded), 3)

          const [best] = yield* index.search("vitamin D and fractures", { collection: "c1", topK: 1 })
          assert.strictEqual(best?.id, "bones.md#0")
          assert.deepStrictEqual(best?.tags, ["health"])
          assert.isAbove(best!.score, 0.2)
          const filtered = yield* index.search("vitamin D and fractures", {
            collection: "c1",
            topK: 3,
            where: Filter.not(Filter.source("bones.md"))
          })
          assert.notInclude(
            filtered.map((passage) => passage.sourceId),
            "bones.md"
          )
          assert.strictEqual(filtered.length, 2)

          // yeast.md is deleted, stars.md changes (same chunk id, new content hash).
          yield* ingest("c1", [
            docs[0]!,
            {
              sourceId: "stars.md",
              text: "Vitamin D is made in the skin in sunlight.",
              tags: ["space"],
              hash: "h2"
            }
          ])
          const third = yield* index.sync({ collection: "c1" })
          assert.deepStrictEqual(third, { embedded: 1, deleted: 1, unchanged: 1, dimensions: 1024 })
          assert.strictEqual(yield* index.count("c1"), 2)
          // The search sees the new vectors (the cached matrix was reloaded).
          const after = yield* index.search("made in the skin by sunlight", { collection: "c1", topK: 1 })
          assert.strictEqual(after[0]?.id, "stars.md#0")
          const none = yield* index.search("yeast transcription", { collection: "c1", topK: 5 })
          assert.notInclude(
            none.map((passage) => passage.id),
            "yeast.md#0"
          )
        })
    )

    it.effect(
      "weights the query by idf from the BM25 postings of the collection; queryIdf: false does not",
      () =>
        Effect.gen(function* () {
          const bm25 = yield* SqlIndex.make({ collection: "idf" })
          yield* bm25.ingestDocuments(idfDocs)
          const model = LexicalEmbedding.modelName()
          const weighted = yield* VectorIndex.makeSql({ model }).pipe(
            Effect.provide(LexicalEmbedding.layer())
          )
          const plain = yield* VectorIndex.makeSql({ model, queryIdf: false }).pipe(
            Effect.provide(LexicalEmbedding.layer())
          )
          assert.strictEqual((yield* weighted.sync({ collection: "idf" })).embedded, idfDocs.length)
          const [best] = yield* weighted.search(idfQuery, { collection: "idf", topK: 1 })
          assert.strictEqual(best?.sourceId, "zebrafish.md")
          const [plainBest] = yield* plain.search(idfQuery, { collection: "idf", topK: 1 })
          assert.strictEqual(plainBest?.sourceId, "cells.md")
          // The same ranking as in memory, where the frequencies are counted over the chunks.
          const memory = yield* VectorIndex.fromDocuments(idfDocs).pipe(
            Effect.provide(LexicalEmbedding.layer())
          )
          const inMemory = yield* memory.search(idfQuery, { topK: 6 })
          const inSql = yield* weighted.rank(idfQuery, { collection: "idf", topK: 6 })
          assert.deepStrictEqual(
            inSql.map((hit) => hit.id),
            inMemory.map((passage) => passage.id)
          )
        })
    )

    it.effect("a sync after SqlIndex ingests the same documents again embeds nothing", () =>
      Effect.gen(function* () {
        const embedded = yield* Ref.make(0)
        const index = yield* VectorIndex.makeSql({ model: "counting-reingest" }).pipe(
          Effect.provide(countingModel(embedded))
        )
        const bm25 = yield* SqlIndex.make({ collection: "reingest" })
        yield* bm25.ingestDocuments(idfDocs)
        const first = yield* index.sync({ collection: "reingest" })
        assert.isAbove(first.embedded, 0)
        const calls = yield* Ref.get(embedded)
        yield* bm25.ingestDocuments(idfDocs)
        const again = yield* index.sync({ collection: "reingest" })
        assert.deepStrictEqual(again, { ...first, embedded: 0, unchanged: first.embedded })
        assert.strictEqual(yield* Ref.get(embedded), calls)
      })
    )

    it.effect(
      "a search sees vectors another VectorIndex (another process) synced since it cached the matrix",
      () =>
        Effect.gen(function* () {
          yield* ingest("shared", docs)
          const make = VectorIndex.makeSql({ model: LexicalEmbedding.modelName() }).pipe(
            Effect.provide(LexicalEmbedding.layer())
          )
          const reader = yield* make
          const writer = yield* make
          // Read (and cached) before any vector exists.
          assert.deepStrictEqual(yield* reader.search("neutron stars", { collection: "shared" }), [])
          assert.strictEqual((yield* writer.sync({ collection: "shared" })).embedded, docs.length)
          const [best] = yield* reader.search("neutron stars", { collection: "shared", topK: 1 })
          assert.strictEqual(best?.id, "stars.md#0")
        })
    )

    it.effect("keeps collections and models apart; an unknown collection has no results", () =>
      Effect.gen(function* () {
        yield* ingest("c2", docs.slice(0, 1))
        const lexical = yield* VectorIndex.makeSql({ model: LexicalEmbedding.modelName() }).pipe(
          Effect.provide(LexicalEmbedding.layer())
        )
        const small = yield* VectorIndex.makeSql({ model: "small" }).pipe(
          Effect.provide(LexicalEmbedding.layer({ dimensions: 32 }))
        )
        assert.strictEqual((yield* lexical.sync({ collection: "c2" })).embedded, 1)
        assert.strictEqual((yield* small.sync({ collection: "c2" })).dimensions, 32)
        assert.strictEqual(yield* small.count("c2"), 1)
        assert.deepStrictEqual(yield* lexical.search("anything at all", { collection: "nope" }), [])
      })
    )
  })
})
