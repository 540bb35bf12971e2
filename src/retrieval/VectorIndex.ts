/**
 * Vector search over the chunks of a corpus: exact cosine similarity between
 * a query's embedding and every chunk's, with any `effect/ai`
 * `EmbeddingModel` (the offline `LexicalEmbedding`, or OpenAI's when it is
 * configured).
 *
 * - In memory: `fromDocuments` chunks documents as the Retriever does, embeds
 *   the chunks in batches and keeps the vectors in one `Float32Array`
 *   (`VectorMatrix`); a search is one scan of it.
 * - In SQL (`layerSql`): vectors live in `weft_vectors` beside the chunks the
 *   SQL index ingested (see `internal/vectorSchema.ts`), decoupled from
 *   ingestion: `sync` embeds the chunks that have no vector for the model yet
 *   (or whose document changed since) and drops the vectors of chunks that
 *   are gone, so a sync after an unchanged ingest embeds nothing. A search
 *   reads the collection's vectors once into a `VectorMatrix`, cached per
 *   (collection, model) until the collection or its vectors change, and scans
 *   it in JS. There is no pgvector (the PostgreSQL packaged here has none);
 *   an exact scan of 10⁵ vectors of 512 floats takes tens of milliseconds.
 *
 * Filters (`where`) select documents as they do for the BM25 index: in
 * memory through `Filter.toPredicate`, in SQL through `Filter.toSql`.
 *
 * Query idf: when the model is the offline `LexicalEmbedding` (its layer puts
 * its `Embedder` in context), a query's terms are weighted by their inverse
 * document frequency in the collection, so the cosine is a tf-idf cosine;
 * stored vectors stay free of corpus statistics and never go stale. The
 * frequencies come from what each side already has: in memory, counted over
 * the chunks when the index is built; in SQL, the query terms' rows in the
 * BM25 postings (`weft_postings`) and the collection's chunk count. Turn it
 * off with `queryIdf: false`.
 */
import { Context, Effect, Layer, Option } from "effect"
import { AiError, EmbeddingModel } from "effect/ai"
import { SqlClient, type SqlError } from "effect/sql"
import { checkInteger, show } from "../core/InvalidOption.ts"
import { queryFailed, type StoreError } from "../store/StoreError.ts"
import { TopK } from "./Bm25.ts"
import * as Chunking from "./Chunking.ts"
import * as Filter from "./Filter.ts"
import * as LexicalEmbedding from "./LexicalEmbedding.ts"
import * as VectorSchema from "./internal/vectorSchema.ts"
import { DuplicateSource, EmptyQuery, fail, invalidOption, type RetrievalError } from "./RetrievalError.ts"
import { type Passage, toPassage } from "./Retriever.ts"

/** What a vector search can fail with: bad input, the model, or the store. */
export type VectorIndexError = RetrievalError | AiError.AiError | StoreError

// ---------------------------------------------------------------------------
// The matrix

/** A row of a `VectorMatrix` and its cosine similarity to the query. */
export interface VectorHit {
  readonly row: number
  readonly score: number
}

/**
 * Vectors of one length, L2-normalised, one after another in a
 * `Float32Array`: the dot product of a row and a normalised query is their
 * cosine. A zero vector stays zero (cosine 0 with everything).
 */
export class VectorMatrix {
  readonly dimensions: number
  readonly size: number
  readonly data: Float32Array

  constructor(dimensions: number, data: Float32Array) {
    this.dimensions = dimensions
    this.size = dimensions === 0 ? 0 : data.length / dimensions
    this.data = data
  }

  /** The `topK` rows most similar to `query` (best first; ties: lower row first), among those `accept` takes. */
  search(query: ArrayLike<number>, topK: number, accept?: (row: number) => boolean): Array<VectorHit> {
    const { dimensions, size, data } = this
    const k = Math.min(Math.floor(topK), size)
    if (!(k > 0) || query.length !== dimensions) return []
    const q = normalised(query)
    const heap = new TopK(k)
    for (let row = 0, offset = 0; row < size; row++, offset += dimensions) {
      let dot = 0
      for (let j = 0; j < dimensions; j++) dot += data[offset + j]! * q[j]!
      if (heap.admits(row, dot) && (accept === undefined || accept(row))) heap.push(row, dot)
    }
    return heap.sorted().map((hit) => ({ row: hit.doc, score: hit.score }))
  }
}

/** A matrix of the given vectors, each L2-normalised. Fails when their lengths differ. */
export const matrixOf = (
  vectors: ReadonlyArray<ArrayLike<number>>
): Effect.Effect<VectorMatrix, AiError.AiError> => {
  const dimensions = vectors[0]?.length ?? 0
  const data = new Float32Array(vectors.length * dimensions)
  for (let i = 0; i < vectors.length; i++) {
    const vector = vectors[i]!
    if (vector.length !== dimensions) return Effect.fail(dimensionMismatch(dimensions, vector.length))
    data.set(vector, i * dimensions)
    normaliseAt(data, i * dimensions, dimensions)
  }
  return Effect.succeed(new VectorMatrix(dimensions, data))
}

/**
 * Scales the vector at `data[at, at + dimensions)` to unit length in place;
 * a zero vector (or one holding NaN) becomes zero.
 */
const normaliseAt = (data: Float32Array, at: number, dimensions: number): void => {
  let norm = 0
  for (let j = 0; j < dimensions; j++) norm += data[at + j]! * data[at + j]!
  if (!(norm > 0)) {
    data.fill(0, at, at + dimensions)
    return
  }
  const scale = 1 / Math.sqrt(norm)
  for (let j = 0; j < dimensions; j++) data[at + j]! *= scale
}

const normalised = (vector: ArrayLike<number>): Float32Array => {
  const out = Float32Array.from(vector)
  normaliseAt(out, 0, out.length)
  return out
}

const dimensionMismatch = (expected: number, got: number): AiError.AiError =>
  AiError.make({
    module: "VectorIndex",
    method: "embed",
    reason: new AiError.InvalidOutputError({
      description: `The embedding model returned a vector of ${got} dimensions where ${expected} were expected; vectors of one model must all have the same length.`
    })
  })

// ---------------------------------------------------------------------------
// Embedding in batches

/** Texts sent to the model per call unless a caller says otherwise. */
export const defaultBatchSize = 128

export interface EmbedOptions {
  /** Texts per `embedMany` call, a positive integer. Default 128. */
  readonly batchSize?: number | undefined
  /** Called after each batch with the texts embedded so far and in all; must not throw. */
  readonly onProgress?: ((progress: EmbedProgress) => void) | undefined
}

export interface EmbedProgress {
  readonly embedded: number
  readonly total: number
}

const checkBatchSize = (batchSize: number): Effect.Effect<number, RetrievalError> => {
  const bad = checkInteger("batchSize", batchSize, 1)
  return bad === undefined ? Effect.succeed(batchSize) : Effect.fail(fail(bad))
}

/**
 * Embeds texts with the `EmbeddingModel` in context, `batchSize` at a time,
 * into a matrix whose length is that of the first vector (a later vector of
 * another length fails with `InvalidOutputError`).
 */
export const embedAll = (
  texts: ReadonlyArray<string>,
  options?: EmbedOptions
): Effect.Effect<VectorMatrix, RetrievalError | AiError.AiError, EmbeddingModel.EmbeddingModel> =>
  Effect.gen(function* () {
    const batchSize = yield* checkBatchSize(options?.batchSize ?? defaultBatchSize)
    const model = yield* EmbeddingModel.EmbeddingModel
    let dimensions = -1
    let data = new Float32Array(0)
    for (let start = 0; start < texts.length; start += batchSize) {
      const batch = texts.slice(start, start + batchSize)
      const { embeddings } = yield* model.embedMany(batch)
      for (let i = 0; i < embeddings.length; i++) {
        const vector = embeddings[i]!.vector
        if (dimensions === -1) {
          dimensions = vector.length
          data = new Float32Array(texts.length * dimensions)
        }
        if (vector.length !== dimensions)
          return yield* Effect.fail(dimensionMismatch(dimensions, vector.length))
        data.set(vector, (start + i) * dimensions)
        normaliseAt(data, (start + i) * dimensions, dimensions)
      }
      options?.onProgress?.({ embedded: start + batch.length, total: texts.length })
    }
    return new VectorMatrix(Math.max(dimensions, 0), data)
  })

/** The text a chunk is embedded as: its heading and its text, as BM25 indexes it. */
export const chunkText = (chunk: { readonly title?: string | undefined; readonly text: string }): string =>
  chunk.title === undefined || chunk.title === null ? chunk.text : `${chunk.title}\n${chunk.text}`

// ---------------------------------------------------------------------------
// In memory

/**
 * The lexical embedder to weight queries with: the `LexicalEmbedding.Embedder`
 * in context when it is behind `model` (the model in use) and `queryIdf` is
 * not `false`; otherwise none, and queries are embedded by the model as is.
 */
const queryEmbedder = (
  model: EmbeddingModel.EmbeddingModel,
  queryIdf: boolean | undefined
): Effect.Effect<LexicalEmbedding.LexicalEmbedder | undefined> =>
  Effect.map(Effect.serviceOption(LexicalEmbedding.Embedder), (found) =>
    queryIdf !== false && Option.isSome(found) && found.value.model === model
      ? found.value.embedder
      : undefined
  )

/** Distinct terms of each text, counted: how many texts hold each term. */
const documentFrequencies = (
  embedder: LexicalEmbedding.LexicalEmbedder,
  texts: ReadonlyArray<string>
): Map<string, number> => {
  const df = new Map<string, number>()
  for (const text of texts)
    for (const term of new Set(embedder.terms(text))) df.set(term, (df.get(term) ?? 0) + 1)
  return df
}

export interface SearchOptions {
  /** The most passages to return, a positive integer. Default 5. */
  readonly topK?: number | undefined
  /** Drop passages whose cosine similarity is below this (−1 to 1). Default: keep all. */
  readonly minScore?: number | undefined
  /** Keep only passages of documents this filter accepts (see `Filter`). */
  readonly where?: Filter.Filter | undefined
}

interface CheckedSearch {
  readonly topK: number
  readonly minScore: number
  readonly where: Filter.Filter | undefined
}

const checkSearch = (query: string, options?: SearchOptions): Effect.Effect<CheckedSearch, RetrievalError> =>
  Effect.gen(function* () {
    if (query.trim().length === 0) return yield* Effect.fail(fail(new EmptyQuery()))
    const topK = options?.topK ?? 5
    const badTopK = checkInteger("topK", topK, 1)
    if (badTopK !== undefined) return yield* Effect.fail(fail(badTopK))
    const minScore = options?.minScore ?? Number.NEGATIVE_INFINITY
    if (typeof minScore !== "number" || Number.isNaN(minScore)) {
      return yield* Effect.fail(invalidOption("minScore", show(minScore), "a number"))
    }
    const where = options?.where === undefined ? undefined : yield* Filter.validate(options.where)
    return { topK, minScore, where }
  })

/** Vectors of a corpus's chunks in memory, and the chunks and documents they came from. */
export interface MemoryVectorIndex {
  readonly chunks: ReadonlyArray<Chunking.Chunk>
  readonly matrix: VectorMatrix
  /** The passages whose chunks are most similar to `query`, best first; `score` is the cosine. */
  readonly search: (
    query: string,
    options?: SearchOptions
  ) => Effect.Effect<ReadonlyArray<Passage>, RetrievalError | AiError.AiError>
}

export interface MemoryOptions extends EmbedOptions {
  readonly chunking?: Chunking.ChunkOptions | undefined
  /**
   * Weight a query's terms by their idf in these chunks when the model is the
   * `LexicalEmbedding` (see the module header). Default true.
   */
  readonly queryIdf?: boolean | undefined
}

/**
 * Chunks documents as the Retriever does (same options, same chunk ids) and
 * embeds the chunks with the `EmbeddingModel` in context. Fails with
 * `DuplicateSource` when two documents share a `sourceId`.
 */
export const fromDocuments = Effect.fn("VectorIndex.fromDocuments")(function* (
  documents: ReadonlyArray<Chunking.Document>,
  options?: MemoryOptions
): Effect.fn.Return<MemoryVectorIndex, RetrievalError | AiError.AiError, EmbeddingModel.EmbeddingModel> {
  const chunking = yield* Chunking.resolveOptions(options?.chunking, "chunking.")
  const byId = new Map<string, Chunking.Document>()
  for (const document of documents) {
    if (byId.has(document.sourceId))
      return yield* Effect.fail(fail(new DuplicateSource({ sourceId: document.sourceId })))
    byId.set(document.sourceId, document)
  }
  const chunks = yield* Chunking.chunkDocuments(documents, chunking)
  const texts = chunks.map(chunkText)
  const matrix = yield* embedAll(texts, options)
  const model = yield* EmbeddingModel.EmbeddingModel
  const lexical = yield* queryEmbedder(model, options?.queryIdf)
  const df = lexical === undefined ? undefined : documentFrequencies(lexical, texts)
  const weightOf = (term: string) => LexicalEmbedding.idf(chunks.length, df?.get(term) ?? 0)
  const search = (query: string, searchOptions?: SearchOptions) =>
    Effect.gen(function* () {
      const { topK, minScore, where } = yield* checkSearch(query, searchOptions)
      const { vector } =
        lexical === undefined ? yield* model.embed(query) : { vector: lexical.embed(query, weightOf) }
      if (chunks.length > 0 && vector.length !== matrix.dimensions) {
        return yield* Effect.fail(dimensionMismatch(matrix.dimensions, vector.length))
      }
      const accepts = where === undefined ? undefined : Filter.toPredicate(where)
      const hits = matrix.search(
        vector,
        topK,
        accepts && ((row) => accepts(subjectOf(byId.get(chunks[row]!.sourceId)!)))
      )
      return hits
        .filter((hit) => hit.score >= minScore)
        .map((hit) => toPassage(chunks[hit.row]!, byId.get(chunks[hit.row]!.sourceId), hit.score))
    })
  return { chunks, matrix, search }
})

const subjectOf = (document: Chunking.Document): Filter.FilterSubject => ({
  sourceId: document.sourceId,
  tags: document.tags,
  updatedAt: document.updatedAt
})

// ---------------------------------------------------------------------------
// In SQL

export interface SyncOptions extends EmbedOptions {
  readonly collection: string
}

/** What a sync did. */
export interface SyncReport {
  /** Chunks embedded (new, or of a changed document). */
  readonly embedded: number
  /** Vectors dropped because their chunk is gone. */
  readonly deleted: number
  /** Vectors kept as they were. */
  readonly unchanged: number
  /** The length of the model's vectors (0 when the collection has none). */
  readonly dimensions: number
}

export interface SqlSearchOptions extends SearchOptions {
  readonly collection: string
}

/** A chunk id and its cosine similarity to the query, best first. */
export interface RankedChunk {
  readonly id: string
  readonly score: number
}

/** The SQL-backed vector index of one embedding model. */
export class VectorIndex extends Context.Service<
  VectorIndex,
  {
    /** The name the vectors are stored under (`weft_vectors.model`). */
    readonly model: string
    /**
     * Embeds the collection's chunks that have no vector for this model (or
     * whose document changed since) and drops the vectors of chunks that are
     * gone; a sync after an unchanged ingest embeds nothing.
     */
    readonly sync: (options: SyncOptions) => Effect.Effect<SyncReport, VectorIndexError>
    /** The chunks most similar to `query`, as chunk ids and cosines (for fusion). */
    readonly rank: (
      query: string,
      options: SqlSearchOptions
    ) => Effect.Effect<ReadonlyArray<RankedChunk>, VectorIndexError>
    /** The passages most similar to `query`, best first; `score` is the cosine. */
    readonly search: (
      query: string,
      options: SqlSearchOptions
    ) => Effect.Effect<ReadonlyArray<Passage>, VectorIndexError>
    /** How many vectors the collection holds for this model. */
    readonly count: (collection: string) => Effect.Effect<number, StoreError>
  }
>()("weft/retrieval/VectorIndex") {}

export interface SqlOptions {
  /**
   * The name the model's vectors are stored under; vectors of different
   * names never mix. Use one name per model and configuration, e.g.
   * `LexicalEmbedding.modelName(...)` or `"openai/text-embedding-3-small"`.
   */
  readonly model: string
  /**
   * Weight a query's terms by their idf in the collection (from the BM25
   * postings) when the model is the `LexicalEmbedding` and the collection
   * was analysed with its stemmer (see the module header). Default true.
   */
  readonly queryIdf?: boolean | undefined
}

/** Float32 little-endian bytes of a vector. */
const encodeVector = (vector: ArrayLike<number>): Uint8Array => {
  const bytes = Buffer.alloc(vector.length * 4)
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i]!, i * 4)
  return bytes
}

/** Writes the float32 little-endian `bytes` into `target` from `offset`. */
const decodeInto = (bytes: Uint8Array, target: Float32Array, offset: number, dimensions: number): void => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let j = 0; j < dimensions; j++) target[offset + j] = view.getFloat32(j * 4, true)
}

interface CachedMatrix {
  readonly generation: number
  readonly version: number
  readonly ids: ReadonlyArray<string>
  readonly matrix: VectorMatrix
}

interface PassageRow {
  readonly id: string
  readonly source_id: string
  readonly title: string | null
  readonly text: string
  readonly document_title: string | null
  readonly updated_at: number | string | null
  readonly tags: string | null
  readonly metadata: string | null
}

/**
 * Passages for chunk ids of a collection, in the order of `ranked`, with
 * their documents' metadata; ids no longer in the collection are skipped.
 */
const passagesOf = (
  sql: SqlClient.SqlClient,
  collection: string,
  ranked: ReadonlyArray<RankedChunk>
): Effect.Effect<ReadonlyArray<Passage>, StoreError> =>
  Effect.gen(function* () {
    if (ranked.length === 0) return []
    const rows = yield* sql<PassageRow>`SELECT c.id, c.source_id, c.title, c.text, d.title AS document_title,
        d.updated_at, d.tags, d.metadata
      FROM weft_chunks c JOIN weft_documents d ON d.collection = c.collection AND d.source_id = c.source_id
      WHERE c.collection = ${collection} AND c.id IN ${sql.in(ranked.map((hit) => hit.id))}`.pipe(
      Effect.mapError((error) => queryFailed("vector passages", error))
    )
    const byId = new Map(rows.map((row) => [row.id, row]))
    const passages: Array<Passage> = []
    for (const hit of ranked) {
      const row = byId.get(hit.id)
      if (row !== undefined) passages.push(sqlPassage(row, hit.score))
    }
    return passages
  })

const sqlPassage = (row: PassageRow, score: number): Passage => {
  const tags = row.tags === null ? [] : (JSON.parse(row.tags) as Array<string>)
  return {
    id: row.id,
    sourceId: row.source_id,
    ...(row.title === null ? {} : { title: row.title }),
    text: row.text,
    score,
    ...(row.document_title === null ? {} : { documentTitle: row.document_title }),
    ...(row.updated_at === null ? {} : { updatedAt: Number(row.updated_at) }),
    ...(tags.length === 0 ? {} : { tags }),
    ...(row.metadata === null ? {} : { metadata: JSON.parse(row.metadata) })
  }
}

/** The stemmer a collection was analysed with, from its stored options (`{ bm25: { stem } }`). */
const readStem = (options: string | undefined): string | undefined => {
  if (options === undefined) return undefined
  try {
    const stem = (JSON.parse(options) as { bm25?: { stem?: unknown } }).bm25?.stem
    return typeof stem === "string" ? stem : undefined
  } catch {
    return undefined
  }
}

/** Chunk ids of a collection whose documents `where` accepts. */
const acceptedChunkIds = (
  sql: SqlClient.SqlClient,
  collection: string,
  where: Filter.Filter
): Effect.Effect<ReadonlySet<string>, StoreError> =>
  Effect.gen(function* () {
    const rows = yield* sql<{ id: string }>`SELECT c.id FROM weft_chunks c
      JOIN weft_documents d ON d.collection = c.collection AND d.source_id = c.source_id
      WHERE c.collection = ${collection} AND ${Filter.toSql(sql, where)}`.pipe(
      Effect.mapError((error) => queryFailed("vector filter", error))
    )
    return new Set(rows.map((row) => row.id))
  })

/**
 * Builds the SQL vector index of the `EmbeddingModel` in context, stored
 * under `options.model`; runs the retrieval and vector migrations first.
 */
export const makeSql = (
  options: SqlOptions
): Effect.Effect<
  VectorIndex["Service"],
  StoreError | RetrievalError,
  SqlClient.SqlClient | EmbeddingModel.EmbeddingModel
> =>
  Effect.gen(function* () {
    const model = options.model
    if (typeof model !== "string" || model.trim().length === 0) {
      return yield* Effect.fail(invalidOption("model", show(model), "a non-empty model name"))
    }
    yield* VectorSchema.migrate
    const sql = yield* SqlClient.SqlClient
    const embedder = yield* EmbeddingModel.EmbeddingModel
    const lexical = yield* queryEmbedder(embedder, options.queryIdf)
    const cache = new Map<string, CachedMatrix>()
    const store =
      <A>(operation: string) =>
      (effect: Effect.Effect<A, SqlError.SqlError>) =>
        Effect.mapError(effect, (error) => queryFailed(operation, error))

    const storedDimensions = (collection: string) =>
      sql<{ dimensions: number }>`SELECT dimensions FROM weft_vectors
        WHERE collection = ${collection} AND model = ${model} LIMIT 1`.pipe(
        Effect.map((rows) => (rows[0] === undefined ? undefined : Number(rows[0].dimensions)))
      )

    const bumpVersion = (collection: string) =>
      sql`INSERT INTO weft_vector_state (collection, model, version) VALUES (${collection}, ${model}, 1)
        ON CONFLICT (collection, model) DO UPDATE SET version = weft_vector_state.version + 1`

    const count = (collection: string) =>
      sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM weft_vectors
        WHERE collection = ${collection} AND model = ${model}`.pipe(
        Effect.map((rows) => Number(rows[0]?.n ?? 0)),
        store("vector count")
      )

    const sync = (syncOptions: SyncOptions): Effect.Effect<SyncReport, VectorIndexError> =>
      Effect.gen(function* () {
        const { collection } = syncOptions
        const batchSize = yield* checkBatchSize(syncOptions.batchSize ?? defaultBatchSize)
        const deleted = yield* sql<{ chunk_id: string }>`DELETE FROM weft_vectors
          WHERE collection = ${collection} AND model = ${model} AND NOT EXISTS (
            SELECT 1 FROM weft_chunks c WHERE c.collection = weft_vectors.collection AND c.id = weft_vectors.chunk_id
          ) RETURNING chunk_id`.pipe(store("vector sync"))
        // A chunk needs a vector when it has none, or when its document changed since it got one.
        const pending = sql`FROM weft_chunks c
          JOIN weft_documents d ON d.collection = c.collection AND d.source_id = c.source_id
          LEFT JOIN weft_vectors v ON v.collection = c.collection AND v.model = ${model} AND v.chunk_id = c.id
          WHERE c.collection = ${collection} AND (v.chunk_id IS NULL OR v.content_hash <> d.content_hash)`
        const counts = yield* sql<{ pending: number | string }>`SELECT COUNT(*) AS pending ${pending}`.pipe(
          store("vector sync")
        )
        const total = Number(counts[0]?.pending ?? 0)
        let dimensions = (yield* storedDimensions(collection).pipe(store("vector sync"))) ?? -1
        let embedded = 0
        // Pages by chunk id (keyset): each page starts where the last ended, on the primary key,
        // instead of scanning the collection again from the start.
        let after: string | undefined
        while (embedded < total) {
          const rows = yield* sql<{
            id: string
            title: string | null
            text: string
            content_hash: string
          }>`SELECT c.id, c.title, c.text, d.content_hash ${pending}
            ${after === undefined ? sql.literal("") : sql`AND c.id > ${after}`}
            ORDER BY c.id LIMIT ${batchSize}`.pipe(store("vector sync"))
          if (rows.length === 0) break
          after = rows[rows.length - 1]!.id
          const { embeddings } = yield* embedder.embedMany(
            rows.map((row) => chunkText({ title: row.title ?? undefined, text: row.text }))
          )
          const values = rows.map((row, i) => {
            const vector = embeddings[i]!.vector
            if (dimensions === -1) dimensions = vector.length
            return { row, vector }
          })
          const wrong = values.find(({ vector }) => vector.length !== dimensions)
          if (wrong !== undefined)
            return yield* Effect.fail(dimensionMismatch(dimensions, wrong.vector.length))
          yield* sql
            .withTransaction(
              Effect.andThen(
                sql`INSERT INTO weft_vectors ${sql.insert(
                  // Non-empty: the loop ends on an empty page.
                  values.map<Record<string, unknown>>(({ row, vector }) => ({
                    collection,
                    chunk_id: row.id,
                    model,
                    dimensions,
                    content_hash: row.content_hash,
                    vector: encodeVector(vector)
                  })) as unknown as readonly [Record<string, unknown>, ...Array<Record<string, unknown>>]
                )} ON CONFLICT (collection, model, chunk_id) DO UPDATE SET dimensions = excluded.dimensions,
                  content_hash = excluded.content_hash, vector = excluded.vector`,
                bumpVersion(collection)
              )
            )
            .pipe(store("vector sync"))
          embedded += rows.length
          syncOptions.onProgress?.({ embedded, total })
          // The driver and the lexical embedding run synchronously: let an interrupt (Ctrl-C) in between batches.
          yield* Effect.yieldNow
        }
        if (deleted.length > 0 && embedded === 0) yield* bumpVersion(collection).pipe(store("vector sync"))
        if (total === 0) syncOptions.onProgress?.({ embedded: 0, total: 0 })
        return {
          embedded,
          deleted: deleted.length,
          unchanged: (yield* count(collection)) - embedded,
          dimensions: Math.max(dimensions, 0)
        }
      })

    /** The collection's vectors as a matrix, read once per change of the collection or its vectors. */
    const loadMatrix = (collection: string) =>
      Effect.gen(function* () {
        const state = yield* sql<{
          generation: number | string | null
          version: number | string | null
        }>`SELECT
            (SELECT generation FROM weft_collections WHERE collection = ${collection}) AS generation,
            (SELECT version FROM weft_vector_state WHERE collection = ${collection} AND model = ${model}) AS version`
        const generation = Number(state[0]?.generation ?? -1)
        const version = Number(state[0]?.version ?? 0)
        const cached = cache.get(collection)
        if (cached !== undefined && cached.generation === generation && cached.version === version)
          return cached
        const rows = yield* sql<{
          chunk_id: string
          dimensions: number
          vector: Uint8Array
        }>`SELECT v.chunk_id,
            v.dimensions, v.vector
          FROM weft_vectors v JOIN weft_chunks c ON c.collection = v.collection AND c.id = v.chunk_id
          WHERE v.collection = ${collection} AND v.model = ${model} ORDER BY v.chunk_id`
        const dimensions = rows.length === 0 ? 0 : Number(rows[0]!.dimensions)
        const data = new Float32Array(rows.length * dimensions)
        const ids: Array<string> = []
        for (const row of rows) {
          // Vectors are stored as they came from the model: normalise once here.
          const at = ids.length * dimensions
          decodeInto(row.vector, data, at, dimensions)
          normaliseAt(data, at, dimensions)
          ids.push(row.chunk_id)
        }
        const loaded: CachedMatrix = {
          generation,
          version,
          ids,
          matrix: new VectorMatrix(dimensions, data)
        }
        cache.set(collection, loaded)
        return loaded
      }).pipe(store("vector search"))

    /**
     * The query's lexical vector, its terms weighted by idf over the
     * collection's chunks: N from weft_collections, df from the postings of
     * the query's terms. Unweighted when the collection's analyzer stems
     * otherwise (its postings hold other terms).
     */
    const embedWithIdf = (embedder: LexicalEmbedding.LexicalEmbedder, collection: string, query: string) =>
      Effect.gen(function* () {
        const stats = yield* sql<{
          chunk_count: number | string
          options: string
        }>`SELECT chunk_count, options
          FROM weft_collections WHERE collection = ${collection}`.pipe(store("vector search"))
        const stem = readStem(stats[0]?.options)
        const terms = [...new Set(embedder.terms(query))]
        if (stats[0] === undefined || stem !== embedder.options.stem || terms.length === 0) {
          return { vector: embedder.embed(query) }
        }
        const size = Number(stats[0].chunk_count)
        const rows = yield* sql<{ term: string; df: number | string }>`SELECT term, COUNT(*) AS df
          FROM weft_postings WHERE collection = ${collection} AND term IN ${sql.in(terms)}
          GROUP BY term`.pipe(store("vector search"))
        const df = new Map(rows.map((row) => [row.term, Number(row.df)]))
        return { vector: embedder.embed(query, (term) => LexicalEmbedding.idf(size, df.get(term) ?? 0)) }
      })

    const rank = (query: string, searchOptions: SqlSearchOptions) =>
      Effect.gen(function* () {
        const { topK, minScore, where } = yield* checkSearch(query, searchOptions)
        const { collection } = searchOptions
        const { ids, matrix } = yield* loadMatrix(collection)
        if (matrix.size === 0) return []
        const { vector } =
          lexical === undefined
            ? yield* embedder.embed(query)
            : yield* embedWithIdf(lexical, collection, query)
        if (vector.length !== matrix.dimensions) {
          return yield* Effect.fail(dimensionMismatch(matrix.dimensions, vector.length))
        }
        const accepted = where === undefined ? undefined : yield* acceptedChunkIds(sql, collection, where)
        const hits = matrix.search(vector, topK, accepted && ((row) => accepted.has(ids[row]!)))
        return hits
          .filter((hit) => hit.score >= minScore)
          .map((hit) => ({ id: ids[hit.row]!, score: hit.score }))
      })

    const search = (query: string, searchOptions: SqlSearchOptions) =>
      Effect.flatMap(rank(query, searchOptions), (ranked) =>
        passagesOf(sql, searchOptions.collection, ranked)
      )

    return VectorIndex.of({
      model,
      sync: Effect.fn("VectorIndex.sync")(sync),
      rank,
      search: Effect.fn("VectorIndex.search")(search),
      count
    })
  })

/** The SQL vector index of the `EmbeddingModel` in context (see `makeSql`). */
export const layerSql = (
  options: SqlOptions
): Layer.Layer<
  VectorIndex,
  StoreError | RetrievalError,
  SqlClient.SqlClient | EmbeddingModel.EmbeddingModel
> => Layer.effect(VectorIndex, makeSql(options))

/**
 * The SQL vector index over the offline `LexicalEmbedding` (stored under its
 * `modelName`), for when no embedding service is configured.
 */
export const layerSqlLexical = (
  options?: LexicalEmbedding.LexicalEmbeddingOptions
): Layer.Layer<VectorIndex, StoreError | RetrievalError, SqlClient.SqlClient> =>
  Layer.unwrap(
    Effect.map(LexicalEmbedding.resolveOptions(options), (resolved) =>
      layerSql({ model: LexicalEmbedding.modelName(resolved) }).pipe(
        Layer.provide(LexicalEmbedding.layer(resolved))
      )
    )
  )

/** Embeds the collection's missing chunks with the VectorIndex in context (see `VectorIndex.sync`). */
export const sync = (options: SyncOptions): Effect.Effect<SyncReport, VectorIndexError, VectorIndex> =>
  VectorIndex.use((index) => index.sync(options))

/** The passages most similar to `query`, from the VectorIndex in context. */
export const search = (
  query: string,
  options: SqlSearchOptions
): Effect.Effect<ReadonlyArray<Passage>, VectorIndexError, VectorIndex> =>
  VectorIndex.use((index) => index.search(query, options))
