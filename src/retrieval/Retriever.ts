/**
 * The Retriever service: finds the passages of a corpus most relevant to a
 * query, for a workflow to put into a prompt.
 *
 * A corpus (documents given in memory, or a folder read through `Ingest`) is
 * chunked once (`Chunking`) and indexed in memory with BM25 (`Bm25`); each
 * chunk is indexed with its heading, so a section's title counts toward its
 * passages. Build it with `fromDocuments` / `fromFolder`, or provide it with
 * `layerDocuments` / `layerFolder`, then call `retrieve(query)` from anywhere
 * the service is provided. Building yields to the scheduler as it goes, so a
 * large corpus can be interrupted while it is chunked and indexed; a program
 * that starts often can keep the built index in a file (the `cache` option).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Retriever from "./Retriever.ts"
 *
 * const program = Retriever.retrieve("how are budgets checked?", { topK: 3 }).pipe(
 *   Effect.provide(Retriever.layerDocuments([{ sourceId: "budget.md", text: "Budgets are checked before each call." }]))
 * )
 * ```
 */
import { Context, Effect, type FileSystem, Layer, type Path, Schema } from "effect"
import type { SqlClient } from "effect/sql"
import * as Bm25 from "./Bm25.ts"
import * as Chunking from "./Chunking.ts"
import * as Filter from "./Filter.ts"
import * as Ingest from "./Ingest.ts"
import * as IndexCache from "./internal/indexCache.ts"
import { checkQuery, expansionOf, fitBudget, sqlExpansionOf } from "./internal/query.ts"
import { DuplicateSource, EmptyCorpus, FilterFailed, fail, type RetrievalError } from "./RetrievalError.ts"

/**
 * A retrieved chunk with its score (BM25: higher is more relevant; not
 * comparable across corpora), and its document's metadata when it has any.
 */
export const Passage = Schema.Struct({
  /** The chunk id, `${sourceId}#${index}`. */
  id: Schema.String,
  /** The document the passage is from, e.g. `guides/budget.md`. */
  sourceId: Schema.String,
  /** The nearest markdown heading above the passage, if any. */
  title: Schema.optionalKey(Schema.String),
  text: Schema.String,
  score: Schema.Number,
  /** The document's title, if it has one. */
  documentTitle: Schema.optionalKey(Schema.String),
  /** When the document last changed, epoch ms, if known. */
  updatedAt: Schema.optionalKey(Schema.Int),
  /** The document's tags, if it has any. */
  tags: Schema.optionalKey(Schema.Array(Schema.String)),
  /** The document's free-form metadata, if any. */
  metadata: Schema.optionalKey(Chunking.Metadata)
})
export interface Passage extends Schema.Schema.Type<typeof Passage> {}

export interface RetrieveOptions {
  /** The most passages to return, a positive integer. Default 5. */
  readonly topK?: number | undefined
  /** Drop passages scoring below this. Default 0 (every passage sharing a term with the query). */
  readonly minScore?: number | undefined
  /**
   * Keep only passages of documents this filter accepts (see `Filter`):
   * data, not a closure, so the SQL index runs it in SQL. Applied before
   * `topK`, as `filter`.
   */
  readonly where?: Filter.Filter | undefined
  /**
   * Keep only passages this accepts; applied before `topK`, so up to `topK`
   * accepted passages return. If it throws, `retrieve` fails with
   * `FilterFailed` and the index is unaffected. In-memory Retrievers only:
   * the SQL one (`layerSql`) fails with `InvalidOption` (use `where`).
   */
  readonly filter?: ((passage: Passage) => boolean) | undefined
  /**
   * The most tokens (`Tokens.countText` of each passage's heading and text)
   * the passages returned may take together: passages are added best first
   * and the first one that would pass the budget ends the list. A query that
   * alone takes more than the budget fails with `QueryTooLong`. Default none.
   */
  readonly tokenBudget?: number | undefined
  /**
   * Query expansion: index terms (lowercased, stemmed as BM25 stems) that may
   * stand for one of the query's terms, e.g. `synonymsOf` from `text/Synonyms`.
   * Each related term not in the query scores once, times `expandWeight`, so
   * passages naming the query's own words rank first. Default none.
   */
  readonly expand?: ((term: string) => Iterable<string>) | undefined
  /** What a related term counts for next to the query's own terms, 0 to 1. Default 0.5. */
  readonly expandWeight?: number | undefined
}

export interface RetrieverOptions {
  readonly chunking?: Chunking.ChunkOptions | undefined
  readonly bm25?: Bm25.Bm25Options | undefined
  /**
   * Called every few milliseconds while documents are chunked and indexed,
   * and once at the end of each phase (for a progress display); must not throw.
   * An index read from `cache` reports once, as phase `"cached"`.
   */
  readonly onIndexProgress?: ((progress: IndexProgress) => void) | undefined
  /**
   * A file to keep the built index in (its chunks and BM25 postings), so
   * building again over the same documents reads it back instead of chunking
   * and analysing every text: for a program that starts often over a corpus
   * that rarely changes. It is used only when it was written for the same
   * documents (source ids and texts, in order), options and index format;
   * otherwise, or when it is missing or damaged, the index is built and the
   * file replaced (written whole, then renamed into place). A file that
   * cannot be written is logged as a warning, and the index is used anyway.
   * Reading and writing it is one synchronous step (≈ 75 ms for a million
   * characters of text), which an interrupt cannot cut short: for corpora
   * of a few million characters at most (larger ones: `SqlIndex`).
   * Default none: nothing is kept.
   */
  readonly cache?: string | undefined
}

/** How far indexing has got: documents chunked so far, then chunks indexed so far. */
export interface IndexProgress {
  /** `"cached"`: the whole index was read from `RetrieverOptions.cache`. */
  readonly phase: "chunking" | "indexing" | "cached"
  readonly documents: number
  readonly documentsDone: number
  /** Chunks made so far (while chunking), or in all (while indexing). */
  readonly chunks: number
  /** Chunks indexed so far (0 while chunking). */
  readonly chunksIndexed: number
}

export interface FolderOptions extends RetrieverOptions, Ingest.LoadOptions {}

/** How much a Retriever holds. */
export interface IndexSize {
  readonly documents: number
  readonly chunks: number
}

export { defaultExpandWeight, defaultTopK } from "./internal/query.ts"

export class Retriever extends Context.Service<
  Retriever,
  {
    /**
     * The passages most relevant to `query`, best first. Fails with
     * `EmptyQuery` for a blank query, `InvalidOption` for a bad `topK`,
     * `minScore`, `where`, `tokenBudget` or `expandWeight`, `QueryTooLong`
     * when the query passes `tokenBudget`, and `FilterFailed` when `filter`
     * throws; a query sharing no term with the corpus returns no passages.
     */
    readonly retrieve: (
      query: string,
      options?: RetrieveOptions
    ) => Effect.Effect<ReadonlyArray<Passage>, RetrievalError>
    readonly size: IndexSize
  }
>()("weft/retrieval/Retriever") {}

/**
 * Chunks and indexes documents in memory, yielding as it goes. Fails with
 * `EmptyCorpus` when they hold no text, `DuplicateSource` when two share a
 * `sourceId` and `InvalidOption` for bad chunking or BM25 options.
 */
export const fromDocuments = Effect.fn("Retriever.fromDocuments")(function* (
  documents: ReadonlyArray<Chunking.Document>,
  options?: RetrieverOptions
): Effect.fn.Return<Retriever["Service"], RetrievalError> {
  const chunking = yield* Chunking.resolveOptions(options?.chunking, "chunking.")
  const bm25 = yield* Bm25.resolveOptions(options?.bm25, "bm25.")
  const sourceIds = new Set<string>()
  for (const doc of documents) {
    if (sourceIds.has(doc.sourceId)) return yield* fail(new DuplicateSource({ sourceId: doc.sourceId }))
    sourceIds.add(doc.sourceId)
  }
  const onProgress = options?.onIndexProgress
  // Where the index is kept, and the key of the one these documents and options make.
  const kept =
    options?.cache === undefined
      ? undefined
      : { path: options.cache, key: IndexCache.keyOf(documents, chunking, bm25) }
  const cached = kept === undefined ? undefined : IndexCache.read(kept.path, kept.key)
  if (cached !== undefined) {
    onProgress?.({
      phase: "cached",
      documents: documents.length,
      documentsDone: documents.length,
      chunks: cached.chunks.length,
      chunksIndexed: cached.chunks.length
    })
    return retrieverOf(documents, cached.chunks, cached.index)
  }
  const chunks = yield* Chunking.chunkDocuments(
    documents,
    chunking,
    onProgress &&
      ((documentsDone, made) =>
        onProgress({
          phase: "chunking",
          documents: documents.length,
          documentsDone,
          chunks: made,
          chunksIndexed: 0
        }))
  )
  if (chunks.length === 0) {
    return yield* fail(
      new EmptyCorpus({
        description:
          documents.length === 0
            ? "There are no documents to index."
            : `The ${documents.length} document(s) given hold no text to index.`
      })
    )
  }
  const index = yield* Bm25.make(
    chunks.map((chunk) => (chunk.title === undefined ? chunk.text : `${chunk.title}\n${chunk.text}`)),
    bm25,
    onProgress &&
      ((chunksIndexed) =>
        onProgress({
          phase: "indexing",
          documents: documents.length,
          documentsDone: documents.length,
          chunks: chunks.length,
          chunksIndexed
        }))
  )
  if (kept !== undefined) {
    const failure = IndexCache.write(kept.path, kept.key, { chunks, index })
    if (failure !== undefined) {
      yield* Effect.logWarning(`Retriever: the index could not be kept in ${kept.path}: ${String(failure)}`)
    }
  }
  return retrieverOf(documents, chunks, index)
})

const retrieverOf = (
  documents: ReadonlyArray<Chunking.Document>,
  chunks: ReadonlyArray<Chunking.Chunk>,
  index: Bm25.Bm25Index
): Retriever["Service"] => {
  const size: IndexSize = {
    documents: new Set(chunks.map((chunk) => chunk.sourceId)).size,
    chunks: chunks.length
  }
  const documentsById = new Map(documents.map((document) => [document.sourceId, document]))
  return Retriever.of({ retrieve: makeRetrieve(chunks, documentsById, index), size })
}

/** A layer holding a Retriever over the given documents (see `fromDocuments`). */
export const layerDocuments = (
  documents: ReadonlyArray<Chunking.Document>,
  options?: RetrieverOptions
): Layer.Layer<Retriever, RetrievalError> => Layer.effect(Retriever, fromDocuments(documents, options))

/** Reads a folder (see `Ingest.loadFolder`) and indexes its files (see `fromDocuments`). */
export const fromFolder = Effect.fn("Retriever.fromFolder")(function* (
  folder: string,
  options?: FolderOptions
): Effect.fn.Return<Retriever["Service"], RetrievalError, FileSystem.FileSystem | Path.Path> {
  const documents = yield* Ingest.loadFolder(folder, options)
  return yield* fromDocuments(documents, options).pipe(
    Effect.mapError((error) =>
      error.reason._tag === "EmptyCorpus"
        ? fail(
            new EmptyCorpus({ description: `The files in ${folder} hold no text to index.`, path: folder })
          )
        : error
    )
  )
})

/** A layer holding a Retriever over the files of a folder (see `fromFolder`). */
export const layerFolder = (
  folder: string,
  options?: FolderOptions
): Layer.Layer<Retriever, RetrievalError, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(Retriever, fromFolder(folder, options))

/** The passages most relevant to `query`, from the Retriever in context. */
export const retrieve = (
  query: string,
  options?: RetrieveOptions
): Effect.Effect<ReadonlyArray<Passage>, RetrievalError, Retriever> =>
  Retriever.use((retriever) => retriever.retrieve(query, options))

/** The size of the Retriever in context. */
export const indexSize: Effect.Effect<IndexSize, never, Retriever> = Retriever.useSync(
  (retriever) => retriever.size
)

const makeRetrieve = (
  chunks: ReadonlyArray<Chunking.Chunk>,
  documents: ReadonlyMap<string, Chunking.Document>,
  index: Bm25.Bm25Index
) =>
  Effect.fn("Retriever.retrieve")(function* (
    query: string,
    options?: RetrieveOptions
  ): Effect.fn.Return<ReadonlyArray<Passage>, RetrievalError> {
    const { topK, minScore, where, tokenBudget } = yield* checkQuery(query, options)
    const expansion = yield* expansionOf(options)
    const passageOf = (doc: number, score: number) => {
      const chunk = chunks[doc]!
      return toPassage(chunk, documents.get(chunk.sourceId), score)
    }
    const filter = options?.filter
    if (filter === undefined && where === undefined && minScore <= 0) {
      return fitBudget(
        index.search(query, topK, undefined, expansion).map((hit) => passageOf(hit.doc, hit.score)),
        tokenBudget
      )
    }
    // A document's verdict, asked once per query.
    const wherePredicate = where === undefined ? undefined : Filter.toPredicate(where)
    const verdicts = new Map<string, boolean>()
    const acceptsDocument = (sourceId: string): boolean => {
      if (wherePredicate === undefined) return true
      let verdict = verdicts.get(sourceId)
      if (verdict === undefined) {
        const document = documents.get(sourceId)
        verdict = wherePredicate({ sourceId, tags: document?.tags, updatedAt: document?.updatedAt })
        verdicts.set(sourceId, verdict)
      }
      return verdict
    }
    // Passages the filter has seen, so a hit that passes is not built twice.
    const built = new Map<number, Passage>()
    // A filter that throws ends the query: the rest of the candidates are declined unasked.
    let failure: FilterFailed | undefined
    const accept = (doc: number, score: number): boolean => {
      if (failure !== undefined || score < minScore) return false
      if (!acceptsDocument(chunks[doc]!.sourceId)) return false
      if (filter === undefined) return true
      const passage = passageOf(doc, score)
      built.set(doc, passage)
      try {
        return filter(passage)
      } catch (cause) {
        failure = new FilterFailed({ passageId: passage.id, cause })
        return false
      }
    }
    const hits = index.search(query, topK, accept, expansion)
    if (failure !== undefined) return yield* fail(failure)
    return fitBudget(
      hits.map((hit) => built.get(hit.doc) ?? passageOf(hit.doc, hit.score)),
      tokenBudget
    )
  })

/** A chunk as a passage, with its document's metadata where there is some. */
export const toPassage = (
  chunk: Chunking.Chunk,
  document: Chunking.Document | undefined,
  score: number
): Passage => ({
  id: chunk.id,
  sourceId: chunk.sourceId,
  ...(chunk.title === undefined ? {} : { title: chunk.title }),
  text: chunk.text,
  score,
  ...(document?.title === undefined ? {} : { documentTitle: document.title }),
  ...(document?.updatedAt === undefined ? {} : { updatedAt: document.updatedAt }),
  ...(document?.tags === undefined || document.tags.length === 0 ? {} : { tags: document.tags }),
  ...(document?.metadata === undefined ? {} : { metadata: document.metadata })
})

// ---------------------------------------------------------------------------
// On the SQL index

export interface SqlOptions {
  /** The collection to search. Default `SqlIndex.defaultCollection`. */
  readonly collection?: string | undefined
}

/**
 * A Retriever over the persistent SQL index (see `SqlIndex`) in the
 * `SqlClient` provided — embedded SQLite or PostgreSQL — so every user of the
 * `Retriever` service runs on it unchanged. Building the layer migrates the
 * retrieval tables; `size` is the collection's size at that moment. `retrieve`
 * honours `topK`, `minScore`, `where`, `tokenBudget` and `expand` (scored in
 * SQL as in memory); `filter`, a closure, cannot run in SQL and fails with
 * `InvalidOption` (give a `Filter` as `where`).
 */
export const layerSql = (options?: SqlOptions): Layer.Layer<Retriever, RetrievalError, SqlClient.SqlClient> =>
  Layer.effect(
    Retriever,
    Effect.gen(function* () {
      // Loaded on demand: a program that keeps its index in memory never loads the SQL side.
      const SqlIndex = yield* Effect.promise(() => import("./SqlIndex.ts"))
      const index = yield* SqlIndex.make(options)
      const stats = yield* index.stats
      const retrieve = (query: string, retrieveOptions?: RetrieveOptions) =>
        Effect.flatMap(sqlExpansionOf(retrieveOptions), (expansion) =>
          index.search(query, expansion === undefined ? retrieveOptions : { ...retrieveOptions, expansion })
        )
      return Retriever.of({ retrieve, size: { documents: stats.documents, chunks: stats.chunks } })
    })
  )
