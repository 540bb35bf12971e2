import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, FileSystem, Path } from "effect"
import type * as Chunking from "../../src/retrieval/Chunking.ts"
import * as Ingest from "../../src/retrieval/Ingest.ts"
import type { RetrievalError } from "../../src/retrieval/RetrievalError.ts"

const fixture = new URL("../fixtures/retrieval/corpus", import.meta.url).pathname

/** The file or folder a failure names, for the reasons that name one. */
const pathOf = (error: RetrievalError): string | undefined =>
  "path" in error.reason ? error.reason.path : undefined

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
      // notes.json is the only .json file, and it has no "text" field: nothing to load.
      const json = yield* Effect.flip(Ingest.loadFolder(fixture, { extensions: [".JSON"] }))
      assert.strictEqual(json.reason._tag, "EmptyCorpus")
      assert.include(json.message, 'notes.json (the record has no "text" string)')
      const all = yield* Ingest.loadFolder(fixture, { extensions: [".md", ".txt", ".json"] })
      assert.strictEqual(all.length, 8)
      assert.isFalse(all.some((doc) => doc.sourceId.includes("hidden")))
      assert.deepStrictEqual(all.skipped, [
        { sourceId: "notes.json", reason: "NotDocument", detail: 'the record has no "text" string' }
      ])
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
      assert.strictEqual(missing.reason._tag, "FolderNotFound")
      assert.strictEqual(pathOf(missing), `${fixture}/no-such-folder`)
      assert.include(missing.message, "no-such-folder")
      const file = yield* Effect.flip(Ingest.loadFolder(`${fixture}/chess.md`))
      assert.strictEqual(file.reason._tag, "FolderNotFound")
      assert.include(file.message, "it is a file; give the folder that holds it")
      assert.isFalse(file.isRetryable)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("fails with EmptyCorpus for an empty folder or one with no matching files", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* tempFolder
      const empty = yield* Effect.flip(Ingest.loadFolder(dir))
      assert.strictEqual(empty.reason._tag, "EmptyCorpus")
      assert.strictEqual(pathOf(empty), dir)
      yield* fs.writeFileString(path.join(dir, "data.csv"), "a,b")
      yield* fs.writeFileString(path.join(dir, ".hidden.md"), "hidden")
      const noMatch = yield* Effect.flip(Ingest.loadFolder(dir))
      assert.strictEqual(noMatch.reason._tag, "EmptyCorpus")
      assert.include(noMatch.message, ".md or .txt")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("skips and lists a matching file that cannot be read, and loads the rest", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* tempFolder
      yield* fs.writeFileString(path.join(dir, "fine.md"), "readable")
      yield* fs.symlink(path.join(dir, "missing-target.md"), path.join(dir, "broken.md"))
      const loaded = yield* Ingest.loadFolder(dir)
      assert.deepStrictEqual(
        loaded.map((doc) => doc.sourceId),
        ["fine.md"]
      )
      assert.deepStrictEqual(loaded.skipped, [
        { sourceId: "broken.md", reason: "Unreadable", detail: "it does not exist (a broken link?)" }
      ])
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("skips a matching link to a folder, which it never walks", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* tempFolder
      yield* fs.makeDirectory(path.join(dir, "real"))
      yield* fs.writeFileString(path.join(dir, "real", "inside.md"), "inside")
      yield* fs.symlink(path.join(dir, "real"), path.join(dir, "folder.md"))
      const loaded = yield* Ingest.loadFolder(dir)
      assert.deepStrictEqual(
        loaded.map((doc) => doc.sourceId),
        ["real/inside.md"]
      )
      assert.deepStrictEqual(
        loaded.skipped.map((file) => [file.sourceId, file.reason]),
        [["folder.md", "Unreadable"]]
      )
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("skips binary files and files that are not valid UTF-8, never indexing mojibake", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* tempFolder
      yield* fs.writeFileString(path.join(dir, "text.md"), "Café crème, naïve résumé — “quoted” ✓")
      // A PNG header renamed .md, a Latin-1 file ("café" with é as 0xE9), and UTF-16 with its BOM.
      yield* fs.writeFile(
        path.join(dir, "image.md"),
        new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])
      )
      yield* fs.writeFile(path.join(dir, "latin1.txt"), new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]))
      yield* fs.writeFile(path.join(dir, "utf16.txt"), new Uint8Array([0xff, 0xfe, 0x68, 0x00, 0x69, 0x00]))
      const loaded = yield* Ingest.loadFolder(dir)
      assert.deepStrictEqual(
        loaded.map((doc) => doc.sourceId),
        ["text.md"]
      )
      assert.strictEqual(loaded[0]!.text, "Café crème, naïve résumé — “quoted” ✓")
      assert.deepStrictEqual(loaded.skipped, [
        { sourceId: "image.md", reason: "NotText", detail: "binary" },
        { sourceId: "latin1.txt", reason: "NotText", detail: "not valid UTF-8" },
        { sourceId: "utf16.txt", reason: "NotText", detail: "binary" }
      ])
      assert.strictEqual(
        Ingest.describeSkipped(loaded.skipped),
        "skipped 3 files: image.md (binary), latin1.txt (not valid UTF-8), utf16.txt (binary)"
      )
      assert.strictEqual(
        Ingest.describeSkipped(loaded.skipped, 1),
        "skipped 3 files: image.md (binary), and 2 more"
      )
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect(
    "fails only when nothing is readable: EmptyCorpus when no file is text, UnreadableFile when none can be read",
    () =>
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const binary = yield* tempFolder
        yield* fs.writeFile(path.join(binary, "a.md"), new Uint8Array([0, 1, 2]))
        const notText = yield* Effect.flip(Ingest.loadFolder(binary))
        assert.strictEqual(notText.reason._tag, "EmptyCorpus")
        assert.include(notText.message, "skipped 1 file: a.md (binary)")
        const broken = yield* tempFolder
        yield* fs.symlink(path.join(broken, "gone.md"), path.join(broken, "link.md"))
        const unreadable = yield* Effect.flip(Ingest.loadFolder(broken))
        assert.strictEqual(unreadable.reason._tag, "UnreadableFile")
        assert.strictEqual(pathOf(unreadable), broken)
        assert.include(unreadable.message, "link.md")
        assert.isFalse(unreadable.isRetryable)
      }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("reports progress after every file, the last report counting them all", () =>
    Effect.gen(function* () {
      const reports: Array<Ingest.LoadProgress> = []
      const loaded = yield* Ingest.loadFolder(fixture, { onProgress: (p) => reports.push(p) })
      assert.strictEqual(reports.length, loaded.length + loaded.skipped.length)
      assert.deepStrictEqual(
        reports.map((p) => p.read).sort((a, b) => a - b),
        reports.map((_, i) => i + 1)
      )
      const last = reports.at(-1)!
      assert.strictEqual(last.files, loaded.length)
      assert.isAbove(last.bytes, 0)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("a read in progress is interrupted promptly, between files", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* tempFolder
      yield* Effect.forEach(
        Array.from({ length: 400 }, (_, i) => i),
        (i) => fs.writeFileString(path.join(dir, `doc-${i}.md`), `Document ${i}. `.repeat(50)),
        { concurrency: 16, discard: true }
      )
      let reads = 0
      const fiber = yield* Effect.forkChild(
        Ingest.loadFolder(dir, {
          onProgress: () => {
            reads += 1
          }
        })
      )
      while (reads < 10) yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
      assert.isTrue(Exit.hasInterrupts(exit))
      const after = reads
      for (let i = 0; i < 20; i++)
        yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      assert.strictEqual(reads, after, "no file is read after the interruption")
      assert.isBelow(after, 400)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("fails with InvalidOption for an empty extension list", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Ingest.loadFolder(fixture, { extensions: [" ", "."] }))
      assert.strictEqual(error.reason._tag, "InvalidOption")
      assert.include(error.message, "extensions must be at least one file extension")
    }).pipe(Effect.provide(NodeServices.layer))
  )
})

describe("Ingest: metadata, JSON and JSON Lines", () => {
  it.effect("gives a markdown file its first heading as title and its mtime as updatedAt", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* tempFolder
      yield* fs.writeFileString(
        path.join(dir, "guide.md"),
        "Intro line\n\n## Getting started\n\nText.\n# Later"
      )
      yield* fs.writeFileString(path.join(dir, "plain.txt"), "# not a title in a .txt")
      const mtime = new Date(Date.UTC(2024, 5, 1, 12, 0, 0))
      yield* fs.utimes(path.join(dir, "guide.md"), mtime, mtime)
      const loaded = yield* Ingest.loadFolder(dir)
      assert.deepStrictEqual(loaded[0], {
        sourceId: "guide.md",
        text: "Intro line\n\n## Getting started\n\nText.\n# Later",
        title: "Getting started",
        updatedAt: mtime.getTime()
      })
      assert.strictEqual(loaded[1]!.title, undefined)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("reads JSON records (one or many) and JSON Lines, with configurable field names", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* tempFolder
      yield* fs.writeFileString(
        path.join(dir, "one.json"),
        JSON.stringify({ title: "Single", text: "One record.", tags: "solo", source: "wiki" })
      )
      yield* fs.writeFileString(
        path.join(dir, "many.json"),
        JSON.stringify([
          { id: "a", text: "First.", tags: ["x", "y", 3] },
          { id: 7, text: "Second." }
        ])
      )
      yield* fs.writeFileString(
        path.join(dir, "beir.jsonl"),
        `${JSON.stringify({ _id: "d1", title: "T1", text: "Body one.", metadata: {} })}\r\n\n${JSON.stringify({ _id: "d2", title: "", text: "Body two." })}\n`
      )
      const defaults = yield* Ingest.loadFolder(dir, { extensions: Ingest.allExtensions })
      const strip = ({ updatedAt: _, ...rest }: Chunking.Document) => rest
      assert.deepStrictEqual(defaults.map(strip), [
        { sourceId: "beir.jsonl#1", text: "Body one.", title: "T1", metadata: { _id: "d1", metadata: {} } },
        { sourceId: "beir.jsonl#2", text: "Body two.", metadata: { _id: "d2" } },
        { sourceId: "many.json#a", text: "First.", tags: ["x", "y"] },
        { sourceId: "many.json#7", text: "Second." },
        {
          sourceId: "one.json",
          text: "One record.",
          title: "Single",
          tags: ["solo"],
          metadata: { source: "wiki" }
        }
      ])
      assert.isTrue(defaults.every((document) => typeof document.updatedAt === "number"))
      const beir = yield* Ingest.loadFolder(dir, { extensions: [".jsonl"], json: { id: "_id" } })
      assert.deepStrictEqual(
        beir.map((document) => document.sourceId),
        ["beir.jsonl#d1", "beir.jsonl#d2"]
      )
      const renamed = yield* Ingest.loadFolder(dir, { extensions: [".jsonl"], json: { text: "title" } })
      assert.deepStrictEqual(
        renamed.map((document) => document.text),
        ["T1", ""]
      )
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("skips and lists JSON that does not parse or holds no text, keeping the other files", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* tempFolder
      yield* fs.writeFileString(path.join(dir, "ok.md"), "fine")
      yield* fs.writeFileString(path.join(dir, "broken.json"), "{ not json")
      yield* fs.writeFileString(path.join(dir, "lines.jsonl"), '{"text":"a"}\n{oops}\n')
      yield* fs.writeFileString(path.join(dir, "numbers.json"), "[1, 2]")
      yield* fs.writeFileString(path.join(dir, "dupes.json"), '[{"id":1,"text":"a"},{"id":1,"text":"b"}]')
      yield* fs.writeFileString(path.join(dir, "empty.jsonl"), "\n\n")
      const loaded = yield* Ingest.loadFolder(dir, { extensions: Ingest.allExtensions })
      assert.deepStrictEqual(
        loaded.map((document) => document.sourceId),
        ["ok.md"]
      )
      assert.deepStrictEqual(loaded.skipped, [
        { sourceId: "broken.json", reason: "NotDocument", detail: "not valid JSON" },
        { sourceId: "dupes.json", reason: "NotDocument", detail: 'two records share the id "1"' },
        { sourceId: "empty.jsonl", reason: "NotDocument", detail: "no records" },
        { sourceId: "lines.jsonl", reason: "NotDocument", detail: "line 2 is not valid JSON" },
        { sourceId: "numbers.json", reason: "NotDocument", detail: "record 1 is not an object" }
      ])
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("readFolder succeeds on a folder with no matching file, where loadFolder fails", () =>
    Effect.gen(function* () {
      const dir = yield* tempFolder
      const contents = yield* Ingest.readFolder(dir)
      assert.deepStrictEqual(contents, { files: [], documents: [], skipped: [] })
      assert.strictEqual((yield* Effect.flip(Ingest.loadFolder(dir))).reason._tag, "EmptyCorpus")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it("contentHash covers text and metadata, not updatedAt, and ignores key order", () => {
    const base = { sourceId: "a.md", text: "Text.", title: "T", tags: ["x"], metadata: { a: 1, b: [2] } }
    const hash = Ingest.contentHash(base)
    assert.match(hash, /^[0-9a-f]{64}$/)
    assert.strictEqual(Ingest.contentHash({ ...base, updatedAt: 5 }), hash)
    assert.strictEqual(Ingest.contentHash({ ...base, metadata: { b: [2], a: 1 } }), hash)
    assert.strictEqual(Ingest.contentHash({ ...base, sourceId: "b.md" }), hash)
    for (const changed of [
      { ...base, text: "Text!" },
      { ...base, title: "U" },
      { ...base, tags: ["y"] },
      { ...base, metadata: { a: 2, b: [2] } }
    ]) {
      assert.notStrictEqual(Ingest.contentHash(changed), hash)
    }
  })
})
