/**
 * The `weft` command: a persistent index you fill once and ask many times.
 *
 *   npm run weft -- ingest ./notes            # index a folder (again: only what changed)
 *   npm run weft -- ask "What is in my notes about X?"
 *   npm run weft -- ask --session me "And how often?"   # a conversation kept in the store
 *   npm run weft -- stats
 *
 * Everything lives in one store: the embedded database in `--data-dir`
 * (default `.weft` in the project; `WEFT_DATA_DIR` sets it too), or the
 * PostgreSQL server in `DATABASE_URL` when that is set. Ingestion keeps the
 * index fresh without a rebuild — unchanged files are skipped, changed ones
 * replaced, deleted ones dropped — and shows a progress bar on a terminal.
 * `ask` answers through the flagship workflow (examples/rag.ts) from the
 * stored index; with `--session` the conversation is kept in the same store
 * and condensed by the model when it outgrows its budget.
 */
import { existsSync } from "node:fs"
import { join, resolve } from "node:path"
import { Console, Context, Effect, Layer, Option, Redacted } from "effect"
import { Argument, Command, Flag, GlobalFlag } from "effect/cli"
import type { SqlClient } from "effect/sql"
import * as SqlStore from "../src/memory/SqlStore.ts"
import { DEFAULT_EMBEDDING_MODEL, isConfigured } from "../src/model/openai/Config.ts"
import * as Hybrid from "../src/retrieval/Hybrid.ts"
import * as Ingest from "../src/retrieval/Ingest.ts"
import * as Retriever from "../src/retrieval/Retriever.ts"
import * as SqlIndex from "../src/retrieval/SqlIndex.ts"
import * as VectorIndex from "../src/retrieval/VectorIndex.ts"
import * as Database from "../src/store/Database.ts"
import { redactUrl, type StoreError } from "../src/store/StoreError.ts"
import {
  displayPath,
  during,
  plural,
  progressFlag,
  progressLine,
  runCommand,
  toJson,
  userPath,
  withDefault
} from "./cli.ts"
import { ask, askFlags, withoutOwnTranscripts } from "./rag.ts"
import { grouped } from "../src/core/Grouped.ts"

const seconds = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`)

// Where the store is, and which index in it: flags of every subcommand, accepted before the
// subcommand or after it (`weft --data-dir X ingest docs`, `weft ingest docs --data-dir X`).
const DataDir = GlobalFlag.Setting("data-dir")({
  flag: Flag.String("data-dir").pipe(
    Flag.withDescription(
      `The embedded store's folder (default: $WEFT_DATA_DIR, else ${Database.DEFAULT_DIRECTORY} in the project; ignored when DATABASE_URL is set)`
    ),
    Flag.optional
  )
})

const Collection = GlobalFlag.Setting("collection")({
  flag: Flag.String("collection").pipe(withDefault("The named index to use", SqlIndex.defaultCollection))
})

/** The store and collection the global flags name. */
const storeFlags = Effect.gen(function* () {
  return { dataDir: yield* DataDir, collection: yield* Collection }
})

/**
 * The store the flags and the environment name, and how to say where it is. `missing` says
 * the embedded store has no database there yet: a command that only reads (`ask`, `stats`)
 * says so instead of creating one at a mistyped path.
 */
const openStore = (
  dataDir: Option.Option<string>
): {
  readonly layer: Layer.Layer<SqlClient.SqlClient | Database.Database, StoreError>
  readonly where: string
  readonly missing: boolean
} => {
  const url = process.env.DATABASE_URL ?? ""
  if (url.trim() !== "") {
    return {
      layer: Database.layerPostgres({ url: Redacted.make(url) }),
      where: redactUrl(url),
      missing: false
    }
  }
  // A folder the user typed is theirs (resolved where they typed it); the default belongs to the project.
  const directory = Option.match(
    Option.orElse(dataDir, () => Option.fromNullishOr(process.env.WEFT_DATA_DIR || undefined)),
    {
      onSome: userPath,
      onNone: () => resolve(process.cwd(), Database.DEFAULT_DIRECTORY)
    }
  )
  return {
    layer: Database.layerEmbedded({ directory }),
    where: displayPath(directory),
    missing: !existsSync(join(directory, Database.FILE_NAME))
  }
}

/** The store a reading command opens: one that is not there yet is an error, not created. */
const existingStore = (dataDir: Option.Option<string>) => {
  const store = openStore(dataDir)
  return store.missing
    ? Effect.fail(
        new Error(
          `there is no Weft store at ${store.where}: run \`npm run weft -- ingest <folder>\` to make one`
        )
      )
    : Effect.succeed(store)
}

/**
 * The vectors kept beside the chunks: OpenAI's embeddings (`WEFT_EMBEDDING_MODEL`,
 * default text-embedding-3-small) when OPENAI_API_KEY or OPENAI_BASE_URL is set,
 * else the offline lexical embedding. Each model's vectors are stored under its
 * own name, so switching never mixes them.
 */
const vectorStore = (): {
  readonly layer: Layer.Layer<VectorIndex.VectorIndex, unknown, SqlClient.SqlClient>
  readonly name: string
} => {
  if (!isConfigured(process.env))
    return { layer: VectorIndex.layerSqlLexical(), name: "offline lexical embedding" }
  const model = process.env.WEFT_EMBEDDING_MODEL || DEFAULT_EMBEDDING_MODEL
  return {
    name: `${model}, openai`,
    layer: Layer.unwrap(
      // Loaded only when asked for, as the chat provider is (examples/provider.ts).
      Effect.map(
        Effect.promise(() => import("../src/model/OpenAi.ts")),
        (OpenAi) =>
          VectorIndex.layerSql({ model: `openai/${model}` }).pipe(
            Layer.provide(OpenAi.embeddings({ model })),
            Layer.provide(OpenAi.layerClientFromEnv())
          )
      )
    )
  }
}

const bar = (done: number, total: number, width = 24): string => {
  const filled = total === 0 ? width : Math.round((done / total) * width)
  return `▕${"█".repeat(filled)}${"░".repeat(width - filled)}▏`
}

const ingest = Command.make(
  "ingest",
  {
    folder: Argument.String("folder").pipe(
      Argument.withDescription("A folder of .md, .txt, .json or .jsonl files to index (read recursively)")
    ),
    json: askFlags.json,
    progress: progressFlag
  },
  (command) =>
    Effect.flatMap(storeFlags, (global) => {
      const flags = { ...command, ...global }
      const store = openStore(flags.dataDir)
      const embedding = vectorStore()
      return Effect.gen(function* () {
        const folder = userPath(flags.folder)
        const shown = displayPath(folder)
        const line = progressLine(flags.progress)
        const summary = yield* SqlIndex.ingestFolder(folder, {
          collection: flags.collection,
          // Weft's own docs quote runs of this program; those transcripts are not knowledge.
          prepare: withoutOwnTranscripts,
          onProgress: (p) =>
            line.update(() =>
              p.phase === "reading"
                ? `reading ${shown}  ${bar(p.filesDone, p.files)} ${grouped(p.filesDone)}/${plural(p.files, "file")}, ${seconds(p.elapsedMs)}`
                : `indexing ${shown} ${bar(p.filesDone, p.files)} ${grouped(p.filesDone)}/${plural(p.files, "document")}, ${plural(p.chunksWritten, "chunk")} written, ${seconds(p.elapsedMs)}`
            )
        }).pipe(during(`ingesting ${shown}`), Effect.ensuring(Effect.sync(line.done)))
        // The vectors beside the chunks, for `ask --method hybrid`: only new or changed chunks are embedded.
        const vectors = yield* VectorIndex.sync({
          collection: flags.collection,
          onProgress: (p) =>
            line.update(
              () => `embedding ${bar(p.embedded, p.total)} ${p.embedded}/${plural(p.total, "chunk")}`
            )
        }).pipe(during("embedding new chunks"), Effect.ensuring(Effect.sync(line.done)))
        if (flags.json) {
          return yield* Console.log(
            toJson({ store: store.where, ...summary, vectors: { ...vectors, model: embedding.name } })
          )
        }
        const parts = [
          `${grouped(summary.added)} added`,
          `${grouped(summary.changed)} changed`,
          `${grouped(summary.unchanged)} unchanged (skipped)`,
          `${grouped(summary.deleted)} deleted`
        ]
        if (summary.empty > 0) parts.push(`${grouped(summary.empty)} empty`)
        yield* Console.log(
          `Ingested ${shown} into ${store.where} (collection "${summary.collection}"): ` +
            `${plural(summary.files, "file")} — ${parts.join(", ")}; ` +
            `${plural(summary.chunksWritten, "chunk")} written, ${grouped(summary.chunksDeleted)} removed, in ${seconds(summary.durationMs)}`
        )
        if (vectors.embedded + vectors.deleted > 0) {
          yield* Console.log(
            `Vectors: ${plural(vectors.embedded, "chunk")} embedded, ${grouped(vectors.deleted)} dropped, ${grouped(vectors.unchanged)} kept (${embedding.name})`
          )
        }
        if (summary.skipped.length > 0) yield* Console.log(Ingest.describeSkipped(summary.skipped))
      }).pipe(
        Effect.provide(embedding.layer.pipe(Layer.provideMerge(store.layer))),
        during(`opening the store at ${store.where}`)
      )
    })
).pipe(
  Command.withDescription(
    "Index a folder into the persistent store; again later, only what changed is written"
  )
)

const askCommand = Command.make(
  "ask",
  {
    question: Argument.String("question").pipe(Argument.withDescription("What to ask")),
    method: Flag.Literals("method", ["bm25", "hybrid"]).pipe(
      withDefault<"bm25" | "hybrid">(
        "How to search: BM25, or BM25 fused with the offline lexical vectors",
        "bm25"
      )
    ),
    session: Flag.String("session").pipe(
      Flag.withDescription(
        "Keep the conversation under this id in the store, and read follow-ups in its light"
      ),
      Flag.optional
    ),
    ...askFlags
  },
  (command) =>
    Effect.scoped(
      Effect.gen(function* () {
        const flags = { ...command, ...(yield* storeFlags) }
        const store = yield* existingStore(flags.dataDir)
        const database = yield* Layer.build(store.layer).pipe(during(`opening the store at ${store.where}`))
        const retriever = yield* Layer.build(
          flags.method === "hybrid"
            ? Hybrid.layerSql({ collection: flags.collection }).pipe(Layer.provide(vectorStore().layer))
            : Retriever.layerSql({ collection: flags.collection })
        ).pipe(Effect.provideContext(database))
        const stats = yield* SqlIndex.stats({ collection: flags.collection }).pipe(
          Effect.provideContext(database)
        )
        if (stats.documents === 0) {
          return yield* Effect.fail(
            new Error(
              `nothing is indexed in collection "${flags.collection}" at ${store.where}: run \`npm run weft -- ingest <folder>\` first`
            )
          )
        }
        // A named session is kept in the store beside the index, so the next `ask` continues it.
        const session = Option.map(flags.session, (id) => ({
          id,
          memory: SqlStore.layerMemory.pipe(Layer.provide(Layer.succeedContext(database)))
        }))
        yield* ask(
          flags.question,
          flags,
          {
            retriever: Context.get(retriever, Retriever.Retriever),
            description: `${store.where} (collection "${flags.collection}": ${plural(stats.documents, "document")}, ${plural(stats.chunks, "passage")}, ${flags.method === "hybrid" ? "hybrid search" : "BM25"})`,
            notes: "",
            json: { store: store.where, ...stats }
          },
          Option.getOrUndefined(session)
        )
      })
    )
).pipe(Command.withDescription("Answer a question from the persistent index, with citations"))

const stats = Command.make("stats", { json: askFlags.json }, (command) =>
  Effect.gen(function* () {
    const flags = { ...command, ...(yield* storeFlags) }
    const store = yield* existingStore(flags.dataDir)
    const stats = yield* SqlIndex.stats({ collection: flags.collection }).pipe(Effect.provide(store.layer))
    if (flags.json) return yield* Console.log(toJson({ store: store.where, ...stats }))
    yield* Console.log(
      `${store.where}, collection "${stats.collection}": ${plural(stats.documents, "document")}, ` +
        `${plural(stats.chunks, "chunk")}, ${plural(stats.terms, "distinct term")}`
    )
  })
).pipe(Command.withDescription("Say how much the store holds"))

export const command = Command.make("weft").pipe(
  Command.withDescription("Weft's persistent store: ingest a folder once, then ask it questions"),
  Command.withSubcommands([ingest, askCommand, stats]),
  Command.withGlobalFlags([DataDir, Collection])
)

if (import.meta.main) runCommand(command)
