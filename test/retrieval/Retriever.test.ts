import { NodeServices } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, FileSystem, Layer, Path, PlatformError } from "effect"
import { RetrievalError } from "../../src/retrieval/RetrievalError.ts"
import { indexSize, Retriever, retrieve } from "../../src/retrieval/Retriever.ts"

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
      assert.strictEqual(error.reason, "EmptyQuery")
      assert.isFalse(error.isRetryable)
    })
  )

  it.effect("fails with InvalidOptions for a bad topK or minScore", () =>
    Effect.gen(function* () {
      for (const options of [{ topK: 0 }, { topK: 2.5 }, { minScore: Number.NaN }]) {
        const error = yield* Effect.flip(retrieve("bees", options))
        assert.strictEqual(error.reason, "InvalidOptions", JSON.stringify(options))
      }
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

  it.effect("fails with EmptyCorpus when there is no text", () =>
    Effect.gen(function* () {
      const none = yield* Effect.flip(Retriever.fromDocuments([]))
      assert.strictEqual(none.reason, "EmptyCorpus")
      const blank = yield* Effect.flip(Retriever.fromDocuments([{ sourceId: "a.md", text: "  \n\n " }]))
      assert.strictEqual(blank.reason, "EmptyCorpus")
      assert.include(blank.message, "hold no text")
    })
  )

  it.effect("fails with InvalidOptions for bad chunking or BM25 options, or a repeated sourceId", () =>
    Effect.gen(function* () {
      const docs = [{ sourceId: "a.md", text: "alpha" }]
      const chunking = yield* Effect.flip(
        Retriever.fromDocuments(docs, { chunking: { size: 40, overlap: 40 } })
      )
      assert.strictEqual(chunking.reason, "InvalidOptions")
      const bm25 = yield* Effect.flip(Retriever.fromDocuments(docs, { bm25: { b: 2 } }))
      assert.strictEqual(bm25.reason, "InvalidOptions")
      const repeated = yield* Effect.flip(Retriever.fromDocuments([...docs, ...docs]))
      assert.strictEqual(repeated.reason, "InvalidOptions")
      assert.include(repeated.message, "a.md")
    })
  )

  it.effect("provides the service through layerDocuments", () =>
    retrieve("alpha").pipe(
      Effect.map((passages) => assert.strictEqual(passages[0]?.sourceId, "a.md")),
      Effect.provide(Retriever.layerDocuments([{ sourceId: "a.md", text: "alpha beta" }]))
    )
  )
})

describe("Retriever.layerFolder", () => {
  const build = (folder: string) =>
    Layer.build(Retriever.layerFolder(folder)).pipe(Effect.flip, Effect.provide(NodeServices.layer))

  it.effect("fails with FolderNotFound for a missing folder", () =>
    Effect.gen(function* () {
      const error = yield* build(`${fixture}/missing`)
      assert.strictEqual(error.reason, "FolderNotFound")
      assert.strictEqual(error.path, `${fixture}/missing`)
    })
  )

  it.effect("fails with EmptyCorpus naming the folder when its files hold no text", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped()
      const empty = yield* build(dir)
      assert.strictEqual(empty.reason, "EmptyCorpus")
      yield* fs.writeFileString(path.join(dir, "blank.md"), "\n\n   \n")
      const blank = yield* build(dir)
      assert.strictEqual(blank.reason, "EmptyCorpus")
      assert.strictEqual(blank.path, dir)
      assert.include(blank.message, dir)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("fails with UnreadableFile naming a dangling link", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* fs.writeFileString(path.join(dir, "ok.md"), "fine")
      yield* fs.symlink(path.join(dir, "gone.md"), path.join(dir, "x.md"))
      const error = yield* build(dir)
      assert.strictEqual(error.reason, "UnreadableFile")
      assert.strictEqual(
        error.message,
        `Cannot read ${path.join(dir, "x.md")}: it does not exist (a broken link?).`
      )
    }).pipe(Effect.provide(NodeServices.layer))
  )
})

describe("RetrievalError", () => {
  it("is retryable only for a file the system reported busy or timed out", () => {
    const unreadable = (tag: PlatformError.SystemErrorTag) =>
      new RetrievalError({
        reason: "UnreadableFile",
        message: "Cannot read a.md.",
        path: "a.md",
        cause: PlatformError.systemError({ _tag: tag, module: "FileSystem", method: "readFile" })
      })
    assert.isTrue(unreadable("Busy").isRetryable)
    assert.isTrue(unreadable("TimedOut").isRetryable)
    assert.isFalse(unreadable("NotFound").isRetryable)
    assert.isFalse(unreadable("PermissionDenied").isRetryable)
    for (const reason of ["EmptyQuery", "EmptyCorpus", "FolderNotFound", "InvalidOptions"] as const) {
      assert.isFalse(new RetrievalError({ reason, message: reason }).isRetryable)
    }
  })
})
