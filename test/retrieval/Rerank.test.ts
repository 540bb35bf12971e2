import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Hybrid from "../../src/retrieval/Hybrid.ts"
import * as LexicalEmbedding from "../../src/retrieval/LexicalEmbedding.ts"
import * as Rerank from "../../src/retrieval/Rerank.ts"
import type { Passage } from "../../src/retrieval/Retriever.ts"

const passage = (id: string, text: string, score: number, title?: string): Passage => ({
  id,
  sourceId: id,
  text,
  score,
  ...(title === undefined ? {} : { title })
})

describe("Rerank.signals", () => {
  const flat = () => 1

  it("measures coverage, proximity of query terms and their share of the title", () => {
    const together = Rerank.signals(["vitamin", "fractur"], ["vitamin", "fractur", "risk"], [], flat)
    const apart = Rerank.signals(
      ["vitamin", "fractur"],
      ["vitamin", "a", "b", "c", "fractur"],
      ["vitamin"],
      flat
    )
    const half = Rerank.signals(["vitamin", "fractur"], ["vitamin", "vitamin"], [], flat)
    assert.deepStrictEqual(together, { coverage: 1, proximity: 1 / 2, title: 0 })
    // Four terms apart: 1 / 4² over a total idf of 2.
    assert.deepStrictEqual(apart, { coverage: 1, proximity: 1 / 32, title: 1 / 2 })
    assert.deepStrictEqual(half, { coverage: 1 / 2, proximity: 0, title: 0 })
  })

  it("weighs each query term by its idf", () => {
    const idf = (term: string) => (term === "zebrafish" ? 3 : 1)
    const rare = Rerank.signals(["zebrafish", "cell"], ["zebrafish"], [], idf)
    const common = Rerank.signals(["zebrafish", "cell"], ["cell"], [], idf)
    assert.strictEqual(rare.coverage, 3 / 4)
    assert.strictEqual(common.coverage, 1 / 4)
  })
})

describe("Rerank.make", () => {
  it.effect(
    "puts a passage holding all the query's terms close together above one holding one term often",
    () =>
      Effect.gen(function* () {
        const rerank = yield* Rerank.make()
        const candidates = [
          passage("repeat", "Fractures, fractures and more fractures in athletes.", 10),
          passage("both", "Vitamin D deficiency raises hip fracture risk.", 9.8),
          passage("stars", "Neutron stars collapse.", 9.7),
          passage("yeast", "Yeast ferments sugar.", 0)
        ]
        const reranked = yield* rerank.rerank("vitamin D deficiency and fractures", candidates)
        assert.deepStrictEqual(
          reranked.map((p) => p.id),
          ["both", "repeat", "stars", "yeast"]
        )
        assert.isTrue(reranked.every((p, i) => i === 0 || p.score <= reranked[i - 1]!.score))
        // With every weight 0 the fused order stands, scores min-max normalised.
        const none = yield* Rerank.make({ coverageWeight: 0, proximityWeight: 0, titleWeight: 0 })
        const same = yield* none.rerank("vitamin D deficiency and fractures", candidates)
        assert.deepStrictEqual(
          same.map((p) => [p.id, Number(p.score.toFixed(6))]),
          [
            ["repeat", 1],
            ["both", 0.98],
            ["stars", 0.97],
            ["yeast", 0]
          ]
        )
        assert.deepStrictEqual(yield* rerank.rerank("anything", []), [])
      })
  )

  it.effect("uses the corpus's document frequencies when given, and the title", () =>
    Effect.gen(function* () {
      // Among the candidates "cell" is as rare as "zebrafish"; in the corpus it is everywhere.
      const candidates = [
        passage("cells", "Cells divide.", 1),
        passage("fish", "The zebrafish heart regenerates.", 1)
      ]
      const corpus = yield* Rerank.make({
        documentFrequency: { size: 1000, of: (term) => (term === "cell" ? 900 : 2) }
      })
      assert.strictEqual((yield* corpus.rerank("cell zebrafish", candidates))[0]?.id, "fish")
      const titled = yield* Rerank.make({ coverageWeight: 0, proximityWeight: 0 })
      const byTitle = yield* titled.rerank("zebrafish", [
        passage("text", "zebrafish here", 1),
        passage("title", "zebrafish here", 1, "Zebrafish")
      ])
      assert.strictEqual(byTitle[0]?.id, "title")
    })
  )

  it.effect("refuses negative weights and unknown stemmers with InvalidOption", () =>
    Effect.gen(function* () {
      const weight = yield* Effect.flip(Rerank.make({ proximityWeight: -1 }))
      assert.strictEqual(weight.reason._tag, "InvalidOption")
      assert.match(weight.message, /proximityWeight/)
      const stem = yield* Effect.flip(Rerank.make({ stem: "snowball" as "porter" }))
      assert.match(stem.message, /stem/)
    })
  )

  it.effect("reranks Hybrid's first rerankDepth passages; those past it follow in fused order", () =>
    Effect.gen(function* () {
      const documents = [
        { sourceId: "a.md", text: "Fractures fractures fractures." },
        { sourceId: "b.md", text: "Vitamin D deficiency and hip fractures." },
        { sourceId: "c.md", text: "Vitamin supplements." },
        { sourceId: "d.md", text: "Deficiency of iron." }
      ]
      const hybrid = yield* Hybrid.fromDocuments(documents)
      const rerank = yield* Rerank.make()
      const query = "vitamin D deficiency fractures"
      const fused = yield* hybrid.search(query, { topK: 4 })
      const reranked = yield* hybrid.search(query, { topK: 4, rerank, rerankDepth: 2 })
      assert.deepStrictEqual(
        reranked.slice(2).map((p) => p.id),
        fused.slice(2).map((p) => p.id)
      )
      assert.sameMembers(
        reranked.slice(0, 2).map((p) => p.id),
        fused.slice(0, 2).map((p) => p.id)
      )
      assert.strictEqual(reranked[0]?.sourceId, "b.md")
    }).pipe(Effect.provide(LexicalEmbedding.layer()))
  )
})
