import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { EmbeddingModel } from "effect/ai"
import * as LexicalEmbedding from "../../src/retrieval/LexicalEmbedding.ts"

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let dot = 0
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!
  return dot
}

describe("LexicalEmbedding", () => {
  const embedder = LexicalEmbedding.makeEmbedder()

  it("gives the same unit vector of the configured length for the same text, every time", () => {
    const first = embedder.embed("Glycolysis is upregulated in tumour cells.")
    const again = LexicalEmbedding.makeEmbedder().embed("Glycolysis is upregulated in tumour cells.")
    assert.strictEqual(first.length, LexicalEmbedding.defaultOptions.dimensions)
    assert.deepStrictEqual(Array.from(first), Array.from(again))
    assert.closeTo(cosine(first, first), 1, 1e-5)
    // A few fixed coordinates, so a change to the hashing is noticed (stored vectors would go stale).
    const nonZero = Array.from(first).filter((x) => x !== 0).length
    assert.isAbove(nonZero, 20)
    for (const [at, value] of [
      [109, -0.2212864],
      [783, 0.2212864],
      [909, 0.2212864]
    ] as const) {
      assert.closeTo(first[at]!, value, 1e-6)
    }
  })

  it("puts morphological variants closer than unrelated words, through character n-grams", () => {
    const glycolysis = embedder.embed("glycolysis")
    const glycolytic = embedder.embed("glycolytic")
    const unrelated = embedder.embed("astronomy")
    assert.isAbove(cosine(glycolysis, glycolytic), 0.3)
    assert.isBelow(Math.abs(cosine(glycolysis, unrelated)), 0.15)
    const withoutNgrams = LexicalEmbedding.makeEmbedder({ ...LexicalEmbedding.defaultOptions, ngramMax: 0 })
    assert.isBelow(cosine(withoutNgrams.embed("glycolysis"), withoutNgrams.embed("glycolytic")), 0.15)
  })

  it("ranks a text sharing the query's words above one that does not", () => {
    const query = embedder.embed("vitamin D deficiency and bone fractures")
    const related = embedder.embed("Low vitamin D levels increase the risk of hip fractures in older adults.")
    const other = embedder.embed("Transcription factors regulate gene expression in yeast.")
    assert.isAbove(cosine(query, related), cosine(query, other) + 0.1)
  })

  it("weights a text's terms by weightOf, leaving out terms weighing 0", () => {
    const plain = LexicalEmbedding.makeEmbedder({ ...LexicalEmbedding.defaultOptions, ngramMax: 0 })
    const rare = plain.embed("zebrafish")
    const common = plain.embed("cells")
    const weighted = plain.embed("zebrafish cells", (term) => (term === "zebrafish" ? 3 : 1))
    // Term features only: the weighted vector is (3·rare + common) / norm.
    assert.closeTo(cosine(weighted, rare), 3 / Math.sqrt(10), 1e-5)
    assert.closeTo(cosine(weighted, common), 1 / Math.sqrt(10), 1e-5)
    const dropped = plain.embed("zebrafish cells", (term) => (term === "cell" ? 0 : 1))
    assert.closeTo(cosine(dropped, rare), 1, 1e-5)
    assert.deepStrictEqual(plain.terms("Zebrafish cells"), ["zebrafish", "cell"])
  })

  it("computes idf as BM25 does: rarer terms weigh more, never below 0", () => {
    assert.closeTo(LexicalEmbedding.idf(100, 1), Math.log(1 + 99.5 / 1.5), 1e-12)
    assert.isAbove(LexicalEmbedding.idf(100, 1), LexicalEmbedding.idf(100, 50))
    assert.isAbove(LexicalEmbedding.idf(100, 100), 0)
  })

  it("embeds a text with no terms as the zero vector", () => {
    assert.isTrue(Array.from(embedder.embed("the of and ...")).every((x) => x === 0))
  })

  it("names the model by every option that changes a vector, and says it is lexical", () => {
    assert.strictEqual(LexicalEmbedding.modelName(), "lexical-hash-v1-1024d-ng3to5x2-porter")
    assert.notStrictEqual(
      LexicalEmbedding.modelName({ ...LexicalEmbedding.defaultOptions, dimensions: 512 }),
      LexicalEmbedding.modelName()
    )
  })

  it.effect("is an effect/ai EmbeddingModel with its Dimensions, batched or one at a time", () =>
    Effect.gen(function* () {
      const model = yield* EmbeddingModel.EmbeddingModel
      const dimensions = yield* EmbeddingModel.Dimensions
      assert.strictEqual(dimensions, 64)
      const many = yield* model.embedMany(["alpha beta", "gamma delta"])
      assert.strictEqual(many.embeddings.length, 2)
      const one = yield* model.embed("gamma delta")
      assert.strictEqual(one.vector.length, 64)
      assert.deepStrictEqual(one.vector, many.embeddings[1]!.vector)
      // The layer also provides the embedder behind the model, with that model.
      const { embedder, model: behind } = yield* LexicalEmbedding.Embedder
      assert.strictEqual(behind, model)
      assert.deepStrictEqual(Array.from(embedder.embed("gamma delta")), one.vector)
    }).pipe(Effect.provide(LexicalEmbedding.layer({ dimensions: 64 })))
  )

  it.effect("refuses bad options with InvalidOption", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(LexicalEmbedding.make({ dimensions: 3 }))
      assert.strictEqual(error.reason._tag, "InvalidOption")
      assert.match(error.message, /dimensions/)
      const weight = yield* Effect.flip(LexicalEmbedding.make({ ngramWeight: -1 }))
      assert.match(weight.message, /ngramWeight/)
    })
  )
})
