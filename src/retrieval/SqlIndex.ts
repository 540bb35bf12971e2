/**
 * The persistent retrieval index: documents, chunks and BM25 postings in SQL
 * tables (`internal/sqlSchema.ts`), searched with BM25 computed in SQL, on the
 * embedded SQLite store and on PostgreSQL alike (any `SqlClient` from
 * `store/Database`).
 *
 * Ingestion keeps the index fresh without a rebuild: each document's content
 * hash (`Ingest.contentHash`) is stored, so re-ingesting an unchanged document
 * writes nothing at all; a changed one has its chunks and postings replaced
 * in one transaction; folder ingestion (`ingestFolder`) also removes the
 * documents of files gone from the folder — but never those of a file it
 * could not read this time, which keep their indexed version; it fails, and
 * changes nothing, when the folder has files and none could be read. Documents with
 * no text are skipped and counted. Ingestion yields between documents and
 * writes in batches of whole documents, one transaction each, so it can be
 * interrupted at any point and leaves the index as of the last batch.
 *
 * Search is the in-memory `Bm25` ranking computed over the postings: the same
 * analyzer (`Bm25.makeAnalyzer`, with the collection's stemmer), the same
 * Lucene idf and length normalisation, so both return the same passages with
 * the same scores (to rounding, ~1e-15); ties — scores equal to 9 decimal places — go to
 * the earlier source id, then the earlier chunk, as in memory over
 * documents sorted by source id. Filters (`Filter`) run in SQL.
 *
 * A collection is a named index; it is always chunked and analysed the
 * same way: its options are stored with it, and opening it with other options
 * fails with `InvalidOption` (use another collection, or `clear` it).
 *
 * @example
 * ```ts
 * import { NodeServices } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 * import * as Database from "../store/Database.ts"
 * import * as SqlIndex from "./SqlIndex.ts"
 *
 * const program = Effect.gen(function* () {
 *   const summary = yield* SqlIndex.ingestFolder("docs")
 *   console.log(`${summary.added} added, ${summary.unchanged} unchanged`)
 *   return yield* SqlIndex.search("how are budgets checked?", { topK: 3 })
 * }).pipe(Effect.provide(Layer.merge(Database.layerEmbedded({ directory: ".weft" }), NodeServices.layer)))
 * ```
 */
import { Clock, Effect, type FileSystem, type Path, Schema } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { show } from "../core/InvalidOption.ts"
import { queryFailed, type StoreError } from "../store/StoreError.ts"
import { warm } from "../text/Tokens.ts"
import * as Bm25 from "./Bm25.ts"
import * as Chunking from "./Chunking.ts"
import * as Filter from "./Filter.ts"
import * as Ingest from "./Ingest.ts"
import { checkQuery, fitBudget, type QueryOptions } from "./internal/query.ts"
import * as sqlSchema from "./internal/sqlSchema.ts"
import { DuplicateSource, fail, invalidOption, type RetrievalError, storeFailed } from "./RetrievalError.ts"
import type { Passage } from "./Retriever.ts"

/** The collection used when none is named. */
export const defaultCollection = "default"

/** How a collection is chunked and analysed; fixed when it is first written. */
export interface IndexOptions {
  readonly chunking?: Chunking.ChunkOptions | undefined
  readonly bm25?: Bm25.Bm25Options | undefined
}

export interface SqlIndexOptions extends IndexOptions {
  /** The collection to open. Default `defaultCollection`. */
  readonly collection?: string | undefined
}

/** The options stored with a collection (`weft_collections.options`). */
export const CollectionOptions = Schema.Struct({
  chunking: Schema.Struct({ size: Schema.Int, overlap: Schema.Int, maxTokens: Schema.Int }),
  bm25: Schema.Struct({
    k1: Schema.Number,
    b: Schema.Number,
    stem: Schema.Union([Schema.String, Schema.Boolean])
  })
})
export type CollectionOptions = typeof CollectionOptions.Type

/** What an ingestion did. */
export const IngestSummary = Schema.Struct({
  collection: Schema.String,
  /** Files seen (folder ingestion: matching files, read or not; `ingestDocuments`: documents given). */
  files: Schema.Int,
  /** Documents read from them. */
  documents: Schema.Int,
  /** Documents new to the index. */
  added: Schema.Int,
  /** Documents whose content changed (chunks replaced) or only their `updatedAt` (nothing re-chunked). */
  changed: Schema.Int,
  /** Documents already indexed as they are: nothing written for them. */
  unchanged: Schema.Int,
  /** Documents removed from the index (files gone from the folder, or documents now empty). */
  deleted: Schema.Int,
  /** Documents with no text, skipped. */
  empty: Schema.Int,
  chunksWritten: Schema.Int,
  chunksDeleted: Schema.Int,
  /** Files passed over, and why (`Ingest.SkippedFile`); their indexed version, if any, is kept. */
  skipped: Schema.Array(Ingest.SkippedFile),
  durationMs: Schema.Number
})
export type IngestSummary = typeof IngestSummary.Type

/** How far an ingestion has got; reported after each document (and while files are read). */
export interface IngestProgress {
  readonly phase: "reading" | "indexing"
  /** Files (or documents) to go through in this phase. */
  readonly files: number
  readonly filesDone: number
  readonly chunksWritten: number
  readonly elapsedMs: number
}

export interface IngestOptions {
  /** Called after each file or document; must not throw. */
  readonly onProgress?: ((progress: IngestProgress) => void) | undefined
}

export interface IngestDocumentsOptions extends IngestOptions {
  /**
   * Remove the collection's documents not among those given, making the
   * collection exactly these documents. Default false: documents not given
   * are left as they are.
   */
  readonly removeMissing?: boolean | undefined
}

export interface IngestFolderOptions extends IngestOptions, Omit<Ingest.LoadOptions, "onProgress"> {
  /**
   * Rewrites each document read before it is hashed and indexed (drop
   * boilerplate, generated sections…); must not throw. Default: as read.
   */
  readonly prepare?: ((document: Chunking.Document) => Chunking.Document) | undefined
}

/** The size of a collection. */
export const IndexStats = Schema.Struct({
  collection: Schema.String,
  documents: Schema.Int,
  chunks: Schema.Int,
  /** Distinct terms in its postings. */
  terms: Schema.Int,
  /** Bumped on every change. */
  generation: Schema.Int
})
export type IndexStats = typeof IndexStats.Type

export interface SearchOptions extends QueryOptions {
  /** The most passages to return, a positive integer. Default 5. */
  readonly topK?: number | undefined
  /** Drop passages scoring below this. Default 0. */
  readonly minScore?: number | undefined
  /** Only passages of documents this filter accepts, run in SQL. */
  readonly where?: Filter.Filter | undefined
  /** The most tokens the passages may take together (see `Retriever.RetrieveOptions.tokenBudget`). */
  readonly tokenBudget?: number | undefined
  /** Related terms to score too, as `Bm25`'s search does (see `Bm25.QueryExpansion`). */
  readonly expansion?: Bm25.QueryExpansion | undefined
}

/** An open collection of the SQL index. */
export interface SqlIndex {
  readonly collection: string
  /** The options the collection is (or will be) indexed with. */
  readonly options: CollectionOptions
  /** Adds, replaces or (with `removeMissing`) removes documents; see the module doc. */
  readonly ingestDocuments: (
    documents: ReadonlyArray<Chunking.Document>,
    options?: IngestDocumentsOptions
  ) => Effect.Effect<IngestSummary, RetrievalError>
  /** Makes the collection mirror a folder (see `Ingest.readFolder`; all of `Ingest.allExtensions` by default). */
  readonly ingestFolder: (
    folder: string,
    options?: IngestFolderOptions
  ) => Effect.Effect<IngestSummary, RetrievalError, FileSystem.FileSystem | Path.Path>
  /** The BM25 passages for a query, best first (see `checkQuery` for the failures). */
  readonly search: (
    query: string,
    options?: SearchOptions
  ) => Effect.Effect<ReadonlyArray<Passage>, RetrievalError>
  readonly stats: Effect.Effect<IndexStats, RetrievalError>
  /** Removes every document of the collection, and its stored options. */
  readonly clear: Effect.Effect<void, RetrievalError>
}

/**
 * Most parameters a multi-row INSERT carries: well under SQLite's 32766 and
 * PostgreSQL's 65535, and small enough that one statement on the embedded
 * store takes a few tens of milliseconds (ingestion yields between them).
 */
const MAX_PARAMETERS = 6_000
/** A batch (one transaction) closes after this many chunks or documents. */
const BATCH_CHUNKS = 500
const BATCH_DOCUMENTS = 500

const mapSqlError =
  (operation: string) =>
  <A, R>(
    effect: Effect.Effect<A, SqlError.SqlError | RetrievalError, R>
  ): Effect.Effect<A, RetrievalError, R> =>
    Effect.catchTag(effect, "SqlError", (error) => Effect.fail(storeFailed(queryFailed(operation, error))))

const fromStoreError = <A, R>(effect: Effect.Effect<A, StoreError, R>): Effect.Effect<A, RetrievalError, R> =>
  Effect.mapError(effect, storeFailed)

const resolveCollectionOptions = (options: IndexOptions | undefined) =>
  Effect.gen(function* () {
    const chunking = yield* Chunking.resolveOptions(options?.chunking, "chunking.")
    const bm25 = yield* Bm25.resolveOptions(options?.bm25, "bm25.")
    return {
      chunking: { ...chunking },
      bm25: { k1: bm25.k1, b: bm25.b, stem: bm25.stem }
    } as CollectionOptions
  })

const decodeOptions = Schema.decodeUnknownSync(Schema.fromJsonString(CollectionOptions))
const sameOptions = Schema.toEquivalence(CollectionOptions)

/**
 * Opens a collection of the SQL index in the `SqlClient` provided, migrating
 * the retrieval tables first. With no `chunking`/`bm25` options it uses the
 * collection's stored ones (the defaults for a new collection); with options
 * that differ from the stored ones it fails with `InvalidOption`.
 */
export const make = Effect.fn("SqlIndex.make")(function* (
  options?: SqlIndexOptions
): Effect.fn.Return<SqlIndex, RetrievalError, SqlClient.SqlClient> {
  const sql = yield* SqlClient.SqlClient
  const collection = options?.collection ?? defaultCollection
  if (collection.trim().length === 0) {
    return yield* invalidOption("collection", show(collection), "a non-empty name")
  }
  yield* fromStoreError(sqlSchema.migrate)
  const requested = yield* resolveCollectionOptions(options)
  const stored = yield* sql<{
    options: string
  }>`SELECT options FROM weft_collections WHERE collection = ${collection}`.pipe(
    mapSqlError("retrieval.open")
  )
  let collectionOptions = requested
  if (stored[0] !== undefined) {
    const existing = yield* Effect.try({
      try: () => decodeOptions(stored[0]!.options),
      catch: () =>
        invalidOption("collection", show(collection), "a collection whose stored options Weft can read")
    })
    const asked = options?.chunking !== undefined || options?.bm25 !== undefined
    if (asked && !sameOptions(existing, requested)) {
      return yield* invalidOption(
        options?.chunking !== undefined ? "chunking" : "bm25",
        JSON.stringify(options?.chunking !== undefined ? requested.chunking : requested.bm25),
        `the options collection ${show(collection)} was indexed with (${JSON.stringify(existing)}); use another collection or clear it`
      )
    }
    collectionOptions = existing
  }
  return makeIndex(sql, collection, collectionOptions)
})

interface ExistingDocument {
  readonly contentHash: string
  readonly updatedAt: number | undefined
}

interface PreparedChunk {
  readonly id: string
  readonly position: number
  readonly title: string | undefined
  readonly text: string
  readonly length: number
  readonly terms: ReadonlyMap<string, number>
}

interface PreparedDocument {
  readonly document: Chunking.Document
  readonly contentHash: string
  readonly chunks: ReadonlyArray<PreparedChunk>
  readonly replaces: boolean
}

const makeIndex = (sql: SqlClient.SqlClient, collection: string, options: CollectionOptions): SqlIndex => {
  // The very analyzer the in-memory index builds with, so both index the same terms.
  const analyzer = Bm25.makeAnalyzer({ stem: options.bm25.stem as Bm25.AnalyzerOptions["stem"] })
  const chunking: Chunking.ResolvedChunkOptions = options.chunking
  const byCodeUnit = sql.onDialectOrElse({
    pg: () => sql.literal(`COLLATE "C"`),
    orElse: () => sql.literal("COLLATE BINARY")
  })

  const existingDocuments = sql<{
    source_id: string
    content_hash: string
    updated_at: number | string | null
  }>`SELECT source_id, content_hash, updated_at FROM weft_documents WHERE collection = ${collection}`.pipe(
    Effect.map(
      (rows) =>
        new Map<string, ExistingDocument>(
          rows.map((row) => [
            row.source_id,
            {
              contentHash: row.content_hash,
              updatedAt: row.updated_at === null ? undefined : Number(row.updated_at)
            }
          ])
        )
    )
  )

  const prepare = (document: Chunking.Document, contentHash: string, replaces: boolean): PreparedDocument => {
    const chunks = Chunking.chunkDocument(document, chunking).map((chunk): PreparedChunk => {
      // Indexed with its heading, as the in-memory Retriever indexes it.
      const terms = analyzer(chunk.title === undefined ? chunk.text : `${chunk.title}\n${chunk.text}`)
      const counts = new Map<string, number>()
      for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1)
      return {
        id: chunk.id,
        position: chunk.index,
        title: chunk.title,
        text: chunk.text,
        length: terms.length,
        terms: counts
      }
    })
    return { document, contentHash, chunks, replaces }
  }

  /** Inserts rows in statements small enough for either database. */
  const insertAll = (table: string, rows: ReadonlyArray<Record<string, unknown>>) => {
    if (rows.length === 0) return Effect.void
    const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / Object.keys(rows[0]!).length))
    const statements: Array<Effect.Effect<unknown, SqlError.SqlError>> = []
    for (let at = 0; at < rows.length; at += perStatement) {
      const slice = rows.slice(at, at + perStatement) as [
        Record<string, unknown>,
        ...Array<Record<string, unknown>>
      ]
      statements.push(sql`INSERT INTO ${sql(table)} ${sql.insert(slice)}`)
    }
    // Each statement runs synchronously on the embedded store: yield between them, so an interrupt lands.
    return Effect.forEach(statements, (statement) => Effect.andThen(statement, Effect.yieldNow), {
      discard: true
    })
  }

  /** Deletes the chunks and postings of these documents; returns how many chunks and how much length went. */
  const deleteChunksOf = (sourceIds: ReadonlyArray<string>) =>
    Effect.gen(function* () {
      if (sourceIds.length === 0) return { chunks: 0, length: 0 }
      const [totals] = yield* sql<{ chunks: number | string; length: number | string | null }>`
        SELECT COUNT(*) AS chunks, SUM(length) AS length FROM weft_chunks
        WHERE collection = ${collection} AND source_id IN ${sql.in(sourceIds)}`
      yield* sql`DELETE FROM weft_postings WHERE collection = ${collection} AND chunk_id IN (
        SELECT id FROM weft_chunks WHERE collection = ${collection} AND source_id IN ${sql.in(sourceIds)})`
      yield* sql`DELETE FROM weft_chunks WHERE collection = ${collection} AND source_id IN ${sql.in(sourceIds)}`
      return { chunks: Number(totals?.chunks ?? 0), length: Number(totals?.length ?? 0) }
    })

  /** Moves the collection's counters by a delta and bumps its generation, creating its row if needed. */
  const bumpCollection = (chunkDelta: number, lengthDelta: number) =>
    sql`INSERT INTO weft_collections (collection, chunk_count, total_length, generation, options)
      VALUES (${collection}, ${Math.max(0, chunkDelta)}, ${Math.max(0, lengthDelta)}, 1, ${JSON.stringify(options)})
      ON CONFLICT (collection) DO UPDATE SET
        chunk_count = weft_collections.chunk_count + ${chunkDelta},
        total_length = weft_collections.total_length + ${lengthDelta},
        generation = weft_collections.generation + 1`

  /** Writes a batch of whole documents, and removes others, in one transaction. */
  const writeBatch = (
    batch: ReadonlyArray<PreparedDocument>,
    removals: ReadonlyArray<string>,
    touched: ReadonlyArray<Chunking.Document>
  ) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const replaced = batch
          .filter((prepared) => prepared.replaces)
          .map((prepared) => prepared.document.sourceId)
        const outgoing = [...replaced, ...removals]
        const gone = yield* deleteChunksOf(outgoing)
        if (outgoing.length > 0) {
          yield* sql`DELETE FROM weft_documents WHERE collection = ${collection} AND source_id IN ${sql.in(outgoing)}`
        }
        const documentRows: Array<Record<string, unknown>> = []
        const chunkRows: Array<Record<string, unknown>> = []
        const postingRows: Array<Record<string, unknown>> = []
        let chunks = 0
        let length = 0
        for (const { document, contentHash, chunks: prepared } of batch) {
          documentRows.push({
            collection,
            source_id: document.sourceId,
            title: document.title ?? null,
            updated_at: document.updatedAt ?? null,
            tags: JSON.stringify(document.tags ?? []),
            metadata: document.metadata === undefined ? null : JSON.stringify(document.metadata),
            content_hash: contentHash,
            chunk_count: prepared.length
          })
          for (const chunk of prepared) {
            chunks += 1
            length += chunk.length
            chunkRows.push({
              collection,
              id: chunk.id,
              source_id: document.sourceId,
              position: chunk.position,
              title: chunk.title ?? null,
              text: chunk.text,
              length: chunk.length
            })
            for (const [term, tf] of chunk.terms)
              postingRows.push({ collection, term, chunk_id: chunk.id, tf })
          }
        }
        yield* insertAll("weft_documents", documentRows)
        yield* insertAll("weft_chunks", chunkRows)
        yield* insertAll("weft_postings", postingRows)
        for (const document of touched) {
          yield* sql`UPDATE weft_documents SET updated_at = ${document.updatedAt ?? null}
            WHERE collection = ${collection} AND source_id = ${document.sourceId}`
        }
        yield* bumpCollection(chunks - gone.chunks, length - gone.length)
        return { chunksWritten: chunks, chunksDeleted: gone.chunks }
      })
    )

  /**
   * The ingestion core: `documents` are the ones present now; `isRemovable`
   * says which indexed documents not among them should go.
   */
  const ingest = (
    documents: ReadonlyArray<Chunking.Document>,
    isRemovable: (sourceId: string) => boolean,
    meta: {
      readonly files: number
      readonly skipped: ReadonlyArray<Ingest.SkippedFile>
      readonly startedAt: number
    },
    onProgress: ((progress: IngestProgress) => void) | undefined
  ) =>
    Effect.gen(function* () {
      const seen = new Set<string>()
      for (const document of documents) {
        if (seen.has(document.sourceId))
          return yield* fail(new DuplicateSource({ sourceId: document.sourceId }))
        seen.add(document.sourceId)
      }
      yield* warm
      const existing = yield* existingDocuments
      const summary = {
        added: 0,
        changed: 0,
        unchanged: 0,
        deleted: 0,
        empty: 0,
        chunksWritten: 0,
        chunksDeleted: 0
      }
      let batch: Array<PreparedDocument> = []
      let removals: Array<string> = []
      let touched: Array<Chunking.Document> = []
      let batchChunks = 0
      const flush = Effect.gen(function* () {
        if (batch.length === 0 && removals.length === 0 && touched.length === 0) return
        const written = yield* writeBatch(batch, removals, touched)
        summary.chunksWritten += written.chunksWritten
        summary.chunksDeleted += written.chunksDeleted
        batch = []
        removals = []
        touched = []
        batchChunks = 0
      })
      let done = 0
      const report = Effect.gen(function* () {
        if (onProgress === undefined) return
        const now = yield* Clock.currentTimeMillis
        onProgress({
          phase: "indexing",
          files: documents.length,
          filesDone: done,
          chunksWritten: summary.chunksWritten + batchChunks,
          elapsedMs: now - meta.startedAt
        })
      })
      for (const document of documents) {
        const previous = existing.get(document.sourceId)
        if (document.text.trim().length === 0) {
          summary.empty += 1
          // A document emptied since it was indexed leaves the index.
          if (previous !== undefined) {
            removals.push(document.sourceId)
            summary.deleted += 1
          }
        } else {
          const contentHash = Ingest.contentHash(document)
          if (previous !== undefined && previous.contentHash === contentHash) {
            if (previous.updatedAt === document.updatedAt) summary.unchanged += 1
            else {
              touched.push(document)
              summary.changed += 1
            }
          } else {
            const prepared = prepare(document, contentHash, previous !== undefined)
            batch.push(prepared)
            batchChunks += prepared.chunks.length
            if (previous === undefined) summary.added += 1
            else summary.changed += 1
          }
        }
        done += 1
        if (
          batchChunks >= BATCH_CHUNKS ||
          batch.length + removals.length + touched.length >= BATCH_DOCUMENTS
        ) {
          yield* flush
        }
        yield* report
        // Between documents: an interrupt lands here, after the last committed batch.
        yield* Effect.yieldNow
      }
      for (const sourceId of existing.keys()) {
        if (!seen.has(sourceId) && isRemovable(sourceId)) {
          removals.push(sourceId)
          summary.deleted += 1
          if (removals.length >= BATCH_DOCUMENTS) yield* flush
        }
      }
      yield* flush
      const finishedAt = yield* Clock.currentTimeMillis
      return {
        collection,
        files: meta.files,
        documents: documents.length,
        ...summary,
        skipped: meta.skipped,
        durationMs: finishedAt - meta.startedAt
      } satisfies IngestSummary
    }).pipe(mapSqlError("retrieval.ingest"))

  const ingestDocuments = (
    documents: ReadonlyArray<Chunking.Document>,
    ingestOptions?: IngestDocumentsOptions
  ) =>
    Effect.gen(function* () {
      const startedAt = yield* Clock.currentTimeMillis
      const removeMissing = ingestOptions?.removeMissing === true
      return yield* ingest(
        documents,
        () => removeMissing,
        { files: documents.length, skipped: [], startedAt },
        ingestOptions?.onProgress
      )
    }).pipe(Effect.withSpan("SqlIndex.ingestDocuments"))

  const ingestFolder = (folder: string, ingestOptions?: IngestFolderOptions) =>
    Effect.gen(function* () {
      const clock = yield* Clock.Clock
      const startedAt = clock.currentTimeMillisUnsafe()
      const onProgress = ingestOptions?.onProgress
      const contents = yield* Ingest.readFolder(folder, {
        ...ingestOptions,
        extensions: ingestOptions?.extensions ?? Ingest.allExtensions,
        onProgress:
          onProgress &&
          ((progress) =>
            onProgress({
              phase: "reading",
              files: progress.files,
              filesDone: progress.read,
              chunksWritten: 0,
              elapsedMs: clock.currentTimeMillisUnsafe() - startedAt
            }))
      })
      // Files there, none of them readable: fail, as `Ingest.loadFolder` does, and keep the index.
      if (contents.files.length > 0 && contents.documents.length === 0 && contents.skipped.length > 0) {
        return yield* fail(Ingest.nothingReadable(folder, contents.skipped))
      }
      // A file (or subfolder) that could not be read keeps its indexed documents.
      const kept = contents.skipped.map((file) => file.sourceId)
      const isKept = (sourceId: string) =>
        kept.some((file) =>
          file.endsWith("/")
            ? sourceId.startsWith(file)
            : sourceId === file || sourceId.startsWith(`${file}${Ingest.recordSeparator}`)
        )
      const prepare = ingestOptions?.prepare
      return yield* ingest(
        prepare === undefined ? contents.documents : contents.documents.map(prepare),
        (sourceId) => !isKept(sourceId),
        { files: contents.files.length, skipped: contents.skipped, startedAt },
        onProgress
      )
    }).pipe(Effect.withSpan("SqlIndex.ingestFolder", { attributes: { folder } }))

  const search = (query: string, searchOptions?: SearchOptions) =>
    Effect.gen(function* () {
      const { topK, minScore, where, tokenBudget } = yield* checkQuery(query, searchOptions)
      const [row] = yield* sql<{ chunk_count: number | string; total_length: number | string }>`
        SELECT chunk_count, total_length FROM weft_collections WHERE collection = ${collection}`
      const size = Number(row?.chunk_count ?? 0)
      if (size === 0) return []
      const averageLength = Number(row!.total_length) / size
      // Each occurrence of a term in the query counts, as in Bm25 (and Lucene);
      // each related term not in the query counts once, at the expansion's weight.
      const occurrences = new Map<string, number>()
      const tokens = analyzer(query)
      for (const term of tokens) occurrences.set(term, (occurrences.get(term) ?? 0) + 1)
      const expansion = searchOptions?.expansion
      if (expansion !== undefined && expansion.weight > 0) {
        for (const token of new Set(tokens)) {
          for (const related of expansion.related(token)) {
            if (!occurrences.has(related)) occurrences.set(related, expansion.weight)
          }
        }
      }
      if (occurrences.size === 0) return []
      const terms = [...occurrences.keys()]
      const frequencies = yield* sql<{ term: string; df: number | string }>`
        SELECT term, COUNT(*) AS df FROM weft_postings
        WHERE collection = ${collection} AND term IN ${sql.in(terms)} GROUP BY term`
      if (frequencies.length === 0) return []
      const { k1, b } = options.bm25
      const real = (value: number) => sql`CAST(${value} AS DOUBLE PRECISION)`
      // weight(term) = idf · (k1 + 1) · occurrences, idf as Bm25's: ln(1 + (N − df + 0.5) / (df + 0.5)).
      const weights = sql.join(
        " ",
        false
      )(
        frequencies.map(({ term, df }) => {
          const n = Number(df)
          const idf = Math.log(1 + (size - n + 0.5) / (n + 0.5))
          return sql`WHEN ${term} THEN ${real(idf * (k1 + 1) * occurrences.get(term)!)}`
        })
      )
      const norm =
        averageLength === 0
          ? real(k1 * (1 - b))
          : sql`(${real(k1 * (1 - b))} + ${real((k1 * b) / averageLength)} * c.length)`
      const filter = where === undefined ? sql.literal("1=1") : Filter.toSql(sql, where)
      const documents =
        where === undefined
          ? sql.literal("")
          : sql`JOIN weft_documents d ON d.collection = c.collection AND d.source_id = c.source_id`
      // SQLite would walk the postings by chunk (weft_postings_chunk) to save the GROUP BY a sort,
      // reading every posting of the collection; grouping by an expression keeps it on the term index.
      const groupByChunk = sql.onDialectOrElse({
        sqlite: () => sql.literal("+p.chunk_id"),
        orElse: () => sql.literal("p.chunk_id")
      })
      const rounded = sql.onDialectOrElse({
        pg: () => sql`ROUND(CAST(s.score AS NUMERIC), 9)`,
        orElse: () => sql`ROUND(s.score, 9)`
      })
      // First the top K (id, score), touching only the postings of the query's terms…
      const top = yield* sql<{ id: string; score: number | string }>`
        SELECT s.id, s.score FROM (
          SELECT p.chunk_id AS id, MIN(c.source_id) AS source_id, MIN(c.position) AS position,
            SUM((CASE p.term ${weights} END) * p.tf / (p.tf + ${norm})) AS score
          FROM weft_postings p
          JOIN weft_chunks c ON c.collection = p.collection AND c.id = p.chunk_id
          ${documents}
          WHERE p.collection = ${collection} AND p.term IN ${sql.in(frequencies.map((f) => f.term))} AND ${filter}
          GROUP BY ${groupByChunk}
        ) s
        WHERE s.score >= ${real(minScore)}
        ORDER BY ${rounded} DESC, s.source_id ${byCodeUnit} ASC, s.position ASC
        LIMIT ${topK}`
      if (top.length === 0) return []
      // …then their text and their documents' metadata.
      const rows = yield* sql<{
        id: string
        source_id: string
        title: string | null
        text: string
        document_title: string | null
        updated_at: number | string | null
        tags: string
        metadata: string | null
      }>`
        SELECT c.id, c.source_id, c.title, c.text,
          d.title AS document_title, d.updated_at, d.tags, d.metadata
        FROM weft_chunks c
        JOIN weft_documents d ON d.collection = c.collection AND d.source_id = c.source_id
        WHERE c.collection = ${collection} AND c.id IN ${sql.in(top.map((hit) => hit.id))}`
      const byId = new Map(rows.map((row) => [row.id, row]))
      const passages = top.flatMap((hit): Array<Passage> => {
        const row = byId.get(hit.id)
        // Gone between the two reads (a concurrent ingestion): left out.
        if (row === undefined) return []
        const tags = parseTags(row.tags)
        const passage: Passage = {
          id: row.id,
          sourceId: row.source_id,
          ...(row.title === null ? {} : { title: row.title }),
          text: row.text,
          score: Number(hit.score),
          ...(row.document_title === null ? {} : { documentTitle: row.document_title }),
          ...(row.updated_at === null ? {} : { updatedAt: Number(row.updated_at) }),
          ...(tags.length === 0 ? {} : { tags }),
          ...(row.metadata === null ? {} : { metadata: JSON.parse(row.metadata) as Chunking.Metadata })
        }
        return [passage]
      })
      return fitBudget(passages, tokenBudget)
    }).pipe(mapSqlError("retrieval.search"), Effect.withSpan("SqlIndex.search"))

  const stats = Effect.gen(function* () {
    const [counts] = yield* sql<{
      documents: number | string
      chunks: number | string
      generation: number | string | null
    }>`SELECT
        (SELECT COUNT(*) FROM weft_documents WHERE collection = ${collection}) AS documents,
        (SELECT COUNT(*) FROM weft_chunks WHERE collection = ${collection}) AS chunks,
        (SELECT generation FROM weft_collections WHERE collection = ${collection}) AS generation`
    const [terms] = yield* sql<{ terms: number | string }>`
      SELECT COUNT(*) AS terms FROM (SELECT DISTINCT term FROM weft_postings WHERE collection = ${collection}) t`
    return {
      collection,
      documents: Number(counts?.documents ?? 0),
      chunks: Number(counts?.chunks ?? 0),
      terms: Number(terms?.terms ?? 0),
      generation: Number(counts?.generation ?? 0)
    } satisfies IndexStats
  }).pipe(mapSqlError("retrieval.stats"))

  const clear = sql
    .withTransaction(
      Effect.gen(function* () {
        yield* sql`DELETE FROM weft_postings WHERE collection = ${collection}`
        yield* sql`DELETE FROM weft_chunks WHERE collection = ${collection}`
        yield* sql`DELETE FROM weft_documents WHERE collection = ${collection}`
        yield* sql`DELETE FROM weft_collections WHERE collection = ${collection}`
      })
    )
    .pipe(mapSqlError("retrieval.clear"))

  return { collection, options, ingestDocuments, ingestFolder, search, stats, clear }
}

const parseTags = (json: string): Array<string> => {
  try {
    const parsed: unknown = JSON.parse(json)
    return Array.isArray(parsed) ? parsed.filter((tag): tag is string => typeof tag === "string") : []
  } catch {
    return []
  }
}

// ---------------------------------------------------------------------------
// One-call helpers: open the collection and run one operation

/** Ingests documents into a collection (see `SqlIndex.ingestDocuments`). */
export const ingestDocuments = (
  documents: ReadonlyArray<Chunking.Document>,
  options?: SqlIndexOptions & IngestDocumentsOptions
): Effect.Effect<IngestSummary, RetrievalError, SqlClient.SqlClient> =>
  Effect.flatMap(make(options), (index) => index.ingestDocuments(documents, options))

/** Makes a collection mirror a folder (see `SqlIndex.ingestFolder`). */
export const ingestFolder = (
  folder: string,
  options?: SqlIndexOptions & IngestFolderOptions
): Effect.Effect<IngestSummary, RetrievalError, SqlClient.SqlClient | FileSystem.FileSystem | Path.Path> =>
  Effect.flatMap(make(options), (index) => index.ingestFolder(folder, options))

/** Searches a collection (see `SqlIndex.search`). */
export const search = (
  query: string,
  options?: SearchOptions & { readonly collection?: string | undefined }
): Effect.Effect<ReadonlyArray<Passage>, RetrievalError, SqlClient.SqlClient> =>
  Effect.flatMap(make({ collection: options?.collection }), (index) => index.search(query, options))

/** A collection's size (see `SqlIndex.stats`). */
export const stats = (options?: {
  readonly collection?: string | undefined
}): Effect.Effect<IndexStats, RetrievalError, SqlClient.SqlClient> =>
  Effect.flatMap(make({ collection: options?.collection }), (index) => index.stats)
