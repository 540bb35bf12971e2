/**
 * The in-memory Retriever's `cache` file: a build over the same documents and
 * options reads the index back and ranks every query as a fresh build does;
 * anything else (changed text, order or options, a damaged or foreign file,
 * a path that cannot be written) builds afresh and never fails. And the pin
 * that makes a change to chunking or the analyzer bump `INDEX_FORMAT`.
 */
import { createHash } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import * as Bm25 from "../../src/retrieval/Bm25.ts"
import * as Chunking from "../../src/retrieval/Chunking.ts"
import { INDEX_FORMAT } from "../../src/retrieval/internal/indexCache.ts"
import * as Filter from "../../src/retrieval/Filter.ts"
import * as Retriever from "../../src/retrieval/Retriever.ts"
import { synonymsOf } from "../../src/text/Synonyms.ts"

const documents: ReadonlyArray<Chunking.Document> = [
  {
    sourceId: "leave.md",
    text: "# Annual leave\n\nFull-time staff get 27 days of annual leave a year.\n\n## Carry-over\n\nUp to five unused days roll over to the next year, with a manager's approval.",
    tags: ["hr"]
  },
  {
    sourceId: "expenses.md",
    text: "# Expenses\n\nClaims are paid within 30 days. Receipts must be attached to every claim over 20 euros.\n\n## Travel\n\nTrain travel is reimbursed at second-class fares.",
    tags: ["finance"],
    updatedAt: 1_700_000_000_000
  },
  {
    sourceId: "code.md",
    text: "# API\n\n`Step.make` names an Effect. The maxOutputTokens option caps a reply; top_k picks passages. 東京で会議があります。"
  },
  {
    sourceId: "long.md",
    text: `# Long\n\n${"Every sentence here says something about budgets and limits. ".repeat(80)}`
  }
]

const queries = [
  "how many days of annual leave?",
  "can unused days carry over",
  "when are expense claims paid",
  "Step.make",
  "maxOutputTokens",
  "東京",
  "budgets limits",
  "nothing matches zebra"
]

const freshDir = () => mkdtempSync(join(tmpdir(), "weft-index-cache-"))

/** Builds with the options, noting the phases reported. */
const build = (docs: ReadonlyArray<Chunking.Document>, options: Retriever.RetrieverOptions = {}) =>
  Effect.gen(function* () {
    const phases = new Set<string>()
    const retriever = yield* Retriever.fromDocuments(docs, {
      ...options,
      onIndexProgress: (p) => phases.add(p.phase)
    })
    return { retriever, phases }
  })

/** Every query's passages under several retrieve options, for comparing two retrievers. */
const answers = (retriever: Retriever.Retriever["Service"]) =>
  Effect.gen(function* () {
    const out: Array<unknown> = []
    for (const query of queries) {
      out.push(yield* retriever.retrieve(query, { topK: 3 }))
      out.push(yield* retriever.retrieve(query, { topK: 10, where: Filter.anyTag("hr") }))
      out.push(yield* retriever.retrieve(query, { minScore: 0.5, expand: synonymsOf }))
    }
    return out
  })

describe("Retriever's cache file", () => {
  it.effect("reads the index back for the same documents, and ranks every query as a fresh build", () =>
    Effect.gen(function* () {
      const cache = join(freshDir(), "nested", "index.json")
      const first = yield* build(documents, { cache })
      assert.isTrue(first.phases.has("chunking"))
      assert.isFalse(first.phases.has("cached"))
      const second = yield* build(documents, { cache })
      assert.deepStrictEqual([...second.phases], ["cached"])
      assert.deepStrictEqual(second.retriever.size, first.retriever.size)
      const uncached = yield* build(documents)
      assert.deepStrictEqual(yield* answers(second.retriever), yield* answers(uncached.retriever))
      // Metadata comes from the documents given, not the file: a tag change shows at once.
      const retagged = documents.map((d) => (d.sourceId === "leave.md" ? { ...d, tags: ["people"] } : d))
      const third = yield* build(retagged, { cache })
      assert.deepStrictEqual([...third.phases], ["cached"])
      const passages = yield* third.retriever.retrieve("annual leave", { topK: 1 })
      assert.deepStrictEqual(passages[0]?.tags, ["people"])
    })
  )

  it.effect("builds afresh when a text, the order, or an option changes, and keeps the new index", () =>
    Effect.gen(function* () {
      const cache = join(freshDir(), "index.json")
      yield* build(documents, { cache })
      const changed = documents.map((d) =>
        d.sourceId === "leave.md" ? { ...d, text: d.text.replace("27 days", "30 days") } : d
      )
      const variants: Array<[ReadonlyArray<Chunking.Document>, Retriever.RetrieverOptions]> = [
        [changed, {}],
        [[...documents].reverse(), {}],
        [documents.map((d) => (d.sourceId === "code.md" ? { ...d, sourceId: "api.md" } : d)), {}],
        [documents, { chunking: { size: 20, overlap: 5 } }],
        [documents, { bm25: { stem: "light" } }],
        [documents, { bm25: { k1: 0.9 } }]
      ]
      for (const [docs, options] of variants) {
        const rebuilt = yield* build(docs, { ...options, cache })
        assert.isFalse(rebuilt.phases.has("cached"), JSON.stringify(options))
        const again = yield* build(docs, { ...options, cache })
        assert.deepStrictEqual([...again.phases], ["cached"], JSON.stringify(options))
        assert.deepStrictEqual(
          yield* answers(again.retriever),
          yield* answers((yield* build(docs, options)).retriever)
        )
      }
      const passages = yield* (yield* build(changed, { cache })).retriever.retrieve("annual leave days", {
        topK: 1
      })
      assert.include(passages[0]?.text ?? "", "30 days")
    })
  )

  it.effect("treats a damaged, foreign or unreadable file as a miss, and replaces it", () =>
    Effect.gen(function* () {
      const dir = freshDir()
      const cache = join(dir, "index.json")
      yield* build(documents, { cache })
      const good = readFileSync(cache, "utf8")
      const parsed = JSON.parse(good) as { bm25: Record<string, unknown>; chunks: Array<unknown> }
      const outOfRange = Buffer.from(new Uint32Array([0, 99_999]).buffer).toString("base64")
      const damaged = [
        good.slice(0, good.length / 2),
        "not json",
        "[]",
        JSON.stringify({ ...parsed, format: INDEX_FORMAT + 1 }),
        JSON.stringify({ ...parsed, key: "0".repeat(64) }),
        JSON.stringify({ ...parsed, chunks: parsed.chunks.slice(1) }),
        JSON.stringify({ ...parsed, bm25: { ...parsed.bm25, postingDocs: outOfRange } }),
        JSON.stringify({ ...parsed, bm25: { ...parsed.bm25, lengths: "AAA" } }),
        JSON.stringify({ ...parsed, bm25: { ...parsed.bm25, options: { k1: -1, b: 2, stem: "x" } } })
      ]
      const expected = yield* answers((yield* build(documents)).retriever)
      for (const content of damaged) {
        writeFileSync(cache, content)
        const rebuilt = yield* build(documents, { cache })
        assert.isFalse(rebuilt.phases.has("cached"), content.slice(0, 80))
        assert.deepStrictEqual(yield* answers(rebuilt.retriever), expected)
        assert.strictEqual(readFileSync(cache, "utf8"), good, "the damaged file is replaced by the index")
      }
      assert.deepStrictEqual(readdirSync(dir), ["index.json"], "no temporary file is left behind")
    })
  )

  it.effect("still answers when the file cannot be written, and says so in a warning", () =>
    Effect.gen(function* () {
      const dir = freshDir()
      writeFileSync(join(dir, "a-file"), "")
      const cache = join(dir, "a-file", "index.json")
      const warnings: Array<string> = []
      const logger = Logger.make((options) => {
        if (options.logLevel === "Warn") warnings.push(String(options.message))
      })
      const { retriever } = yield* build(documents, { cache }).pipe(Effect.provide(Logger.layer([logger])))
      assert.deepStrictEqual(yield* answers(retriever), yield* answers((yield* build(documents)).retriever))
      assert.lengthOf(warnings, 1)
      assert.include(warnings[0], `the index could not be kept in ${cache}`)
      assert.deepStrictEqual(readdirSync(dir), ["a-file"])
    })
  )
})

describe("Bm25 snapshots", () => {
  const texts = documents.map((d) => d.text)

  it("restore an index that ranks every query as the original", () => {
    for (const stem of ["porter", "light", "none"] as const) {
      const index = Bm25.build(texts, { ...Bm25.defaultOptions, stem })
      const restored = Bm25.fromSnapshot(index.snapshot())
      assert.isDefined(restored)
      assert.strictEqual(restored?.size, index.size)
      assert.strictEqual(restored?.terms, index.terms)
      assert.strictEqual(restored?.averageLength, index.averageLength)
      for (const query of queries)
        assert.deepStrictEqual(restored?.search(query, 10), index.search(query, 10))
    }
  })

  it("refuse a snapshot that does not hold together", () => {
    const snapshot = Bm25.build(texts).snapshot()
    const broken: Array<Bm25.Bm25Snapshot> = [
      { ...snapshot, terms: snapshot.terms.slice(1) },
      { ...snapshot, terms: [snapshot.terms[1]!, ...snapshot.terms.slice(1)] },
      { ...snapshot, postingDocs: snapshot.postingDocs.slice(1) },
      { ...snapshot, postingDocs: snapshot.postingDocs.map(() => texts.length) },
      { ...snapshot, postingDocs: snapshot.postingDocs.map(() => 0) },
      { ...snapshot, postingTfs: snapshot.postingTfs.map(() => 0) },
      { ...snapshot, lengths: snapshot.lengths.map(() => -1) },
      { ...snapshot, offsets: snapshot.offsets.map((o, i) => (i === 1 ? 0 : o)).reverse() },
      { ...snapshot, options: { ...snapshot.options, b: 2 } }
    ]
    for (const bad of broken) assert.isUndefined(Bm25.fromSnapshot(bad))
  })

  it("are copies: changing one changes neither index", () => {
    const index = Bm25.build(texts)
    const before = index.search("annual leave", 5)
    const snapshot = index.snapshot()
    const restored = Bm25.fromSnapshot(snapshot)
    snapshot.postingTfs.fill(1_000)
    snapshot.lengths.fill(1)
    assert.deepStrictEqual(index.search("annual leave", 5), before)
    assert.deepStrictEqual(restored?.search("annual leave", 5), before)
  })
})

describe("INDEX_FORMAT", () => {
  it("is bumped whenever chunking or the analyzer changes what it makes of a text", () =>
    Effect.gen(function* () {
      // What a cached index holds: the chunks and each chunk's terms, under the default options.
      const chunks = yield* Chunking.chunkDocuments(documents, yield* Chunking.resolveOptions())
      const made = chunks.map((chunk) => [
        chunk.id,
        chunk.title ?? null,
        chunk.text,
        Bm25.analyze(chunk.text)
      ])
      const fingerprint = createHash("sha256").update(JSON.stringify(made)).digest("hex").slice(0, 16)
      assert.deepStrictEqual(
        { INDEX_FORMAT, fingerprint },
        { INDEX_FORMAT: 1, fingerprint: "9098ee7e9ad3bebf" },
        "chunking or the analyzer now makes something else of a text: bump INDEX_FORMAT in " +
          "src/retrieval/internal/indexCache.ts (so files kept before are rebuilt), then pin the new pair here"
      )
    }).pipe(Effect.runPromise))
})
