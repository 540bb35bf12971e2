/**
 * Hybrid search: BM25 and vector rankings fused by reciprocal rank fusion
 * (RRF) or by a convex combination of normalised scores, then optionally
 * reordered by a `Reranker`.
 *
 * RRF (Cormack, Clarke & Büttcher, SIGIR 2009) scores a passage by its ranks
 * alone, Σ weightᵢ / (k + rankᵢ) over the lists it appears in (rank from 1),
 * so scores of different kinds (BM25's unbounded sums, cosines) need no
 * calibration. `k` damps the head of each list; a list's `weight` says how
 * much it is trusted. The convex combination (`fusion: "convex"`) adds each
 * list's min-max normalised scores, times its weight, a passage missing from
 * a list scoring 0 there.
 *
 * The defaults (RRF, k 10, vector weight 0.3) were chosen on SciFact train
 * with the `LexicalEmbedding` and its query idf, where the vector ranking
 * trails BM25: the fused ranking then beats BM25 on nDCG@10 and Recall@100,
 * and RRF stays within 0.001 nDCG of its best over k 5–60 at vector weights
 * 0.2–0.3, where the convex combination swings more with its weight
 * (docs/retrieval.md).
 *
 * A hybrid search is built from two ranking functions that return
 * `Passage`s (the Retriever's shape), so the same code fuses the in-memory
 * indexes (`fromDocuments`) and the SQL ones (`make` with the SQL index's
 * BM25 and `VectorIndex`). Passages come back in the Retriever's shape with
 * the fused score.
 */
import { Effect, Layer } from "effect"
import type { AiError, EmbeddingModel } from "effect/ai"
import type { SqlClient } from "effect/sql"
import { fail as failStore, QueryFailed } from "../store/StoreError.ts"
import { checkQuery, fitBudget, sqlExpansionOf } from "./internal/query.ts"
import { checkInteger, show } from "../core/InvalidOption.ts"
import type * as Chunking from "./Chunking.ts"
import type * as Filter from "./Filter.ts"
import { EmptyQuery, fail, invalidOption, type RetrievalError, storeFailed } from "./RetrievalError.ts"
import * as Retriever from "./Retriever.ts"
import type { Passage } from "./Retriever.ts"
import * as VectorIndex from "./VectorIndex.ts"

// ---------------------------------------------------------------------------
// Fusion

/** One ranking to fuse: ids best first, and how much the list counts (default 1). */
export interface RankedList {
  readonly ids: ReadonlyArray<string>
  readonly weight?: number | undefined
}

/** An id and its fused score. */
export interface Fused {
  readonly id: string
  readonly score: number
}

/** The RRF constant when none is given: small, so the head of each list decides (measured on SciFact train). */
export const defaultK = 10

/**
 * Reciprocal rank fusion: each id scores Σ weight / (k + rank) over the lists
 * holding it (rank from 1; a repeat within a list counts at its first rank).
 * Best first; ties keep the order in which the ids were first met (list by
 * list, rank by rank).
 */
export const reciprocalRankFusion = (
  lists: ReadonlyArray<RankedList>,
  k: number = defaultK
): Array<Fused> => {
  const scores = new Map<string, number>()
  for (const list of lists) {
    const weight = list.weight ?? 1
    const seen = new Set<string>()
    list.ids.forEach((id, index) => {
      if (seen.has(id)) return
      seen.add(id)
      scores.set(id, (scores.get(id) ?? 0) + weight / (k + index + 1))
    })
  }
  // Array.prototype.sort is stable: equal scores stay in first-met order.
  return [...scores].map(([id, score]) => ({ id, score })).sort((x, y) => y.score - x.score)
}

/** One scored list to combine: ids with their scores, best first, and how much the list counts (default 1). */
export interface ScoredList {
  readonly hits: ReadonlyArray<{ readonly id: string; readonly score: number }>
  readonly weight?: number | undefined
}

/**
 * Convex combination of min-max normalised scores: each id scores
 * Σ weight · (score − min) / (max − min) over the lists holding it (a list
 * whose scores are all equal gives each of its ids 1; a repeat counts at its
 * first place). Best first; ties keep first-met order.
 */
export const convexCombination = (lists: ReadonlyArray<ScoredList>): Array<Fused> => {
  const scores = new Map<string, number>()
  for (const list of lists) {
    const weight = list.weight ?? 1
    if (list.hits.length === 0) continue
    let max = Number.NEGATIVE_INFINITY
    let min = Number.POSITIVE_INFINITY
    for (const hit of list.hits) {
      if (hit.score > max) max = hit.score
      if (hit.score < min) min = hit.score
    }
    const range = max - min
    const seen = new Set<string>()
    for (const hit of list.hits) {
      if (seen.has(hit.id)) continue
      seen.add(hit.id)
      const normalised = range > 0 ? (hit.score - min) / range : 1
      scores.set(hit.id, (scores.get(hit.id) ?? 0) + weight * normalised)
    }
  }
  return [...scores].map(([id, score]) => ({ id, score })).sort((x, y) => y.score - x.score)
}

/** How two rankings are fused: by ranks (`"rrf"`) or by normalised scores (`"convex"`). */
export type Fusion = "rrf" | "convex"

// ---------------------------------------------------------------------------
// Reranking

/**
 * Reorders the fused candidates for a query, e.g. by reading each passage
 * more closely than an index can. Returns the passages to keep, best first;
 * it may change their scores.
 */
export interface Reranker {
  readonly name: string
  readonly rerank: (
    query: string,
    passages: ReadonlyArray<Passage>
  ) => Effect.Effect<ReadonlyArray<Passage>, RetrievalError | AiError.AiError>
}

// ---------------------------------------------------------------------------
// Search

/**
 * Ranks passages for a query, as an index does: at most `topK`, best first,
 * of documents `where` accepts; fails with the index's own error `E`.
 */
export type RankPassages<E> = (
  query: string,
  options: { readonly topK: number; readonly where?: Filter.Filter | undefined }
) => Effect.Effect<ReadonlyArray<Passage>, E>

export interface HybridOptions {
  /** The most passages to return, a positive integer. Default 5. */
  readonly topK?: number | undefined
  /** How many BM25 passages to fuse. Default 100. */
  readonly bm25Candidates?: number | undefined
  /** How many vector passages to fuse. Default 100. */
  readonly vectorCandidates?: number | undefined
  /** How the two rankings are fused: `"rrf"` (by ranks) or `"convex"` (by min-max normalised scores). Default `"rrf"`. */
  readonly fusion?: Fusion | undefined
  /** The RRF constant, > 0. Default 10. */
  readonly k?: number | undefined
  /** What the BM25 list counts for in the fusion, ≥ 0. Default 1. */
  readonly bm25Weight?: number | undefined
  /** What the vector list counts for in the fusion, ≥ 0. Default 0.3. */
  readonly vectorWeight?: number | undefined
  /** Keep only passages of documents this filter accepts; applied by both indexes. */
  readonly where?: Filter.Filter | undefined
  /** Reorders the fused candidates before `topK` is taken. Default none. */
  readonly rerank?: Reranker | undefined
  /**
   * How many of the first fused candidates the reranker reads, a positive
   * integer. Default 50. When `topK` is larger, the candidates past it follow
   * the reranked ones in fused order, with their fused scores.
   */
  readonly rerankDepth?: number | undefined
}

export const defaults = {
  topK: 5,
  bm25Candidates: 100,
  vectorCandidates: 100,
  fusion: "rrf",
  k: defaultK,
  bm25Weight: 1,
  vectorWeight: 0.3,
  rerankDepth: 50
} as const

/** A hybrid search over one corpus, whose indexes fail with `E`. */
export interface Hybrid<E = RetrievalError | AiError.AiError> {
  /** The passages best ranked by BM25 and vectors together, best first; `score` is the fused score. */
  readonly search: (
    query: string,
    options?: HybridOptions
  ) => Effect.Effect<ReadonlyArray<Passage>, RetrievalError | AiError.AiError | E>
}

const checkWeight = (option: string, value: number): RetrievalError | undefined =>
  typeof value === "number" && Number.isFinite(value) && value >= 0
    ? undefined
    : invalidOption(option, show(value), "a finite number ≥ 0")

/**
 * A hybrid search over two ranking functions (the same corpus's BM25 and
 * vector indexes). Fails with `EmptyQuery` for a blank query and
 * `InvalidOption` for a bad option; the indexes' own failures pass through.
 */
export const make = <E>(indexes: {
  readonly bm25: RankPassages<E>
  readonly vector: RankPassages<E>
}): Hybrid<E> => ({
  search: (query, options) =>
    Effect.gen(function* () {
      if (query.trim().length === 0) return yield* Effect.fail(fail(new EmptyQuery()))
      const topK = options?.topK ?? defaults.topK
      const bm25Candidates = options?.bm25Candidates ?? defaults.bm25Candidates
      const vectorCandidates = options?.vectorCandidates ?? defaults.vectorCandidates
      const rerankDepth = options?.rerankDepth ?? defaults.rerankDepth
      for (const [name, value, min] of [
        ["topK", topK, 1],
        ["bm25Candidates", bm25Candidates, 0],
        ["vectorCandidates", vectorCandidates, 0],
        ["rerankDepth", rerankDepth, 1]
      ] as const) {
        const bad = checkInteger(name, value, min)
        if (bad !== undefined) return yield* Effect.fail(fail(bad))
      }
      const fusion = options?.fusion ?? defaults.fusion
      if (fusion !== "rrf" && fusion !== "convex") {
        return yield* Effect.fail(invalidOption("fusion", show(fusion), '"rrf" or "convex"'))
      }
      const k = options?.k ?? defaults.k
      if (!(typeof k === "number" && Number.isFinite(k) && k > 0)) {
        return yield* Effect.fail(invalidOption("k", show(k), "a finite number > 0"))
      }
      const bm25Weight = options?.bm25Weight ?? defaults.bm25Weight
      const vectorWeight = options?.vectorWeight ?? defaults.vectorWeight
      const badWeight = checkWeight("bm25Weight", bm25Weight) ?? checkWeight("vectorWeight", vectorWeight)
      if (badWeight !== undefined) return yield* Effect.fail(badWeight)
      const where = options?.where
      const [lexical, semantic] = yield* Effect.all(
        [
          bm25Candidates === 0 ? Effect.succeed([]) : indexes.bm25(query, { topK: bm25Candidates, where }),
          vectorCandidates === 0
            ? Effect.succeed([])
            : indexes.vector(query, { topK: vectorCandidates, where })
        ],
        { concurrency: 2 }
      )
      const byId = new Map<string, Passage>()
      for (const passage of [...lexical, ...semantic])
        if (!byId.has(passage.id)) byId.set(passage.id, passage)
      const fused =
        fusion === "rrf"
          ? reciprocalRankFusion(
              [
                { ids: lexical.map((passage) => passage.id), weight: bm25Weight },
                { ids: semantic.map((passage) => passage.id), weight: vectorWeight }
              ],
              k
            )
          : convexCombination([
              { hits: lexical, weight: bm25Weight },
              { hits: semantic, weight: vectorWeight }
            ])
      const rerank = options?.rerank
      const candidates = fused
        .slice(0, Math.max(topK, rerank === undefined ? 0 : rerankDepth))
        .map(({ id, score }) => ({ ...byId.get(id)!, score }))
      if (rerank === undefined) return candidates
      // The reranker reads the first rerankDepth; those past it follow in fused order.
      const reranked = yield* rerank.rerank(query, candidates.slice(0, rerankDepth))
      const kept = new Set(reranked.map((passage) => passage.id))
      return [...reranked, ...candidates.slice(rerankDepth).filter((passage) => !kept.has(passage.id))].slice(
        0,
        topK
      )
    })
})

export interface MemoryOptions extends Retriever.RetrieverOptions, VectorIndex.EmbedOptions {}

/**
 * A hybrid search over documents in memory: the Retriever's BM25 index and a
 * `VectorIndex` of the same chunks, embedded with the `EmbeddingModel` in
 * context.
 */
export const fromDocuments = Effect.fn("Hybrid.fromDocuments")(function* (
  documents: ReadonlyArray<Chunking.Document>,
  options?: MemoryOptions
): Effect.fn.Return<Hybrid, RetrievalError | AiError.AiError, EmbeddingModel.EmbeddingModel> {
  const retriever = yield* Retriever.fromDocuments(documents, options)
  const vectors = yield* VectorIndex.fromDocuments(documents, options)
  return make({
    bm25: (query, { topK, where }) => retriever.retrieve(query, { topK, where }),
    vector: (query, { topK, where }) => vectors.search(query, { topK, where })
  })
})

// ---------------------------------------------------------------------------
// A Retriever over the SQL indexes

export interface SqlRetrieverOptions {
  /** The collection to search. Default `SqlIndex.defaultCollection`. */
  readonly collection?: string | undefined
  /** Fusion settings for every retrieve (`topK` and `where` come from each call). */
  readonly hybrid?: Omit<HybridOptions, "topK" | "where"> | undefined
}

/**
 * The `Retriever` service over the persistent indexes — the SQL index's BM25
 * and the `VectorIndex` in context — fused as `make` does, so every user of
 * the Retriever (the Rag workflow, an agent's docs tool) runs hybrid without
 * change. `retrieve`'s `expand` widens the BM25 side as it does alone;
 * `minScore` applies to the fused score and `tokenBudget` to the passages
 * returned. Vectors are those `VectorIndex.sync` stored: run it after each
 * ingestion (chunks with no vector are found by BM25 only).
 */
export const layerSql = (
  options?: SqlRetrieverOptions
): Layer.Layer<Retriever.Retriever, RetrievalError, SqlClient.SqlClient | VectorIndex.VectorIndex> =>
  Layer.effect(
    Retriever.Retriever,
    Effect.gen(function* () {
      const { make: makeSqlIndex } = yield* Effect.promise(() => import("./SqlIndex.ts"))
      const index = yield* makeSqlIndex({ collection: options?.collection })
      const vectors = yield* VectorIndex.VectorIndex
      const stats = yield* index.stats
      const retrieve = (query: string, retrieveOptions?: Retriever.RetrieveOptions) =>
        Effect.gen(function* () {
          // As Retriever.layerSql: a closure filter cannot run in SQL; expand widens the BM25 side.
          const expansion = yield* sqlExpansionOf(retrieveOptions)
          const { topK, minScore, where, tokenBudget } = yield* checkQuery(query, retrieveOptions)
          const hybrid = make({
            bm25: (q, o) => index.search(q, expansion === undefined ? o : { ...o, expansion }),
            vector: (q, o) => vectors.search(q, { collection: index.collection, ...o })
          })
          const fused = yield* hybrid.search(query, { ...options?.hybrid, topK, where }).pipe(
            Effect.mapError((error) =>
              error._tag === "RetrievalError"
                ? error
                : error._tag === "StoreError"
                  ? storeFailed(error)
                  : // The embedding model failed embedding the query: the Retriever's errors have no AI reason.
                    storeFailed(
                      failStore(
                        new QueryFailed({
                          operation: "retrieval.hybrid (embedding the query)",
                          detail: error.message,
                          transient: error.isRetryable,
                          cause: error
                        })
                      )
                    )
            )
          )
          return fitBudget(
            fused.filter((passage) => passage.score >= minScore),
            tokenBudget
          )
        })
      return Retriever.Retriever.of({ retrieve, size: { documents: stats.documents, chunks: stats.chunks } })
    })
  )
