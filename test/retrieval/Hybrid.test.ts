import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { AiError, EmbeddingModel } from "effect/ai"
import * as Filter from "../../src/retrieval/Filter.ts"
import * as Hybrid from "../../src/retrieval/Hybrid.ts"
import * as LexicalEmbedding from "../../src/retrieval/LexicalEmbedding.ts"
import * as Retriever from "../../src/retrieval/Retriever.ts"
import * as SqlIndex from "../../src/retrieval/SqlIndex.ts"
import * as VectorIndex from "../../src/retrieval/VectorIndex.ts"
import { backends } from "../support/databases.ts"

describe("reciprocalRankFusion", () => {
  it("sums weight / (k + rank) over the lists, as computed by hand", () => {
    const fused = Hybrid.reciprocalRankFusion(
      [{ ids: ["a", "b", "c"] }, { ids: ["b", "d"], weight: 0.5 }],
      60
    )
    // a: 1/61 = 0.016393; b: 1/62 + 0.5/61 = 0.024326; c: 1/63 = 0.015873; d: 0.5/62 = 0.008065
    assert.deepStrictEqual(
      fused.map((hit) => hit.id),
      ["b", "a", "c", "d"]
    )
    assert.closeTo(fused[0]!.score, 1 / 62 + 0.5 / 61, 1e-12)
    assert.closeTo(fused[3]!.score, 0.5 / 62, 1e-12)
  })

  it("counts an id once per list, at its first position, and keeps first-met order on ties", () => {
    const fused = Hybrid.reciprocalRankFusion([{ ids: ["x", "x", "y"] }, { ids: ["y", "x"] }], 1)
    // x: 1/(1+1) + 1/(1+2) = 0.8333 (its repeat ignored); y: 1/(1+3) + 1/(1+1) = 0.75.
    assert.deepStrictEqual(
      fused.map((hit) => [hit.id, Number(hit.score.toFixed(4))]),
      [
        ["x", 0.8333],
        ["y", 0.75]
      ]
    )
    const tied = Hybrid.reciprocalRankFusion([{ ids: ["p", "q"] }, { ids: ["q", "p"] }])
    assert.deepStrictEqual(
      tied.map((hit) => hit.id),
      ["p", "q"]
    )
  })
})

const documents = [
  {
    sourceId: "bones.md",
    text: "# Bones\n\nVitamin D deficiency raises the risk of hip fractures.",
    tags: ["health"]
  },
  {
    sourceId: "stars.md",
    text: "# Stars\n\nNeutron stars are the collapsed cores of massive stars.",
    tags: ["space"]
  },
  {
    sourceId: "yeast.md",
    text: "# Yeast\n\nTranscription factors regulate gene expression in yeast.",
    tags: ["biology"]
  },
  { sourceId: "sun.md", text: "# Sunlight\n\nSkin makes vitamin D from sunlight.", tags: ["health"] }
]

describe("convexCombination", () => {
  it("adds min-max normalised scores times each list's weight; a missing id scores 0 there", () => {
    const fused = Hybrid.convexCombination([
      {
        hits: [
          { id: "a", score: 9 },
          { id: "b", score: 5 },
          { id: "c", score: 1 }
        ]
      },
      {
        hits: [
          { id: "c", score: 0.8 },
          { id: "d", score: 0.6 },
          { id: "b", score: 0.4 }
        ],
        weight: 0.5
      }
    ])
    // a: 1; b: 0.5 + 0.5·0; c: 0 + 0.5·1; d: 0.5·0.5.
    assert.deepStrictEqual(
      fused.map((hit) => [hit.id, Number(hit.score.toFixed(4))]),
      [
        ["a", 1],
        ["b", 0.5],
        ["c", 0.5],
        ["d", 0.25]
      ]
    )
  })

  it("gives every id of a list of equal scores the list's weight, and counts a repeat once", () => {
    const fused = Hybrid.convexCombination([
      {
        hits: [
          { id: "x", score: 2 },
          { id: "y", score: 2 },
          { id: "x", score: 2 }
        ],
        weight: 0.3
      },
      { hits: [] }
    ])
    assert.deepStrictEqual(
      fused.map((hit) => [hit.id, hit.score]),
      [
        ["x", 0.3],
        ["y", 0.3]
      ]
    )
  })
})

describe("Hybrid in memory", () => {
  it.effect("fuses by normalised scores with fusion: convex, best of both lists first", () =>
    Effect.gen(function* () {
      const hybrid = yield* Hybrid.fromDocuments(documents)
      const passages = yield* hybrid.search("vitamin D fractures", { topK: 3, fusion: "convex" })
      assert.strictEqual(passages[0]?.sourceId, "bones.md")
      // First in both lists: 1·1 + 0.3·1.
      assert.closeTo(passages[0]!.score, 1.3, 1e-12)
      assert.isTrue(passages.every((passage, i) => i === 0 || passage.score <= passages[i - 1]!.score))
    }).pipe(Effect.provide(LexicalEmbedding.layer()))
  )

  it.effect("returns passages in the Retriever's shape, fused from both rankings, under where", () =>
    Effect.gen(function* () {
      const hybrid = yield* Hybrid.fromDocuments(documents)
      const passages = yield* hybrid.search("vitamin D fractures", { topK: 3 })
      assert.strictEqual(passages[0]?.sourceId, "bones.md")
      for (const passage of passages) Schema.decodeUnknownSync(Retriever.Passage)(passage)
      // bones.md is first in both lists, fused with the defaults (k 10, vector weight 0.3): 1/11 + 0.3/11.
      assert.closeTo(passages[0]!.score, 1 / 11 + 0.3 / 11, 1e-12)
      assert.deepStrictEqual(passages[0]?.tags, ["health"])
      const filtered = yield* hybrid.search("vitamin D fractures", {
        topK: 3,
        where: Filter.anyTag("space", "biology")
      })
      assert.isTrue(
        filtered.every((passage) => passage.sourceId === "stars.md" || passage.sourceId === "yeast.md")
      )
      // With the vector list weighted 0, the order is BM25's.
      const lexicalOnly = yield* hybrid.search("vitamin D", { topK: 2, vectorWeight: 0 })
      const bm25 = yield* Retriever.retrieve("vitamin D", { topK: 2 }).pipe(
        Effect.provide(Retriever.layerDocuments(documents))
      )
      assert.deepStrictEqual(
        lexicalOnly.map((passage) => passage.id),
        bm25.map((passage) => passage.id)
      )
    }).pipe(Effect.provide(LexicalEmbedding.layer()))
  )

  it.effect("passes the fused candidates through a reranker, then takes topK", () =>
    Effect.gen(function* () {
      const hybrid = yield* Hybrid.fromDocuments(documents)
      const reversed: Hybrid.Reranker = {
        name: "reversed",
        rerank: (_query, passages) => Effect.succeed([...passages].reverse())
      }
      const plain = yield* hybrid.search("vitamin D", { topK: 2, rerankDepth: 2 })
      const reranked = yield* hybrid.search("vitamin D", { topK: 2, rerankDepth: 2, rerank: reversed })
      assert.deepStrictEqual(
        reranked.map((passage) => passage.id),
        plain.map((passage) => passage.id).reverse()
      )
    }).pipe(Effect.provide(LexicalEmbedding.layer()))
  )

  it.effect("refuses a blank query and bad options", () =>
    Effect.gen(function* () {
      const hybrid = yield* Hybrid.fromDocuments(documents)
      const blank = (yield* Effect.flip(hybrid.search(" "))) as { reason: { _tag: string } }
      assert.strictEqual(blank.reason._tag, "EmptyQuery")
      const k = yield* Effect.flip(hybrid.search("vitamin", { k: 0 }))
      assert.match(String((k as { message: string }).message), /\bk\b/)
      const weight = yield* Effect.flip(hybrid.search("vitamin", { vectorWeight: -1 }))
      assert.match(String((weight as { message: string }).message), /vectorWeight/)
      const fusion = yield* Effect.flip(hybrid.search("vitamin", { fusion: "max" as Hybrid.Fusion }))
      assert.match(String((fusion as { message: string }).message), /fusion/)
    }).pipe(Effect.provide(LexicalEmbedding.layer()))
  )
})

describe.each(backends())("Hybrid over SQL on $name", ({ layer }) => {
  it.layer(Layer.provideMerge(VectorIndex.layerSqlLexical(), layer()))((it) => {
    it.effect(
      "fuses the SQL index's BM25 and the SQL vectors (query idf from the postings) as in memory",
      () =>
        Effect.gen(function* () {
          const index = yield* SqlIndex.make({ collection: "hybrid" })
          yield* index.ingestDocuments(documents)
          const vectors = yield* VectorIndex.VectorIndex
          yield* vectors.sync({ collection: "hybrid" })
          const hybrid = Hybrid.make({
            bm25: (query, { topK, where }) => index.search(query, { topK, where }),
            vector: (query, { topK, where }) => vectors.search(query, { collection: "hybrid", topK, where })
          })
          const memory = yield* Hybrid.fromDocuments(documents).pipe(Effect.provide(LexicalEmbedding.layer()))
          for (const options of [{ topK: 4 }, { topK: 4, fusion: "convex" as const }]) {
            const inSql = yield* hybrid.search("vitamin D and skin fractures", options)
            const inMemory = yield* memory.search("vitamin D and skin fractures", options)
            assert.deepStrictEqual(
              inSql.map((passage) => passage.id),
              inMemory.map((passage) => passage.id)
            )
            for (let i = 0; i < inSql.length; i++) assert.closeTo(inSql[i]!.score, inMemory[i]!.score, 1e-6)
          }
          const filtered = yield* hybrid.search("vitamin D", { topK: 4, where: Filter.anyTag("health") })
          assert.sameMembers(
            filtered.map((passage) => passage.sourceId),
            ["bones.md", "sun.md"]
          )
        })
    )

    it.effect(
      "Hybrid.layerSql serves the Retriever: the same fused ranking, where, tokenBudget and expand",
      () =>
        Effect.gen(function* () {
          const index = yield* SqlIndex.make({ collection: "served" })
          yield* index.ingestDocuments(documents)
          const vectors = yield* VectorIndex.VectorIndex
          yield* vectors.sync({ collection: "served" })
          const direct = Hybrid.make({
            bm25: (query, { topK, where }) => index.search(query, { topK, where }),
            vector: (query, { topK, where }) => vectors.search(query, { collection: "served", topK, where })
          })
          const served = Hybrid.layerSql({ collection: "served" })
          const viaRetriever = yield* Retriever.retrieve("vitamin D and skin fractures", { topK: 4 }).pipe(
            Effect.provide(served)
          )
          const expected = yield* direct.search("vitamin D and skin fractures", { topK: 4 })
          assert.deepStrictEqual(
            viaRetriever.map((p) => p.id),
            expected.map((p) => p.id)
          )
          const size = yield* Retriever.indexSize.pipe(Effect.provide(served))
          assert.strictEqual(size.documents, 4)
          const health = yield* Retriever.retrieve("vitamin D", {
            topK: 4,
            where: Filter.anyTag("space")
          }).pipe(Effect.provide(served))
          assert.deepStrictEqual(
            health.map((p) => p.sourceId),
            ["stars.md"]
          )
          const budgeted = yield* Retriever.retrieve("vitamin D", { topK: 4, tokenBudget: 20 }).pipe(
            Effect.provide(served)
          )
          assert.strictEqual(budgeted.length, 1, "only the first passage fits 20 tokens")
          // A synonym reaches the BM25 side as it does alone.
          const expanded = yield* Retriever.retrieve("sunshine", {
            topK: 4,
            expand: () => ["sunlight"]
          }).pipe(Effect.provide(served))
          assert.strictEqual(expanded[0]?.sourceId, "sun.md")
          const closure = yield* Effect.flip(
            Retriever.retrieve("vitamin", { filter: () => true }).pipe(Effect.provide(served))
          )
          assert.strictEqual(closure.reason._tag, "InvalidOption")
        })
    )

    it.effect(
      "Hybrid.layerSql fails with a RetrievalError when the embedding model fails on the query, keeping whether to retry",
      () =>
        Effect.gen(function* () {
          const index = yield* SqlIndex.make({ collection: "failing" })
          yield* index.ingestDocuments(documents)
          // Embeds the chunks, then is rate limited on the query.
          const embedder = LexicalEmbedding.makeEmbedder()
          const model = Layer.effect(
            EmbeddingModel.EmbeddingModel,
            EmbeddingModel.make({
              embedMany: ({ inputs }) =>
                inputs.some((input) => input.includes("rate-limited"))
                  ? Effect.fail(
                      AiError.make({
                        module: "Test",
                        method: "embed",
                        reason: new AiError.RateLimitError({})
                      })
                    )
                  : Effect.succeed({
                      results: inputs.map((input) => Array.from(embedder.embed(input))),
                      usage: { inputTokens: undefined }
                    })
            })
          )
          const vectors = VectorIndex.layerSql({ model: "rate-limited" }).pipe(Layer.provide(model))
          yield* VectorIndex.sync({ collection: "failing" }).pipe(Effect.provide(vectors))
          const served = Hybrid.layerSql({ collection: "failing" }).pipe(Layer.provide(vectors))
          const error = yield* Effect.flip(
            Retriever.retrieve("vitamin rate-limited").pipe(Effect.provide(served))
          )
          assert.strictEqual(error._tag, "RetrievalError")
          assert.strictEqual(error.reason._tag, "StoreFailed")
          assert.match(error.message, /embedding the query/)
          assert.isTrue(error.isRetryable)
        })
    )
  })
})
