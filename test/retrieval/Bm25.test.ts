import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Bm25 from "../../src/retrieval/Bm25.ts"

describe("Bm25 analyzer", () => {
  it("lowercases, splits on Unicode word characters and drops English stop words", () => {
    assert.deepStrictEqual(Bm25.makeAnalyzer({ stem: false })("The Café-Naïve test, in Ürümqi: 42 x3!"), [
      "café",
      "naïve",
      "test",
      "ürümqi",
      "42",
      "x3"
    ])
  })

  it("drops possessives and apostrophes inside words", () => {
    assert.deepStrictEqual(Bm25.makeAnalyzer({ stem: false })("Weft's budget don’t"), [
      "weft",
      "budget",
      "dont"
    ])
  })

  it("stems as Porter's steps 1 and 5a do", () => {
    const expected: Record<string, string> = {
      caresses: "caress",
      ponies: "poni",
      cats: "cat",
      caress: "caress",
      feed: "feed",
      agreed: "agre",
      plastered: "plaster",
      bled: "bled",
      motoring: "motor",
      sing: "sing",
      conflated: "conflat",
      troubled: "troubl",
      sized: "size",
      hopping: "hop",
      falling: "fall",
      hissing: "hiss",
      filing: "file",
      failing: "fail",
      happy: "happi",
      sky: "sky",
      hoping: "hope",
      hopes: "hope",
      creates: "creat"
    }
    for (const [word, stem] of Object.entries(expected)) assert.strictEqual(Bm25.stem(word), stem, word)
  })

  it("makes inflections of a word meet", () => {
    const analyze = Bm25.analyze
    assert.deepStrictEqual(analyze("studies study studied"), ["studi", "studi", "studi"])
    assert.deepStrictEqual(analyze("treated treating treats"), ["treat", "treat", "treat"])
  })
})

describe("Bm25 index", () => {
  it("scores a query term exactly as Okapi BM25 with Lucene's idf", () => {
    const texts = ["apple banana", "apple cherry cherry date", "fig"]
    const index = Bm25.build(texts, { k1: 1.2, b: 0.75, stem: false })
    const averageLength = (2 + 4 + 1) / 3
    const idf = (df: number) => Math.log(1 + (3 - df + 0.5) / (df + 0.5))
    const bm25 = (tf: number, length: number) =>
      (tf * 2.2) / (tf + 1.2 * (1 - 0.75 + (0.75 * length) / averageLength))
    const hits = index.search("cherry apple", 10)
    assert.deepStrictEqual(
      hits.map((hit) => hit.doc),
      [1, 0]
    )
    assert.closeTo(hits[0]!.score, idf(1) * bm25(2, 4) + idf(2) * bm25(1, 4), 1e-9)
    assert.closeTo(hits[1]!.score, idf(2) * bm25(1, 2), 1e-9)
    assert.strictEqual(index.terms, 5)
    assert.closeTo(index.averageLength, averageLength, 1e-12)
  })

  it("ranks a text with a rare query term above texts with a common one", () => {
    const texts = [
      "apple orchard harvest season",
      "apple pie recipe autumn",
      "apple cider press autumn",
      "zebra stripes savanna herd",
      "apple tree pruning winter"
    ]
    const [top] = Bm25.build(texts).search("apple zebra", 5)
    assert.strictEqual(top!.doc, 3)
  })

  it("ranks the shorter of two texts with the same term count higher, unless b is 0", () => {
    const filler = "river mountain forest valley meadow canyon glacier desert island lagoon"
    const texts = [`quartz ${filler} ${filler}`, `quartz ${filler}`, "basalt granite"]
    const normalised = Bm25.build(texts, { k1: 1.2, b: 0.75, stem: true }).search("quartz", 2)
    assert.deepStrictEqual(
      normalised.map((hit) => hit.doc),
      [1, 0]
    )
    assert.isAbove(normalised[0]!.score, normalised[1]!.score)
    const flat = Bm25.build(texts, { k1: 1.2, b: 0, stem: true }).search("quartz", 2)
    assert.strictEqual(flat[0]!.score, flat[1]!.score)
  })

  it("saturates term frequency: ten occurrences score more than one, but far less than ten times as much", () => {
    const texts = [`lava ${"flow ".repeat(9)}`, `${"lava ".repeat(10)}`, "ash"]
    const hits = Bm25.build(texts, { k1: 1.2, b: 0, stem: false }).search("lava", 2)
    assert.strictEqual(hits[0]!.doc, 1)
    const ratio = hits[0]!.score / hits[1]!.score
    assert.isAbove(ratio, 1.5)
    assert.isBelow(ratio, 2.2) // the (k1 + 1) ceiling
  })

  it("returns at most topK hits, best first, ties in document order", () => {
    const texts = Array.from({ length: 50 }, () => "comet tail")
    const hits = Bm25.build(texts).search("comet", 7)
    assert.deepStrictEqual(
      hits.map((hit) => hit.doc),
      [0, 1, 2, 3, 4, 5, 6]
    )
    const mixed = Bm25.build(["orbit", "orbit orbit", "orbit moon", "moon"]).search("orbit moon", 10)
    for (let i = 1; i < mixed.length; i++) assert.isAtLeast(mixed[i - 1]!.score, mixed[i]!.score)
    assert.strictEqual(mixed.length, 4)
  })

  it("asks `accept` about candidates and fills topK with accepted ones", () => {
    const texts = Array.from({ length: 20 }, (_, i) => `nebula ${"dust ".repeat(i)}`)
    const hits = Bm25.build(texts).search("nebula", 3, (doc) => doc % 2 === 1)
    assert.deepStrictEqual(
      hits.map((hit) => hit.doc),
      [1, 3, 5]
    )
  })

  it("returns nothing for unknown terms, stop words only, a zero topK or an empty index", () => {
    const index = Bm25.build(["solar wind", "magnetic field"])
    assert.deepStrictEqual(index.search("quasar", 5), [])
    assert.deepStrictEqual(index.search("the of and", 5), [])
    assert.deepStrictEqual(index.search("solar", 0), [])
    assert.deepStrictEqual(Bm25.build([]).search("solar", 5), [])
  })

  it("gives the same answer to repeated queries (scratch buffers are reset)", () => {
    const index = Bm25.build(["red giant star", "white dwarf star", "neutron star merger"])
    const first = index.search("star merger", 3)
    assert.deepStrictEqual(index.search("white dwarf", 3)[0]!.doc, 1)
    assert.deepStrictEqual(index.search("star merger", 3), first)
  })

  it.effect("rejects k1 < 0 and b outside [0, 1] with InvalidOptions", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* Bm25.resolveOptions({ b: 0.3 }), { k1: 1.2, b: 0.3, stem: true })
      for (const options of [{ k1: -1 }, { b: 1.5 }, { b: -0.1 }, { k1: Number.NaN }]) {
        const error = yield* Effect.flip(Bm25.resolveOptions(options))
        assert.strictEqual(error.reason, "InvalidOptions")
      }
    })
  )
})

describe("Bm25 code identifiers", () => {
  it("indexes dotted, camelCase and snake_case names as whole terms as well as their words", () => {
    const terms = Bm25.analyze("Call Step.make with maxOutputTokens and top_k, e.g. in U.S. docs")
    assert.include(terms, "step.make")
    assert.include(terms, "maxoutputtokens")
    assert.include(terms, "top_k")
    assert.notInclude(terms, "e.g")
    assert.notInclude(terms, "u.s")
  })

  it("ranks the text naming an identifier above texts that only share its common words", () => {
    const index = Bm25.build([
      "Make a step forward: every step you make counts, step by step, make it so.",
      "Workflow.make defines a workflow; Budget.make builds a budget.",
      "Step.make runs an effect as a named step with a retry policy."
    ])
    assert.strictEqual(index.search("What does Step.make do?", 3)[0]?.doc, 2)
  })
})
