/**
 * The Retriever service: finds the passages of a corpus most relevant to a
 * query, for a workflow to put into a prompt.
 *
 * A corpus (documents given in memory, or a folder read through `Ingest`) is
 * chunked once (`Chunking`) and indexed in memory with BM25 (`Bm25`); each
 * chunk is indexed with its heading, so a section's title counts toward its
 * passages. Build it with `Retriever.fromDocuments`, or provide it with
 * `Retriever.layerDocuments` / `Retriever.layerFolder`, then call
 * `retrieve(query)` from anywhere the service is provided.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Retriever, retrieve } from "./Retriever.ts"
 *
 * const program = retrieve("how are budgets checked?", { topK: 3 }).pipe(
 *   Effect.provide(Retriever.layerDocuments([{ sourceId: "budget.md", text: "Budgets are checked before each call." }]))
 * )
 * ```
 */
import { Context, Effect, type FileSystem, Layer, type Path } from "effect"
import * as Bm25 from "./Bm25.ts"
import * as Chunking from "./Chunking.ts"
import * as Ingest from "./Ingest.ts"
import { RetrievalError } from "./RetrievalError.ts"

/** A retrieved chunk with its BM25 score (higher is more relevant; not comparable across corpora). */
export interface Passage {
  /** The chunk id, `${sourceId}#${index}`. */
  readonly id: string
  /** The document the passage is from, e.g. `guides/budget.md`. */
  readonly sourceId: string
  /** The nearest markdown heading above the passage, if any. */
  readonly title?: string
  readonly text: string
  readonly score: number
}

export interface RetrieveOptions {
  /** The most passages to return, a positive integer. Default 5. */
  readonly topK?: number
  /** Drop passages scoring below this. Default 0 (every passage sharing a term with the query). */
  readonly minScore?: number
  /** Keep only passages this accepts; applied before `topK`, so up to `topK` accepted passages return. */
  readonly filter?: (passage: Passage) => boolean
}

export interface RetrieverOptions {
  readonly chunking?: Chunking.ChunkOptions
  readonly bm25?: Bm25.Bm25Options
}

export interface FolderOptions extends RetrieverOptions, Ingest.LoadOptions {}

/** How much a Retriever holds. */
export interface IndexSize {
  readonly documents: number
  readonly chunks: number
}

export const defaultTopK = 5

export class Retriever extends Context.Service<
  Retriever,
  {
    /**
     * The passages most relevant to `query`, best first. Fails with
     * `EmptyQuery` for a blank query and `InvalidOptions` for a bad `topK` or
     * `minScore`; a query sharing no term with the corpus returns no passages.
     */
    readonly retrieve: (
      query: string,
      options?: RetrieveOptions
    ) => Effect.Effect<ReadonlyArray<Passage>, RetrievalError>
    readonly size: IndexSize
  }
>()("weft/retrieval/Retriever") {
  /**
   * Chunks and indexes documents in memory. Fails with `EmptyCorpus` when
   * they hold no text and `InvalidOptions` for bad chunking or BM25 options.
   */
  static readonly fromDocuments = Effect.fn("Retriever.fromDocuments")(function* (
    documents: ReadonlyArray<Chunking.Document>,
    options?: RetrieverOptions
  ): Effect.fn.Return<Retriever["Service"], RetrievalError> {
    const chunking = yield* Chunking.resolveOptions(options?.chunking)
    const bm25 = yield* Bm25.resolveOptions(options?.bm25)
    const sourceIds = new Set<string>()
    for (const doc of documents) {
      if (sourceIds.has(doc.sourceId)) {
        return yield* new RetrievalError({
          reason: "InvalidOptions",
          message: `Two documents share the sourceId ${doc.sourceId}; chunk ids would collide.`
        })
      }
      sourceIds.add(doc.sourceId)
    }
    const chunks = documents.flatMap((doc) => Chunking.chunkDocument(doc, chunking))
    if (chunks.length === 0) {
      return yield* new RetrievalError({
        reason: "EmptyCorpus",
        message:
          documents.length === 0
            ? "There are no documents to index."
            : `The ${documents.length} document(s) given hold no text to index.`
      })
    }
    const index = Bm25.build(
      chunks.map((chunk) => (chunk.title === undefined ? chunk.text : `${chunk.title}\n${chunk.text}`)),
      bm25
    )
    const size: IndexSize = {
      documents: new Set(chunks.map((chunk) => chunk.sourceId)).size,
      chunks: chunks.length
    }
    return Retriever.of({ retrieve: makeRetrieve(chunks, index), size })
  })

  /** A layer holding a Retriever over the given documents. */
  static readonly layerDocuments = (
    documents: ReadonlyArray<Chunking.Document>,
    options?: RetrieverOptions
  ): Layer.Layer<Retriever, RetrievalError> =>
    Layer.effect(Retriever, Retriever.fromDocuments(documents, options))

  /** Reads a folder (see `Ingest.loadFolder`) and indexes its files. */
  static readonly fromFolder = Effect.fn("Retriever.fromFolder")(function* (
    folder: string,
    options?: FolderOptions
  ): Effect.fn.Return<Retriever["Service"], RetrievalError, FileSystem.FileSystem | Path.Path> {
    const documents = yield* Ingest.loadFolder(folder, options)
    return yield* Retriever.fromDocuments(documents, options).pipe(
      Effect.mapError((error) =>
        error.reason === "EmptyCorpus"
          ? new RetrievalError({
              reason: "EmptyCorpus",
              message: `The files in ${folder} hold no text to index.`,
              path: folder
            })
          : error
      )
    )
  })

  /** A layer holding a Retriever over the files of a folder (see `Ingest.loadFolder`). */
  static readonly layerFolder = (
    folder: string,
    options?: FolderOptions
  ): Layer.Layer<Retriever, RetrievalError, FileSystem.FileSystem | Path.Path> =>
    Layer.effect(Retriever, Retriever.fromFolder(folder, options))
}

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

const makeRetrieve = (chunks: ReadonlyArray<Chunking.Chunk>, index: Bm25.Bm25Index) =>
  Effect.fn("Retriever.retrieve")(function* (
    query: string,
    options?: RetrieveOptions
  ): Effect.fn.Return<ReadonlyArray<Passage>, RetrievalError> {
    if (query.trim().length === 0) {
      return yield* new RetrievalError({ reason: "EmptyQuery", message: "The query is empty." })
    }
    const topK = options?.topK ?? defaultTopK
    const minScore = options?.minScore ?? 0
    if (!Number.isInteger(topK) || topK < 1 || Number.isNaN(minScore)) {
      return yield* new RetrievalError({
        reason: "InvalidOptions",
        message: `topK must be a positive integer and minScore a number (got topK ${topK}, minScore ${minScore}).`
      })
    }
    const filter = options?.filter
    // Passages the filter has seen, so a hit that passes is not built twice.
    const built = new Map<number, Passage>()
    const hits = index.search(query, topK, (doc, score) => {
      if (score < minScore) return false
      if (filter === undefined) return true
      const passage = toPassage(chunks[doc]!, score)
      built.set(doc, passage)
      return filter(passage)
    })
    return hits.map((hit) => built.get(hit.doc) ?? toPassage(chunks[hit.doc]!, hit.score))
  })

const toPassage = (chunk: Chunking.Chunk, score: number): Passage =>
  chunk.title === undefined
    ? { id: chunk.id, sourceId: chunk.sourceId, text: chunk.text, score }
    : { id: chunk.id, sourceId: chunk.sourceId, title: chunk.title, text: chunk.text, score }
