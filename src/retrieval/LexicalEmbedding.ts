/**
 * A deterministic, offline `EmbeddingModel` that is lexical, not semantic.
 *
 * No model weights can be downloaded where Weft is built and tested, so the
 * vector index needs an embedding that runs anywhere, costs no network and
 * gives the same vector for the same text on every machine. This is that
 * embedding, and it is honest about what it is: a hashed bag of words. It
 * knows nothing of meaning — "heart attack" and "myocardial infarction" are
 * as far apart as any two unrelated phrases. Where the OpenAI embedding
 * model is configured (`OpenAi.embeddings`), provide it instead: the vector
 * index works with any `EmbeddingModel`.
 *
 * A text becomes one vector of fixed `dimensions` (default 1024):
 * - each analysed term (the BM25 analyzer: lowercased, stop words dropped,
 *   Porter-stemmed) adds to one signed bucket chosen by a hash of the term
 *   (feature hashing; the sign halves the bias collisions would add);
 * - each term's character n-grams (3 to 5 characters of `<term>`, as
 *   fastText's subwords) add to their own buckets, so morphological variants
 *   the stemmer leaves apart (`glycolysis` / `glycolytic`) still meet;
 * - a term weighs 1 + ln(tf) (sublinear, so one repeated word cannot fill
 *   the vector); its n-grams share `ngramWeight` of that between them;
 * - the vector is L2-normalised, so a dot product is the cosine.
 *
 * No statistics of a corpus enter a stored vector (there is no IDF): a text's
 * vector depends on the text alone, which is what lets a store embed a chunk
 * once and keep its vector while the rest of the corpus changes. The corpus
 * enters at query time instead: `embed(query, weightOf)` multiplies each query
 * term's features by a weight — the vector index passes the term's inverse
 * document frequency in the collection (`idf`), so the cosine becomes a
 * tf-idf cosine (SciFact train nDCG@10 0.55 → 0.64 alone) without any stored
 * vector going stale. The `layer` provides the embedder itself (`Embedder`)
 * beside the `EmbeddingModel`, which is how the vector index knows it may
 * weight queries so.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { EmbeddingModel } from "effect/ai"
 * import * as LexicalEmbedding from "./LexicalEmbedding.ts"
 *
 * const program = Effect.gen(function* () {
 *   const model = yield* EmbeddingModel.EmbeddingModel
 *   const { vector } = yield* model.embed("glycolysis in tumour cells")
 *   return vector.length // 1024
 * }).pipe(Effect.provide(LexicalEmbedding.layer()))
 * ```
 */
import { Context, Effect, Layer } from "effect"
import { EmbeddingModel } from "effect/ai"
import { show } from "../core/InvalidOption.ts"
import { type Analyzer, makeAnalyzer, type StemmerName } from "./Bm25.ts"
import { invalidOption, type RetrievalError } from "./RetrievalError.ts"

export interface LexicalEmbeddingOptions {
  /** The length of every vector, an integer from 16 to 65,536. Default 1024. */
  readonly dimensions?: number | undefined
  /** The shortest character n-gram of a term, counting the `<` and `>` around it. Default 3. */
  readonly ngramMin?: number | undefined
  /** The longest character n-gram. Default 5. 0 (or below `ngramMin`) turns n-grams off. */
  readonly ngramMax?: number | undefined
  /** What a term's n-grams weigh together, next to the term's own weight of 1. Default 2 (measured on SciFact train: n-grams matter more than whole terms). */
  readonly ngramWeight?: number | undefined
  /** How terms are stemmed, as `Bm25Options.stem`. Default `"porter"`. */
  readonly stem?: StemmerName | "none" | undefined
}

export interface ResolvedLexicalEmbeddingOptions {
  readonly dimensions: number
  readonly ngramMin: number
  readonly ngramMax: number
  readonly ngramWeight: number
  readonly stem: StemmerName | "none"
}

export const defaultOptions: ResolvedLexicalEmbeddingOptions = {
  dimensions: 1024,
  ngramMin: 3,
  ngramMax: 5,
  ngramWeight: 2,
  stem: "porter"
}

/** Fills in defaults and checks the options, failing with `InvalidOption`. */
export const resolveOptions = (
  options?: LexicalEmbeddingOptions
): Effect.Effect<ResolvedLexicalEmbeddingOptions, RetrievalError> => {
  const resolved: ResolvedLexicalEmbeddingOptions = {
    dimensions: options?.dimensions ?? defaultOptions.dimensions,
    ngramMin: options?.ngramMin ?? defaultOptions.ngramMin,
    ngramMax: options?.ngramMax ?? defaultOptions.ngramMax,
    ngramWeight: options?.ngramWeight ?? defaultOptions.ngramWeight,
    stem: options?.stem ?? defaultOptions.stem
  }
  const { dimensions, ngramMin, ngramMax, ngramWeight, stem } = resolved
  if (!(Number.isInteger(dimensions) && dimensions >= 16 && dimensions <= 65_536)) {
    return Effect.fail(invalidOption("dimensions", show(dimensions), "an integer from 16 to 65536"))
  }
  if (!(Number.isInteger(ngramMin) && ngramMin >= 1 && ngramMin <= 16)) {
    return Effect.fail(invalidOption("ngramMin", show(ngramMin), "an integer from 1 to 16"))
  }
  if (!(Number.isInteger(ngramMax) && ngramMax >= 0 && ngramMax <= 16)) {
    return Effect.fail(invalidOption("ngramMax", show(ngramMax), "an integer from 0 to 16"))
  }
  if (!(Number.isFinite(ngramWeight) && ngramWeight >= 0)) {
    return Effect.fail(invalidOption("ngramWeight", show(ngramWeight), "a finite number ≥ 0"))
  }
  if (stem !== "porter" && stem !== "light" && stem !== "none") {
    return Effect.fail(invalidOption("stem", show(stem), '"porter", "light" or "none"'))
  }
  return Effect.succeed(resolved)
}

/**
 * The name under which a store keeps this embedding's vectors, e.g.
 * `lexical-hash-v1-1024d-ng3to5x2-porter`: every option that changes a
 * vector is in it, so vectors of differently configured models never mix.
 * "lexical" is in the name on purpose: this is not a semantic model.
 */
export const modelName = (options: ResolvedLexicalEmbeddingOptions = defaultOptions): string => {
  const ngrams =
    options.ngramMax >= options.ngramMin && options.ngramWeight > 0
      ? `ng${options.ngramMin}to${options.ngramMax}x${options.ngramWeight}`
      : "nong"
  return `lexical-hash-v1-${options.dimensions}d-${ngrams}-${options.stem}`
}

/** Embeds texts synchronously; the same text always gives the same vector. */
export interface LexicalEmbedder {
  readonly options: ResolvedLexicalEmbeddingOptions
  readonly name: string
  /** The analysed terms of `text` (the BM25 analyzer with this embedding's stemmer), repeats kept. */
  readonly terms: (text: string) => Array<string>
  /**
   * The L2-normalised vector of `text` (all zeros for a text with no terms).
   * `weightOf`, if given, multiplies each term's features (a query's terms by
   * their idf); a term weighing 0 or less is left out.
   */
  readonly embed: (text: string, weightOf?: (term: string) => number) => Float32Array
}

/**
 * Inverse document frequency of a term found in `df` of `n` texts, as BM25
 * computes it (Lucene's ln(1 + (N − df + 0.5) / (df + 0.5)), always positive),
 * so the vector side weighs a term as the BM25 side does.
 */
export const idf = (n: number, df: number): number => Math.log(1 + (n - df + 0.5) / (df + 0.5))

/** Features of one term are remembered: vocabularies are Zipfian, so most lookups hit. */
const FEATURE_CACHE_LIMIT = 200_000

/** Builds a synchronous embedder (see the module header for what a vector holds). */
export const makeEmbedder = (options: ResolvedLexicalEmbeddingOptions = defaultOptions): LexicalEmbedder => {
  const { dimensions, ngramMin, ngramMax, ngramWeight } = options
  const analyzer: Analyzer = makeAnalyzer({ stem: options.stem })
  const useNgrams = ngramMax >= ngramMin && ngramWeight > 0
  // A term's features: bucket indices and signed weights, its own first, then its n-grams'.
  const cache = new Map<string, { readonly buckets: Int32Array; readonly weights: Float32Array }>()
  const featuresOf = (term: string) => {
    let features = cache.get(term)
    if (features !== undefined) return features
    const grams: Array<string> = []
    if (useNgrams) {
      const marked = `<${term}>`
      for (let n = ngramMin; n <= ngramMax; n++) {
        for (let start = 0; start + n <= marked.length; start++) {
          const gram = marked.slice(start, start + n)
          // The whole marked term is the term feature already.
          if (gram !== marked) grams.push(gram)
        }
      }
    }
    const buckets = new Int32Array(1 + grams.length)
    const weights = new Float32Array(1 + grams.length)
    const own = hash(term, 0x9747b28c)
    buckets[0] = own % dimensions
    weights[0] = own & 0x80000000 ? -1 : 1
    // The n-grams share ngramWeight of the term's weight, as a unit vector's share of norm.
    const gramWeight = grams.length === 0 ? 0 : ngramWeight / Math.sqrt(grams.length)
    for (let i = 0; i < grams.length; i++) {
      const h = hash(grams[i]!, 0x1b873593)
      buckets[i + 1] = h % dimensions
      weights[i + 1] = h & 0x80000000 ? -gramWeight : gramWeight
    }
    features = { buckets, weights }
    if (cache.size >= FEATURE_CACHE_LIMIT) cache.clear()
    cache.set(term, features)
    return features
  }
  const counts = new Map<string, number>()
  const embed = (text: string, weightOf?: (term: string) => number): Float32Array => {
    const sums = new Float64Array(dimensions)
    counts.clear()
    for (const term of analyzer(text)) counts.set(term, (counts.get(term) ?? 0) + 1)
    for (const [term, tf] of counts) {
      const weight = (1 + Math.log(tf)) * (weightOf === undefined ? 1 : weightOf(term))
      if (!(weight > 0)) continue
      const { buckets, weights } = featuresOf(term)
      for (let i = 0; i < buckets.length; i++) sums[buckets[i]!]! += weight * weights[i]!
    }
    let norm = 0
    for (let i = 0; i < dimensions; i++) norm += sums[i]! * sums[i]!
    const vector = new Float32Array(dimensions)
    if (norm === 0) return vector
    const scale = 1 / Math.sqrt(norm)
    for (let i = 0; i < dimensions; i++) vector[i] = sums[i]! * scale
    return vector
  }
  return { options, name: modelName(options), terms: analyzer, embed }
}

/**
 * The lexical embedder behind the `EmbeddingModel` that `layer` provides,
 * with that model: a vector index that finds it in context, holding the
 * same model, embeds queries with idf weights (see the module header).
 */
export class Embedder extends Context.Service<
  Embedder,
  { readonly embedder: LexicalEmbedder; readonly model: EmbeddingModel.EmbeddingModel }
>()("weft/retrieval/LexicalEmbedding/Embedder") {}

/**
 * 32-bit FNV-1a over UTF-16 code units, then Murmur3's finaliser so every
 * output bit depends on every input bit; unsigned. Deterministic across
 * machines and Node versions (no `Math.random`, no engine string hash).
 */
const hash = (text: string, seed: number): number => {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * The lexical embedding as an `effect/ai` `EmbeddingModel`. `embedMany`
 * embeds a batch in one synchronous pass (≈ 0.1 ms a paragraph); single
 * `embed` calls made concurrently are batched by the model's resolver.
 */
export const make = (
  options?: LexicalEmbeddingOptions
): Effect.Effect<EmbeddingModel.EmbeddingModel, RetrievalError> =>
  Effect.map(makeWithEmbedder(options), ({ model }) => model)

const makeWithEmbedder = (options?: LexicalEmbeddingOptions) =>
  Effect.flatMap(resolveOptions(options), (resolved) => {
    const embedder = makeEmbedder(resolved)
    return Effect.map(
      EmbeddingModel.make({
        embedMany: ({ inputs }) =>
          Effect.sync(() => ({
            results: inputs.map((input) => Array.from(embedder.embed(input))),
            usage: { inputTokens: undefined }
          }))
      }),
      (model) => ({ embedder, model })
    )
  })

/**
 * Provides the lexical embedding as the `EmbeddingModel`, with its
 * `EmbeddingModel.Dimensions` and the `Embedder` behind it (so vector
 * searches weight queries by idf). Fails with `InvalidOption` for bad options.
 */
export const layer = (
  options?: LexicalEmbeddingOptions
): Layer.Layer<EmbeddingModel.EmbeddingModel | EmbeddingModel.Dimensions | Embedder, RetrievalError> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const built = yield* makeWithEmbedder(options)
      return Context.make(EmbeddingModel.EmbeddingModel, built.model).pipe(
        Context.add(EmbeddingModel.Dimensions, built.embedder.options.dimensions),
        Context.add(Embedder, built)
      )
    })
  )
