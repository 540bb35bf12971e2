import { NodeServices } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Exit, Fiber, FileSystem, Layer, Path, PlatformError, Schema } from "effect"
import { InvalidOption } from "../../src/core/InvalidOption.ts"
import {
  DuplicateSource,
  EmptyCorpus,
  EmptyQuery,
  FilterFailed,
  FolderNotFound,
  RetrievalError,
  UnreadableFile
} from "../../src/retrieval/RetrievalError.ts"
import * as Filter from "../../src/retrieval/Filter.ts"
import * as Retriever from "../../src/retrieval/Retriever.ts"
import { indexSize, retrieve } from "../../src/retrieval/Retriever.ts"
import { synonymsOf } from "../../src/text/Synonyms.ts"
import { countText } from "../../src/text/Tokens.ts"

const fixture = new URL("../fixtures/retrieval/corpus", import.meta.url).pathname

const fixtureRetriever = Retriever.layerFolder(fixture).pipe(Layer.provide(NodeServices.layer))

layer(fixtureRetriever)("Retriever over the fixture folder", (it) => {
  it.effect("reports its size", () =>
    Effect.gen(function* () {
      const { documents, chunks } = yield* indexSize
      assert.strictEqual(documents, 8)
      // Every fixture section is short, so one chunk per section: 2 + 1 + 2 + 1 + 1 + 1 + 1 + 1.
      assert.strictEqual(chunks, 10)
    })
  )

  it.effect("ranks the passage that answers a question first", () =>
    Effect.gen(function* () {
      const cases: Array<[string, string]> = [
        ["how do I feed a sourdough starter?", "baking.md"],
        ["why do bees perform the waggle dance", "nature/bees.md"],
        ["what does register allocation do with variables", "compilers.md"],
        ["which animals live in rock pools at low tide", "nature/tide-pools.md"],
        ["purl stitch and knit stitch", "knitting.txt"],
        ["explosive eruptions of steep volcanoes", "nature/volcanoes.md"],
        ["convert sunlight to electricity with an inverter", "solar.md"],
        ["Queen's Gambit pawn", "chess.md"]
      ]
      for (const [query, expected] of cases) {
        const [top] = yield* retrieve(query)
        assert.strictEqual(top?.sourceId, expected, query)
      }
    })
  )

  it.effect("returns passages with id, title and text, best first", () =>
    Effect.gen(function* () {
      const passages = yield* retrieve("cold proofing the dough overnight in the fridge", { topK: 3 })
      const top = passages[0]!
      assert.strictEqual(top.id, "baking.md#1")
      assert.strictEqual(top.title, "Shaping and proofing")
      assert.include(top.text, "Cold proofing slows the yeast")
      assert.isAtMost(passages.length, 3)
      for (let i = 1; i < passages.length; i++) assert.isAtLeast(passages[i - 1]!.score, passages[i]!.score)
    })
  )

  it.effect("applies topK, minScore and filter", () =>
    Effect.gen(function* () {
      const query = "water sea energy flour wax lava yarn"
      const all = yield* retrieve(query, { topK: 10 })
      assert.isAtLeast(all.length, 6)
      assert.strictEqual((yield* retrieve(query, { topK: 2 })).length, 2)

      const cut = all[1]!.score
      const strong = yield* retrieve(query, { topK: 10, minScore: cut })
      assert.deepStrictEqual(
        strong.map((p) => p.id),
        all.filter((p) => p.score >= cut).map((p) => p.id)
      )

      // The filter applies before topK: two nature passages come back though others outscore them.
      const nature = yield* retrieve(query, { topK: 2, filter: (p) => p.sourceId.startsWith("nature/") })
      assert.deepStrictEqual(
        nature.map((p) => p.id),
        all
          .filter((p) => p.sourceId.startsWith("nature/"))
          .slice(0, 2)
          .map((p) => p.id)
      )
      assert.isFalse(all.slice(0, 2).every((p) => p.sourceId.startsWith("nature/")))
    })
  )

  it.effect("returns no passages for a query that shares no term with the corpus", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* retrieve("quantum chromodynamics"), [])
      assert.deepStrictEqual(yield* retrieve("the of and"), [])
    })
  )

  it.effect("fails with EmptyQuery for a blank query", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(retrieve(" \n\t "))
      assert.strictEqual(error._tag, "RetrievalError")
      assert.strictEqual(error.reason._tag, "EmptyQuery")
      assert.isFalse(error.isRetryable)
    })
  )

  it.effect("fails with InvalidOption naming the option and the value for a bad topK or minScore", () =>
    Effect.gen(function* () {
      const cases: Array<[Retriever.RetrieveOptions, string, string]> = [
        [{ topK: 0 }, "topK", "0"],
        [{ topK: -3 }, "topK", "-3"],
        [{ topK: 2.5 }, "topK", "2.5"],
        [{ topK: Number.NaN }, "topK", "NaN"],
        [{ topK: Number.POSITIVE_INFINITY }, "topK", "Infinity"],
        [{ minScore: Number.NaN }, "minScore", "NaN"]
      ]
      for (const [options, option, value] of cases) {
        const error = yield* Effect.flip(retrieve("bees", options))
        assert.instanceOf(error.reason, InvalidOption, JSON.stringify(options))
        if (!(error.reason instanceof InvalidOption)) continue
        assert.strictEqual(error.reason.option, option)
        assert.strictEqual(error.reason.value, value)
        assert.include(error.message, `${option} must be`)
      }
    })
  )

  it.effect("catches InvalidOption with Effect.catchReason", () =>
    retrieve("bees", { topK: 0 }).pipe(
      Effect.map(() => "retrieved"),
      Effect.catchReason("RetrievalError", "InvalidOption", (reason) => Effect.succeed(reason.option)),
      Effect.map((result) => assert.strictEqual(result, "topK"))
    )
  )

  it.effect("accepts undefined for every option (exactOptionalPropertyTypes)", () =>
    Effect.gen(function* () {
      const maybeTopK: number | undefined = undefined
      const maybeMinScore: number | undefined = undefined
      const passages = yield* retrieve("water sea energy flour wax lava yarn", {
        topK: maybeTopK,
        minScore: maybeMinScore,
        filter: undefined
      })
      assert.strictEqual(passages.length, Retriever.defaultTopK)
    })
  )

  it.effect("a filter that throws fails with FilterFailed, and the next query returns the full ranking", () =>
    Effect.gen(function* () {
      const query = "water sea energy flour wax lava yarn"
      const before = yield* retrieve(query, { topK: 10 })
      assert.isAtLeast(before.length, 6)
      const error = yield* Effect.flip(
        retrieve(query, {
          topK: 10,
          filter: (passage) => {
            if (passage.sourceId.startsWith("nature/")) throw new Error("filter bug")
            return true
          }
        })
      )
      assert.instanceOf(error.reason, FilterFailed)
      assert.isFalse(error.isRetryable)
      assert.include(error.message, "filter bug")
      if (error.reason instanceof FilterFailed) assert.match(error.reason.passageId, /^nature\//)
      // Same ranking, same scores: no passage lost its score to the throw.
      assert.deepStrictEqual(yield* retrieve(query, { topK: 10 }), before)
      assert.deepStrictEqual(yield* retrieve(query, { topK: 10, filter: () => true }), before)
    })
  )
})

describe("Retriever over Chinese and Japanese text", () => {
  it.effect("finds the paragraph containing 预算, though Chinese is written without spaces", () =>
    Effect.gen(function* () {
      const retriever = yield* Retriever.fromDocuments([
        {
          sourceId: "zh/marketing.md",
          text: "# 市场计划\n\n公司今年的市场营销计划重点放在线上渠道，团队将扩大社交媒体的投放。"
        },
        {
          sourceId: "zh/finance.md",
          text: "# 财务\n\n财务部门确认了下一季度的预算，每个项目的支出上限已经写入系统。"
        },
        {
          sourceId: "ja/onboarding.md",
          text: "新しい社員のトレーニングは月曜日の午前に三階の会議室で行います。"
        },
        { sourceId: "en/budget.md", text: "The budget for the next quarter was confirmed by finance." }
      ])
      const [top] = yield* retriever.retrieve("预算")
      assert.strictEqual(top?.sourceId, "zh/finance.md")
      const [japanese] = yield* retriever.retrieve("トレーニングはいつですか")
      assert.strictEqual(japanese?.sourceId, "ja/onboarding.md")
    })
  )
})

describe("Retriever.fromDocuments", () => {
  it.effect("indexes a chunk's heading with its text", () =>
    Effect.gen(function* () {
      const retriever = yield* Retriever.fromDocuments([
        { sourceId: "ops.md", text: "# Kubernetes\n\nIt schedules containers onto nodes." },
        { sourceId: "other.md", text: "Containers ship software." }
      ])
      const [top] = yield* retriever.retrieve("kubernetes")
      assert.strictEqual(top?.id, "ops.md#0")
      assert.strictEqual(top?.text, "It schedules containers onto nodes.")
    })
  )

  it.effect("uses the chunking options it is given", () =>
    Effect.gen(function* () {
      const text = Array.from({ length: 100 }, (_, i) => `w${i}`).join(" ")
      const retriever = yield* Retriever.fromDocuments([{ sourceId: "d", text }], {
        chunking: { size: 20, overlap: 0 }
      })
      assert.deepStrictEqual(retriever.size, { documents: 1, chunks: 5 })
      const [top] = yield* retriever.retrieve("w42")
      assert.strictEqual(top?.id, "d#2")
    })
  )

  it.effect("reports its progress through chunking, then indexing, ending at its size", () =>
    Effect.gen(function* () {
      // Enough text that both phases yield (and report) more than once.
      const documents = Array.from({ length: 400 }, (_, i) => ({
        sourceId: `d${i}.md`,
        text: Array.from(
          { length: 60 },
          (_, j) => `Section ${i} line ${j} mentions widget${(i * j) % 97}.`
        ).join(" ")
      }))
      const seen: Array<Retriever.IndexProgress> = []
      const retriever = yield* Retriever.fromDocuments(documents, { onIndexProgress: (p) => seen.push(p) })
      const chunking = seen.filter((p) => p.phase === "chunking")
      const indexing = seen.filter((p) => p.phase === "indexing")
      assert.isAbove(chunking.length, 1)
      assert.isAbove(indexing.length, 1)
      // Chunking reports come first, then indexing; counts never go back.
      assert.strictEqual(
        seen.findIndex((p) => p.phase === "indexing"),
        chunking.length
      )
      for (let i = 1; i < chunking.length; i++) {
        assert.isAtLeast(chunking[i]!.documentsDone, chunking[i - 1]!.documentsDone)
        assert.isAtLeast(chunking[i]!.chunks, chunking[i - 1]!.chunks)
      }
      for (let i = 1; i < indexing.length; i++)
        assert.isAtLeast(indexing[i]!.chunksIndexed, indexing[i - 1]!.chunksIndexed)
      assert.deepInclude(chunking.at(-1), {
        documents: 400,
        documentsDone: 400,
        chunks: retriever.size.chunks
      })
      assert.deepInclude(indexing.at(-1), {
        chunks: retriever.size.chunks,
        chunksIndexed: retriever.size.chunks
      })
    })
  )

  it.effect("fails with EmptyCorpus when there is no text", () =>
    Effect.gen(function* () {
      const none = yield* Effect.flip(Retriever.fromDocuments([]))
      assert.instanceOf(none.reason, EmptyCorpus)
      const blank = yield* Effect.flip(Retriever.fromDocuments([{ sourceId: "a.md", text: "  \n\n " }]))
      assert.instanceOf(blank.reason, EmptyCorpus)
      assert.include(blank.message, "hold no text")
    })
  )

  it.effect(
    "fails with InvalidOption for bad chunking or BM25 options, and DuplicateSource for a repeated sourceId",
    () =>
      Effect.gen(function* () {
        const docs = [{ sourceId: "a.md", text: "alpha" }]
        const chunking = yield* Effect.flip(
          Retriever.fromDocuments(docs, { chunking: { size: 40, overlap: 40 } })
        )
        assert.instanceOf(chunking.reason, InvalidOption)
        assert.include(chunking.message, "chunking.overlap must be")
        const tokens = yield* Effect.flip(Retriever.fromDocuments(docs, { chunking: { maxTokens: 0 } }))
        assert.include(tokens.message, "chunking.maxTokens must be")
        const bm25 = yield* Effect.flip(Retriever.fromDocuments(docs, { bm25: { b: 2 } }))
        assert.instanceOf(bm25.reason, InvalidOption)
        assert.include(bm25.message, "bm25.b must be")
        const repeated = yield* Effect.flip(Retriever.fromDocuments([...docs, ...docs]))
        assert.instanceOf(repeated.reason, DuplicateSource)
        assert.include(repeated.message, "a.md")
      })
  )

  it.effect("expands a query with related terms, weighted below the query's own, only when asked", () =>
    Effect.gen(function* () {
      const retriever = yield* Retriever.fromDocuments([
        { sourceId: "phones.md", text: "Staff on call receive a company smartphone." },
        { sourceId: "mobile.md", text: "The mobile office van visits each site monthly." },
        { sourceId: "desk.md", text: "Desks are booked through the portal." }
      ])
      const related = (term: string) => (term === "mobil" ? ["smartphon", "phone"] : [])
      // Without expansion only the text naming "mobile" matches.
      const plain = yield* retriever.retrieve("work mobile")
      assert.deepStrictEqual(
        plain.map((passage) => passage.sourceId),
        ["mobile.md"]
      )
      const expanded = yield* retriever.retrieve("work mobile", { expand: related })
      assert.deepStrictEqual(
        expanded.map((passage) => passage.sourceId),
        ["mobile.md", "phones.md"]
      )
      // The synonym's score is scaled by expandWeight: half by default, all of it at 1.
      const phones = (passages: ReadonlyArray<Retriever.Passage>) =>
        passages.find((passage) => passage.sourceId === "phones.md")?.score ?? 0
      const full = yield* retriever.retrieve("work mobile", { expand: related, expandWeight: 1 })
      assert.closeTo(phones(expanded), phones(full) / 2, 1e-9)
      const none = yield* retriever.retrieve("work mobile", { expand: related, expandWeight: 0 })
      assert.deepStrictEqual(none, plain)
      const bad = yield* Effect.flip(retriever.retrieve("work mobile", { expand: related, expandWeight: 2 }))
      assert.instanceOf(bad.reason, InvalidOption)
      assert.include(bad.message, "expandWeight")
    })
  )

  it.effect("finds a paraphrase through the everyday synonyms of text/Synonyms", () =>
    Effect.gen(function* () {
      const retriever = yield* Retriever.fromDocuments([
        { sourceId: "leave.md", text: "Annual leave must be booked two weeks ahead." },
        { sourceId: "desk.md", text: "Desks are booked through the portal each week." }
      ])
      // Both texts share only "book" with the query; the shorter one ranks first…
      const [plain] = yield* retriever.retrieve("booking a vacation")
      assert.strictEqual(plain?.sourceId, "desk.md")
      // …until "vacation" also finds "leave".
      const [top] = yield* retriever.retrieve("booking a vacation", { expand: synonymsOf })
      assert.strictEqual(top?.sourceId, "leave.md")
    })
  )

  it.effect("provides the service through layerDocuments", () =>
    retrieve("alpha").pipe(
      Effect.map((passages) => assert.strictEqual(passages[0]?.sourceId, "a.md")),
      Effect.provide(Retriever.layerDocuments([{ sourceId: "a.md", text: "alpha beta" }]))
    )
  )

  it.effect("accepts undefined for every option", () =>
    Effect.gen(function* () {
      const retriever = yield* Retriever.fromDocuments([{ sourceId: "a.md", text: "alpha beta" }], {
        chunking: undefined,
        bm25: { k1: undefined, b: undefined, stem: undefined }
      })
      assert.deepStrictEqual(retriever.size, { documents: 1, chunks: 1 })
    })
  )

  it.live("can be interrupted within 100 ms while it chunks and indexes a large corpus", () =>
    Effect.gen(function* () {
      const topics = ["orbit", "planet", "moon", "comet", "nebula", "galaxy", "quasar", "pulsar"]
      // 4,000 documents of 300 words: a second or more of chunking and indexing in one synchronous loop.
      const documents = Array.from({ length: 4_000 }, (_, i) => ({
        sourceId: `notes/${i}.md`,
        text: Array.from({ length: 300 }, (_, j) => `${topics[(i + j) % 8]}${(i * 31 + j) % 1009}`).join(" ")
      }))
      const fiber = yield* Effect.forkChild(Retriever.fromDocuments(documents))
      yield* Effect.sleep("30 millis")
      const started = performance.now()
      const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
      const took = performance.now() - started
      assert.isTrue(Exit.hasInterrupts(exit), "the build was interrupted, not finished")
      assert.isBelow(took, 100)
    })
  )
})

describe("Retriever.layerFolder", () => {
  const build = (folder: string) =>
    Layer.build(Retriever.layerFolder(folder)).pipe(Effect.flip, Effect.provide(NodeServices.layer))

  it.effect("fails with FolderNotFound for a missing folder", () =>
    Effect.gen(function* () {
      const error = yield* build(`${fixture}/missing`)
      assert.instanceOf(error.reason, FolderNotFound)
      if (error.reason instanceof FolderNotFound) assert.strictEqual(error.reason.path, `${fixture}/missing`)
    })
  )

  it.effect("fails with EmptyCorpus naming the folder when its files hold no text", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped()
      const empty = yield* build(dir)
      assert.instanceOf(empty.reason, EmptyCorpus)
      yield* fs.writeFileString(path.join(dir, "blank.md"), "\n\n   \n")
      const blank = yield* build(dir)
      assert.instanceOf(blank.reason, EmptyCorpus)
      if (blank.reason instanceof EmptyCorpus) assert.strictEqual(blank.reason.path, dir)
      assert.include(blank.message, dir)
    }).pipe(Effect.provide(NodeServices.layer))
  )
})

describe("RetrievalError", () => {
  it("is retryable only for a file the system reported busy or timed out", () => {
    const unreadable = (tag: PlatformError.SystemErrorTag) =>
      new RetrievalError({
        reason: new UnreadableFile({
          path: "a.md",
          description: "busy",
          cause: PlatformError.systemError({ _tag: tag, module: "FileSystem", method: "readFile" })
        })
      })
    assert.isTrue(unreadable("Busy").isRetryable)
    assert.isTrue(unreadable("TimedOut").isRetryable)
    assert.isFalse(unreadable("NotFound").isRetryable)
    assert.isFalse(unreadable("PermissionDenied").isRetryable)
    const others = [
      new EmptyQuery(),
      new EmptyCorpus({ description: "Nothing." }),
      new FolderNotFound({ path: "docs" }),
      new DuplicateSource({ sourceId: "a.md" }),
      new FilterFailed({ passageId: "a.md#0", cause: new Error("bug") }),
      new InvalidOption({ option: "topK", value: "0", expected: "an integer ≥ 1" })
    ]
    for (const reason of others) assert.isFalse(new RetrievalError({ reason }).isRetryable, reason._tag)
  })

  it("says what went wrong in its message, and round-trips through its Schema", () => {
    const error = new RetrievalError({
      reason: new FolderNotFound({ path: "docs", description: "it is not a folder" })
    })
    assert.strictEqual(error.message, "No folder at docs: it is not a folder.")
    const encoded = Schema.encodeSync(RetrievalError)(error)
    const decoded = Schema.decodeUnknownSync(RetrievalError)(JSON.parse(JSON.stringify(encoded)))
    assert.strictEqual(decoded.reason._tag, "FolderNotFound")
    assert.strictEqual(decoded.message, error.message)
  })
})

describe("Retriever: filters as data, metadata and the token budget", () => {
  const documents = [
    {
      sourceId: "guides/budget.md",
      title: "Budgets",
      text: "# Budgets\n\nA budget caps the tokens a run may spend before each model call.",
      tags: ["finance"],
      updatedAt: Date.UTC(2025, 0, 5),
      metadata: { author: "ops" }
    },
    { sourceId: "guides/agents.md", text: "Agents plan each model call and may spend tokens on tools." },
    {
      sourceId: "notes/spend.txt",
      text: "Spend less: every model call spends tokens.",
      tags: ["finance", "tips"]
    }
  ]

  it.effect(
    "where keeps the passages of the documents a Filter accepts, and passages carry their metadata",
    () =>
      Effect.gen(function* () {
        const retriever = yield* Retriever.fromDocuments(documents)
        const all = yield* retriever.retrieve("model call tokens")
        assert.lengthOf(all, 3)
        const finance = yield* retriever.retrieve("model call tokens", { where: Filter.anyTag("finance") })
        assert.sameMembers(
          finance.map((passage) => passage.sourceId),
          ["guides/budget.md", "notes/spend.txt"]
        )
        const guidesNotFinance = yield* retriever.retrieve("model call tokens", {
          where: Filter.and(Filter.sourcePrefix("guides/"), Filter.not(Filter.anyTag("finance")))
        })
        assert.deepStrictEqual(
          guidesNotFinance.map((passage) => passage.sourceId),
          ["guides/agents.md"]
        )
        // A filter and a closure together: both must accept.
        const both = yield* retriever.retrieve("model call tokens", {
          where: Filter.anyTag("finance"),
          filter: (passage) => passage.sourceId.endsWith(".txt")
        })
        assert.deepStrictEqual(
          both.map((passage) => passage.sourceId),
          ["notes/spend.txt"]
        )
        const budget = all.find((passage) => passage.sourceId === "guides/budget.md")!
        assert.deepStrictEqual(
          { ...budget, score: 0 },
          {
            id: "guides/budget.md#0",
            sourceId: "guides/budget.md",
            title: "Budgets",
            text: "A budget caps the tokens a run may spend before each model call.",
            score: 0,
            documentTitle: "Budgets",
            updatedAt: Date.UTC(2025, 0, 5),
            tags: ["finance"],
            metadata: { author: "ops" }
          }
        )
        // A passage is a Schema: it survives JSON.
        const json = JSON.parse(JSON.stringify(Schema.encodeSync(Retriever.Passage)(budget)))
        assert.deepStrictEqual(Schema.decodeUnknownSync(Retriever.Passage)(json), budget)
        const bad = yield* Effect.flip(retriever.retrieve("tokens", { where: { _tag: "Tags" } as never }))
        assert.strictEqual(bad.reason._tag, "InvalidOption")
      })
  )

  it.effect(
    "tokenBudget stops before the first passage that would pass it; a longer query is QueryTooLong",
    () =>
      Effect.gen(function* () {
        const retriever = yield* Retriever.fromDocuments(documents)
        const all = yield* retriever.retrieve("model call tokens")
        const first = countText(`${all[0]!.title === undefined ? "" : `${all[0]!.title}\n`}${all[0]!.text}`)
        const second = countText(`${all[1]!.title === undefined ? "" : `${all[1]!.title}\n`}${all[1]!.text}`)
        const fitsTwo = yield* retriever.retrieve("model call tokens", { tokenBudget: first + second })
        assert.deepStrictEqual(
          fitsTwo.map((passage) => passage.id),
          all.slice(0, 2).map((passage) => passage.id)
        )
        const fitsOne = yield* retriever.retrieve("model call tokens", { tokenBudget: first + second - 1 })
        assert.lengthOf(fitsOne, 1)
        const none = yield* retriever.retrieve("model call tokens", { tokenBudget: first - 1 })
        assert.lengthOf(none, 0)
        const tooLong = yield* Effect.flip(retriever.retrieve("tokens ".repeat(50), { tokenBudget: 10 }))
        assert.strictEqual(tooLong.reason._tag, "QueryTooLong")
        const zero = yield* Effect.flip(retriever.retrieve("tokens", { tokenBudget: 0 }))
        assert.strictEqual(zero.reason._tag, "InvalidOption")
      })
  )
})
