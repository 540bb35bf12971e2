import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
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
    const index = Bm25.build(texts, { k1: 1.2, b: 0.75, stem: "none" })
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
    const normalised = Bm25.build(texts, { k1: 1.2, b: 0.75, stem: "light" }).search("quartz", 2)
    assert.deepStrictEqual(
      normalised.map((hit) => hit.doc),
      [1, 0]
    )
    assert.isAbove(normalised[0]!.score, normalised[1]!.score)
    const flat = Bm25.build(texts, { k1: 1.2, b: 0, stem: "light" }).search("quartz", 2)
    assert.strictEqual(flat[0]!.score, flat[1]!.score)
  })

  it("saturates term frequency: ten occurrences score more than one, but far less than ten times as much", () => {
    const texts = [`lava ${"flow ".repeat(9)}`, `${"lava ".repeat(10)}`, "ash"]
    const hits = Bm25.build(texts, { k1: 1.2, b: 0, stem: "none" }).search("lava", 2)
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

  it("a throwing `accept` leaves no stale scores: the next query ranks every text", () => {
    const texts = ["comet tail", "comet comet nucleus", "comet orbit", "asteroid belt", "comet coma gas"]
    const index = Bm25.build(texts)
    const before = index.search("comet", 10)
    assert.strictEqual(before.length, 4)
    assert.throws(
      () =>
        index.search("comet", 10, () => {
          throw new Error("filter bug")
        }),
      "filter bug"
    )
    assert.deepStrictEqual(index.search("comet", 10), before)
    // And with an `accept` that passes everything, after the throw too.
    assert.deepStrictEqual(
      index.search("comet", 10, () => true),
      before
    )
  })

  it("a search from inside `accept` does not disturb the search that called it", () => {
    const index = Bm25.build(["moon crater", "moon moon tide", "tide pool", "crater lake"])
    const expected = index.search("moon tide", 10)
    const nested = index.search("moon tide", 10, () => index.search("crater", 10).length > 0)
    assert.deepStrictEqual(nested, expected)
  })

  it.effect("rejects k1 < 0 and b outside [0, 1] with InvalidOption naming the option and value", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* Bm25.resolveOptions({ b: 0.3 }), { k1: 1.2, b: 0.3, stem: "porter" })
      const cases: Array<[Bm25.Bm25Options, string, string]> = [
        [{ k1: -1 }, "k1", "-1"],
        [{ b: 1.5 }, "b", "1.5"],
        [{ b: -0.1 }, "b", "-0.1"],
        [{ k1: Number.NaN }, "k1", "NaN"],
        [{ k1: Number.POSITIVE_INFINITY }, "k1", "Infinity"]
      ]
      for (const [options, option, value] of cases) {
        const error = yield* Effect.flip(Bm25.resolveOptions(options))
        assert.strictEqual(error.reason._tag, "InvalidOption")
        if (error.reason._tag !== "InvalidOption") continue
        assert.strictEqual(error.reason.option, option)
        assert.strictEqual(error.reason.value, value)
        assert.include(error.message, option)
      }
      const prefixed = yield* Effect.flip(Bm25.resolveOptions({ b: 2 }, "bm25."))
      assert.include(prefixed.message, "bm25.b must be")
    })
  )

  it.effect("resolves `stem` to a stemmer's name, and rejects a name it does not know", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* Bm25.resolveOptions({ stem: true })).stem, Bm25.defaultOptions.stem)
      assert.strictEqual((yield* Bm25.resolveOptions({ stem: false })).stem, "none")
      assert.strictEqual((yield* Bm25.resolveOptions({ stem: "porter" })).stem, "porter")
      assert.strictEqual((yield* Bm25.resolveOptions({ stem: "light" })).stem, "light")
      const error = yield* Effect.flip(
        Bm25.resolveOptions({ stem: "snowball" as unknown as "porter" }, "bm25.")
      )
      assert.strictEqual(error.reason._tag, "InvalidOption")
      assert.include(error.message, "bm25.stem")
    })
  )

  it.effect("with Porter stemming, a query finds texts naming derived forms of its words", () =>
    Effect.gen(function* () {
      const texts = ["the effectiveness of the vaccine", "a generalization of the method", "unrelated text"]
      const porter = yield* Bm25.make(texts, { stem: "porter" })
      assert.deepStrictEqual(
        porter.search("effective vaccines", 3).map((hit) => hit.doc),
        [0]
      )
      assert.deepStrictEqual(
        porter.search("general methods", 3).map((hit) => hit.doc),
        [1]
      )
      // The light stemmer keeps "effectiveness" and "effective" apart: only "vaccines" matches.
      const light = yield* Bm25.make(texts, { stem: "light" })
      const [hit] = light.search("effective", 3)
      assert.strictEqual(hit, undefined)
      assert.deepStrictEqual(Bm25.makeAnalyzer({ stem: "porter" })("Relational generalizations"), [
        "relat",
        "gener"
      ])
    })
  )

  it("accepts `undefined` for every option", () => {
    const options: Bm25.Bm25Options = { k1: undefined, b: undefined, stem: undefined }
    assert.deepStrictEqual(Effect.runSync(Bm25.resolveOptions(options)), Bm25.defaultOptions)
  })
})

describe("Bm25 Chinese, Japanese and Korean text", () => {
  it("makes each Han and Hiragana character a term, and keeps Katakana and Hangul runs whole, as Lucene does", () => {
    const analyze = Bm25.makeAnalyzer({ stem: false })
    assert.deepStrictEqual(analyze("今年的预算"), ["今", "年", "的", "预", "算"])
    assert.deepStrictEqual(analyze("東京タワーはどこ"), ["東", "京", "タワー", "は", "ど", "こ"])
    assert.deepStrictEqual(analyze("한국어 문장입니다"), ["한국어", "문장입니다"])
    // Latin words and numbers next to ideographs are words of their own.
    assert.deepStrictEqual(analyze("预算2024年Budget"), ["预", "算", "2024", "年", "budget"])
  })

  it("finds the Chinese paragraph that mentions 预算 among others", () => {
    const index = Bm25.build([
      "公司今年的市场营销计划重点放在线上渠道，团队将扩大社交媒体的投放。",
      "财务部门确认了下一季度的预算，每个项目的支出上限已经写入系统。",
      "新员工入职培训安排在周一上午，地点是三楼会议室。",
      "The budget for the next quarter was confirmed by finance."
    ])
    const hits = index.search("预算", 10)
    assert.strictEqual(hits[0]?.doc, 1)
    assert.deepStrictEqual(
      index.search("会议室在哪里", 1).map((hit) => hit.doc),
      [2]
    )
  })
})

describe("Bm25.make", () => {
  it.effect("builds the same index as `build`", () =>
    Effect.gen(function* () {
      const texts = Array.from(
        { length: 1000 },
        (_, i) => `text ${i} about ${["stars", "planets", "moons"][i % 3]}`
      )
      const made = yield* Bm25.make(texts)
      const built = Bm25.build(texts)
      assert.strictEqual(made.size, 1000)
      assert.strictEqual(made.terms, built.terms)
      assert.deepStrictEqual(made.search("planets 42", 20), built.search("planets 42", 20))
    })
  )

  it.effect("fails with InvalidOption for bad options", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Bm25.make(["a text"], { k1: -2 }))
      assert.strictEqual(error.reason._tag, "InvalidOption")
    })
  )

  it.live("can be interrupted within 100 ms while it indexes a large corpus", () =>
    Effect.gen(function* () {
      const words = [
        "orbit",
        "planet",
        "moon",
        "comet",
        "nebula",
        "galaxy",
        "quasar",
        "pulsar",
        "dwarf",
        "giant"
      ]
      // 30,000 texts of 60 words: most of a second of indexing in one synchronous loop.
      const texts = Array.from({ length: 30_000 }, (_, i) =>
        Array.from({ length: 60 }, (_, j) => `${words[(i * 7 + j * 3) % 10]}${(i + j) % 997}`).join(" ")
      )
      const fiber = yield* Effect.forkChild(Bm25.make(texts))
      yield* Effect.sleep("20 millis")
      const started = performance.now()
      const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
      const took = performance.now() - started
      assert.isTrue(Exit.hasInterrupts(exit), "the build was interrupted, not finished")
      assert.isBelow(took, 100)
    })
  )
})

describe("Bm25 code identifiers", () => {
  it("analyzes a token seen before exactly as it did the first time", () => {
    const text = "Step.make maxOutputTokens top_k don't The budgets' budgeting 预算"
    const once = Bm25.analyze(text)
    assert.isAbove(once.length, 8)
    assert.deepStrictEqual(Bm25.analyze(`${text} ${text}`), [...once, ...once])
    assert.deepStrictEqual(Bm25.analyze(text), once)
  })

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
