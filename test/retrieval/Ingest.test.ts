import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FileSystem, Path } from "effect"
import * as Ingest from "../../src/retrieval/Ingest.ts"

const fixture = new URL("../fixtures/retrieval/corpus", import.meta.url).pathname

/** A fresh temporary folder, removed when the test ends. */
const tempFolder = FileSystem.FileSystem.use((fs) => fs.makeTempDirectoryScoped())

describe("Ingest.loadFolder", () => {
  it.effect("loads .md and .txt files recursively, sorted by their /-separated relative path", () =>
    Effect.gen(function* () {
      const documents = yield* Ingest.loadFolder(fixture)
      assert.deepStrictEqual(
        documents.map((doc) => doc.sourceId),
        [
          "baking.md",
          "chess.md",
          "compilers.md",
          "knitting.txt",
          "nature/bees.md",
          "nature/tide-pools.md",
          "nature/volcanoes.md",
          "solar.md"
        ]
      )
      const fs = yield* FileSystem.FileSystem
      assert.strictEqual(documents[4]!.text, yield* fs.readFileString(`${fixture}/nature/bees.md`))
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("skips hidden folders and files, and loads only the extensions asked for", () =>
    Effect.gen(function* () {
      const txt = yield* Ingest.loadFolder(fixture, { extensions: ["txt"] })
      assert.deepStrictEqual(
        txt.map((doc) => doc.sourceId),
        ["knitting.txt"]
      )
      const json = yield* Ingest.loadFolder(fixture, { extensions: [".JSON"] })
      assert.deepStrictEqual(
        json.map((doc) => doc.sourceId),
        ["notes.json"]
      )
      const all = yield* Ingest.loadFolder(fixture, { extensions: [".md", ".txt", ".json"] })
      assert.isFalse(all.some((doc) => doc.sourceId.includes("hidden")))
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("orders by code unit, the same on every machine, and strips a byte-order mark", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* tempFolder
      yield* fs.makeDirectory(path.join(dir, "a"))
      yield* fs.writeFileString(path.join(dir, "a", "z.md"), "in a folder")
      yield* fs.writeFileString(path.join(dir, "a-b.md"), "\uFEFFwith a BOM")
      yield* fs.writeFileString(path.join(dir, "B.md"), "capital")
      const documents = yield* Ingest.loadFolder(dir)
      assert.deepStrictEqual(
        documents.map((doc) => doc.sourceId),
        ["B.md", "a-b.md", "a/z.md"]
      )
      assert.strictEqual(documents[1]!.text, "with a BOM")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("fails with FolderNotFound for a missing folder or a file", () =>
    Effect.gen(function* () {
      const missing = yield* Effect.flip(Ingest.loadFolder(`${fixture}/no-such-folder`))
      assert.strictEqual(missing.reason, "FolderNotFound")
      assert.strictEqual(missing.path, `${fixture}/no-such-folder`)
      assert.include(missing.message, "no-such-folder")
      const file = yield* Effect.flip(Ingest.loadFolder(`${fixture}/chess.md`))
      assert.strictEqual(file.reason, "FolderNotFound")
      assert.include(file.message, "is not a folder")
      assert.isFalse(file.isRetryable)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("fails with EmptyCorpus for an empty folder or one with no matching files", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* tempFolder
      const empty = yield* Effect.flip(Ingest.loadFolder(dir))
      assert.strictEqual(empty.reason, "EmptyCorpus")
      assert.strictEqual(empty.path, dir)
      yield* fs.writeFileString(path.join(dir, "data.csv"), "a,b")
      yield* fs.writeFileString(path.join(dir, ".hidden.md"), "hidden")
      const noMatch = yield* Effect.flip(Ingest.loadFolder(dir))
      assert.strictEqual(noMatch.reason, "EmptyCorpus")
      assert.include(noMatch.message, ".md or .txt")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("fails with UnreadableFile naming a matching file that cannot be read", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* tempFolder
      yield* fs.writeFileString(path.join(dir, "fine.md"), "readable")
      const broken = path.join(dir, "broken.md")
      yield* fs.symlink(path.join(dir, "missing-target.md"), broken)
      const error = yield* Effect.flip(Ingest.loadFolder(dir))
      assert.strictEqual(error.reason, "UnreadableFile")
      assert.strictEqual(error.path, broken)
      assert.include(error.message, broken)
      assert.isFalse(error.isRetryable)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("fails with UnreadableFile for a matching link to a folder, which it never walks", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* tempFolder
      yield* fs.makeDirectory(path.join(dir, "real"))
      yield* fs.writeFileString(path.join(dir, "real", "inside.md"), "inside")
      yield* fs.symlink(path.join(dir, "real"), path.join(dir, "folder.md"))
      const error = yield* Effect.flip(Ingest.loadFolder(dir))
      assert.strictEqual(error.reason, "UnreadableFile")
      assert.strictEqual(error.path, path.join(dir, "folder.md"))
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("fails with InvalidOptions for an empty extension list", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Ingest.loadFolder(fixture, { extensions: [" ", "."] }))
      assert.strictEqual(error.reason, "InvalidOptions")
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
