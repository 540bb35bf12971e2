/**
 * An in-memory Okapi BM25 index: the lexical ranking behind the Retriever.
 *
 * Texts go through one analyzer (lowercase, Unicode word split, English stop
 * words, Porter's stemmer unless the options choose the light one or none) at
 * build and at query time. Like
 * Lucene's StandardTokenizer, the analyzer makes each Han ideograph and each
 * Hiragana character a term of its own and keeps a Katakana or Hangul run
 * whole, so Chinese and Japanese text, written without spaces, is searchable.
 * Postings are stored column-wise in typed arrays (CSR: per-term offsets into
 * one array of document numbers and one of term frequencies), so building is
 * two passes over the tokens and a query touches only the postings of its own
 * terms.
 *
 * Scores follow Lucene's BM25: idf = ln(1 + (N − df + 0.5) / (df + 0.5)),
 * which is always positive, times tf·(k1 + 1) / (tf + k1·(1 − b + b·len/avglen)).
 * A term repeated in the query counts once per occurrence, as in Lucene.
 * A search may expand its query (`QueryExpansion`): index terms related to
 * the query's own (synonyms) score too, each once, at a fraction of their
 * weight, so a text naming the query's words still outranks one naming only
 * their synonyms. Without it a search scores the query's terms alone.
 *
 * `make` builds an index as an Effect that yields to the scheduler every few
 * milliseconds of work, so building a large corpus can be interrupted
 * (Ctrl-C) at once; `build` is the same work as one synchronous loop, for benches and
 * small corpora. `search` reuses scratch buffers and calls the caller's
 * `accept` only after taking its scores out of them, so a throwing `accept`
 * leaves the index as it was.
 */
import { Effect } from "effect"
import { show } from "../core/InvalidOption.ts"
import { type StemmerName, stemmerNamed } from "../text/Stemmer.ts"
import { invalidOption, type RetrievalError } from "./RetrievalError.ts"

export { porterStem, type StemmerName, stem } from "../text/Stemmer.ts"

export interface Bm25Options {
  /** Term-frequency saturation. Default 1.2. */
  readonly k1?: number | undefined
  /** Length normalisation, 0 (none) to 1 (full). Default 0.75. */
  readonly b?: number | undefined
  /**
   * How the analyzer stems words: `"porter"` (the full Porter algorithm, the
   * default, as Lucene's and Anserini's English analyzers), `"light"`
   * (inflections only, as the Local model matches words), or `"none"`.
   * `true` is the default stemmer, `false` the same as `"none"`.
   */
  readonly stem?: boolean | StemmerName | "none" | undefined
}

export interface ResolvedBm25Options {
  readonly k1: number
  readonly b: number
  readonly stem: StemmerName | "none"
}

export const defaultOptions: ResolvedBm25Options = { k1: 1.2, b: 0.75, stem: "porter" }

/** The stemmer a `stem` option names, or undefined when it names none we know. */
const resolveStem = (option: boolean | StemmerName | "none" | undefined): StemmerName | "none" | undefined =>
  option === undefined || option === true
    ? defaultOptions.stem
    : option === false
      ? "none"
      : option === "porter" || option === "light" || option === "none"
        ? option
        : undefined

/**
 * Fills in defaults and checks the options (k1 ≥ 0, 0 ≤ b ≤ 1), failing with
 * `InvalidOption`. `prefix` is prepended to the option names the error
 * reports (the Retriever passes `"bm25."`).
 */
export const resolveOptions = (
  options?: Bm25Options,
  prefix = ""
): Effect.Effect<ResolvedBm25Options, RetrievalError> => {
  const k1 = options?.k1 ?? defaultOptions.k1
  const b = options?.b ?? defaultOptions.b
  if (!(Number.isFinite(k1) && k1 >= 0)) {
    return Effect.fail(invalidOption(`${prefix}k1`, show(k1), "a finite number ≥ 0"))
  }
  if (!(Number.isFinite(b) && b >= 0 && b <= 1)) {
    return Effect.fail(invalidOption(`${prefix}b`, show(b), "a number from 0 to 1"))
  }
  const stem = resolveStem(options?.stem)
  if (stem === undefined) {
    return Effect.fail(
      invalidOption(`${prefix}stem`, show(options?.stem), 'true, false, "porter", "light" or "none"')
    )
  }
  return Effect.succeed({ k1, b, stem })
}

// ---------------------------------------------------------------------------
// Analyzer

/** Lucene's default English stop words (the set Anserini's BM25 baselines use). */
export const englishStopWords: ReadonlySet<string> = new Set([
  "a",
  "an",
  "and",
  "are",
  "as",
  "at",
  "be",
  "but",
  "by",
  "for",
  "if",
  "in",
  "into",
  "is",
  "it",
  "no",
  "not",
  "of",
  "on",
  "or",
  "such",
  "that",
  "the",
  "their",
  "then",
  "there",
  "these",
  "they",
  "this",
  "to",
  "was",
  "will",
  "with"
])

export interface AnalyzerOptions {
  /** How to stem words, as `Bm25Options.stem`. Default `"porter"`. */
  readonly stem?: boolean | StemmerName | "none" | undefined
  /** Words dropped after lowercasing. Default `englishStopWords`. */
  readonly stopWords?: ReadonlySet<string> | undefined
}

/** Turns a text into the terms the index stores. */
export type Analyzer = (text: string) => Array<string>

// One pass finds three kinds of token, as Lucene's StandardTokenizer does: a
// single Han ideograph or Hiragana character (with its combining marks); a run
// of Katakana (with the prolonged sound mark ー); and a word of other letters
// and digits (Hangul included), with its apostrophes, dots and underscores
// when letters follow them (`don't`, `Step.make`, `top_k`), so code
// identifiers are found in the same pass.
const CJK = String.raw`\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}`
const WORD = String.raw`[[\p{L}\p{M}\p{N}]--[${CJK}]]+`
// Built from a string: the `v` flag (set difference) is ES2024 syntax.
const TOKEN = new RegExp(
  String.raw`[\p{Script=Han}\p{Script=Hiragana}]\p{M}*|\p{Script=Katakana}[\p{Script=Katakana}\u30FC\p{M}]*|${WORD}(?:['’._]${WORD})*`,
  "gv"
)
const JOINER = /[._]/
// Dotted names whose parts are at least two characters ("e.g." and "U.S." are not), and snake_case.
const JOINED_IDENTIFIER = /^[A-Za-z][A-Za-z0-9]+(?:\.[A-Za-z0-9]{2,}|_[A-Za-z0-9]+)+$/
const CAMEL_CASE = /^[a-z][a-z0-9]+(?:[A-Z][a-z0-9]+)+$/
const POSSESSIVE = /['’]s$/
const APOSTROPHE = /['’]/g
const ASCII_WORD = /^[a-z]+$/
const STEM_CACHE_LIMIT = 200_000
const TOKEN_CACHE_LIMIT = 200_000

/** The terms one token of a text stands for: a term alone (as most are) as the string itself. */
type TokenTerms = (token: string) => string | ReadonlyArray<string>

/** What `makeAnalyzer` does to each token the text splits into (each word's stem worked out once). */
const makeTokenAnalysis = (options?: AnalyzerOptions): TokenTerms => {
  const stopWords = options?.stopWords ?? englishStopWords
  const stemName = resolveStem(options?.stem) ?? defaultOptions.stem
  const stemmer = stemName === "none" ? undefined : stemmerNamed(stemName)
  // Stemming is the costly step and vocabularies are Zipfian: remember each word's stem.
  const stems = new Map<string, string>()
  const addWord = (terms: Array<string>, raw: string) => {
    let word = raw.toLowerCase()
    if (word.length > 1 && (word.includes("'") || word.includes("’"))) {
      word = word.replace(POSSESSIVE, "").replace(APOSTROPHE, "")
    }
    if (stopWords.has(word)) return
    if (stemmer === undefined) {
      terms.push(word)
      return
    }
    let stemmed = stems.get(word)
    if (stemmed === undefined) {
      stemmed = ASCII_WORD.test(word) ? stemmer(word) : word
      if (stems.size >= STEM_CACHE_LIMIT) stems.clear()
      stems.set(word, stemmed)
    }
    terms.push(stemmed)
  }
  return (token) => {
    const terms: Array<string> = []
    // Code identifiers (`Step.make`, `maxOutputTokens`, `top_k`) also count as
    // whole terms, so a query naming one finds the text that names it rather
    // than every text with its common parts ("step", "make").
    if (JOINER.test(token)) {
      if (JOINED_IDENTIFIER.test(token)) terms.push(token.toLowerCase())
      for (const part of token.split(JOINER)) addWord(terms, part)
    } else {
      if (CAMEL_CASE.test(token)) terms.push(token.toLowerCase())
      addWord(terms, token)
    }
    return terms.length === 1 ? terms[0]! : terms
  }
}

/** `analysis` with each distinct token's terms remembered: tokens repeat as words do. */
const remembered = (analysis: TokenTerms): TokenTerms => {
  const tokenTerms = new Map<string, string | ReadonlyArray<string>>()
  return (token) => {
    let own = tokenTerms.get(token)
    if (own === undefined) {
      own = analysis(token)
      if (tokenTerms.size >= TOKEN_CACHE_LIMIT) tokenTerms.clear()
      tokenTerms.set(token, own)
    }
    return own
  }
}

/** An analyzer whose tokens `termsOf` turns into terms. */
const analyzerOf =
  (termsOf: TokenTerms): Analyzer =>
  (text) => {
    const terms: Array<string> = []
    for (const match of text.matchAll(TOKEN)) {
      const own = termsOf(match[0])
      if (typeof own === "string") terms.push(own)
      else for (let i = 0; i < own.length; i++) terms.push(own[i]!)
    }
    return terms
  }

export const makeAnalyzer = (options?: AnalyzerOptions): Analyzer =>
  analyzerOf(remembered(makeTokenAnalysis(options)))

/** The default analyzer: stop words removed, words stemmed by Porter's algorithm. */
export const analyze: Analyzer = makeAnalyzer()

// ---------------------------------------------------------------------------
// Index

/**
 * Terms to add to a query: `related` maps one of the query's analyzed terms
 * (lowercased, stemmed) to index terms that may stand for it; each related
 * term not already in the query scores once, times `weight` (0 to 1).
 */
export interface QueryExpansion {
  readonly related: (term: string) => Iterable<string>
  readonly weight: number
}

/** A matching text: its position in the array the index was built from, and its score. */
export interface Hit {
  readonly doc: number
  readonly score: number
}

export interface Bm25Index {
  /** How many texts the index holds. */
  readonly size: number
  /** How many distinct terms it holds. */
  readonly terms: number
  /** The mean number of terms per text. */
  readonly averageLength: number
  readonly options: ResolvedBm25Options
  /**
   * The `topK` best-scoring texts for a query, highest score first (ties: lower
   * `doc` first). Only texts sharing a term with the query score. `accept`, if
   * given, is asked only about texts good enough to enter the current top K;
   * if it throws, the throw propagates and later queries are unaffected.
   * `expansion`, if given, adds related terms to the query (see `QueryExpansion`).
   */
  readonly search: (
    query: string,
    topK: number,
    accept?: (doc: number, score: number) => boolean,
    expansion?: QueryExpansion
  ) => Array<Hit>
  /** The index as data, to restore later with `fromSnapshot`. */
  readonly snapshot: () => Bm25Snapshot
}

/** Indexes texts; `Hit.doc` is a text's position in `texts`. One synchronous loop: see `make` to build interruptibly. */
export const build = (
  texts: ReadonlyArray<string>,
  options: ResolvedBm25Options = defaultOptions
): Bm25Index => {
  const builder = new IndexBuilder(options)
  for (const text of texts) builder.add(text)
  return builder.finish()
}

/**
 * How often `make` yields: after this many texts or characters,
 * whichever comes first — a few milliseconds of work on an idle core, so an
 * interrupt lands well within 100 ms on a busy one. A yield costs microseconds.
 */
const YIELD_EVERY_TEXTS = 128
const YIELD_EVERY_CHARS = 32_768

/**
 * Indexes texts as `build` does, checking the options first (`InvalidOption`)
 * and yielding to the scheduler every few milliseconds of work, so an interruption
 * (Ctrl-C while a large corpus is indexed) takes effect within milliseconds.
 * A single text is indexed whole.
 */
export const make = (
  texts: ReadonlyArray<string>,
  options?: Bm25Options,
  /** Called at each yield and at the end with the number of texts indexed so far; must not throw. */
  onProgress?: (indexed: number) => void
): Effect.Effect<Bm25Index, RetrievalError> =>
  Effect.flatMap(resolveOptions(options), (resolved) =>
    Effect.gen(function* () {
      const builder = new IndexBuilder(resolved)
      let textsSinceYield = 0
      let charsSinceYield = 0
      let indexed = 0
      for (const text of texts) {
        builder.add(text)
        indexed += 1
        charsSinceYield += text.length
        if (++textsSinceYield >= YIELD_EVERY_TEXTS || charsSinceYield >= YIELD_EVERY_CHARS) {
          textsSinceYield = 0
          charsSinceYield = 0
          onProgress?.(indexed)
          yield* Effect.yieldNow
        }
      }
      onProgress?.(indexed)
      return builder.finish()
    })
  )

/** A growable Int32Array. */
class IntBuffer {
  data = new Int32Array(1024)
  length = 0
  push(value: number): void {
    if (this.length === this.data.length) this.data = grow(this.data)
    this.data[this.length++] = value
  }
}

/** Pass 1 of a build, one text at a time: each text's distinct term ids and their counts, as flat (term, tf) pairs. */
class IndexBuilder {
  readonly options: ResolvedBm25Options
  /** A token's terms, worked out anew: `tokenIds` already remembers each token a build meets. */
  readonly termsOf: TokenTerms
  /** The queries' analyzer, remembering their tokens' terms (and sharing the build's stems). */
  readonly analyzer: Analyzer
  readonly vocabulary = new Map<string, number>()
  /** Each distinct token's term ids (one as the number itself), so a repeated token costs one lookup. */
  readonly tokenIds = new Map<string, number | ReadonlyArray<number>>()
  readonly pairTerms = new IntBuffer()
  readonly pairTfs = new IntBuffer()
  /** Per text, the end of its pairs. */
  readonly pairsEnd = new IntBuffer()
  readonly lengths = new IntBuffer()
  readonly seen = new IntBuffer()
  documentFrequency = new Int32Array(1024)
  counts = new Int32Array(1024)

  constructor(options: ResolvedBm25Options) {
    this.options = options
    this.termsOf = makeTokenAnalysis({ stem: options.stem })
    this.analyzer = analyzerOf(remembered(this.termsOf))
  }

  /** A term's id, a new one when the term is new. */
  idOf(term: string): number {
    let id = this.vocabulary.get(term)
    if (id === undefined) {
      id = this.vocabulary.size
      this.vocabulary.set(term, id)
      if (id === this.counts.length) {
        this.counts = grow(this.counts)
        this.documentFrequency = grow(this.documentFrequency)
      }
    }
    return id
  }

  /** Indexes one text: the analyzer's terms, in order, each counted by its id. */
  add(text: string): void {
    const { tokenIds, seen } = this
    let counts = this.counts
    let length = 0
    seen.length = 0
    for (const match of text.matchAll(TOKEN)) {
      const token = match[0]
      let ids = tokenIds.get(token)
      if (ids === undefined) {
        const terms = this.termsOf(token)
        ids = typeof terms === "string" ? this.idOf(terms) : terms.map((term) => this.idOf(term))
        if (tokenIds.size >= TOKEN_CACHE_LIMIT) tokenIds.clear()
        tokenIds.set(token, ids)
        counts = this.counts
      }
      if (typeof ids === "number") {
        if (counts[ids] === 0) seen.push(ids)
        counts[ids]!++
        length++
        continue
      }
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!
        if (counts[id] === 0) seen.push(id)
        counts[id]!++
      }
      length += ids.length
    }
    this.lengths.push(length)
    const documentFrequency = this.documentFrequency
    for (let i = 0; i < seen.length; i++) {
      const id = seen.data[i]!
      this.pairTerms.push(id)
      this.pairTfs.push(counts[id]!)
      documentFrequency[id]!++
      counts[id] = 0
    }
    this.pairsEnd.push(this.pairTerms.length)
  }

  /** Pass 2: lays the pairs out by term (CSR) and returns the index. */
  finish(): Bm25Index {
    const { vocabulary, pairTerms, pairTfs, documentFrequency } = this
    const size = this.lengths.length
    const pairsEnd = this.pairsEnd.data
    // Texts arrive in order, so each term's list comes out sorted by document.
    const terms = vocabulary.size
    const offsets = new Uint32Array(terms + 1)
    for (let t = 0; t < terms; t++) offsets[t + 1] = offsets[t]! + documentFrequency[t]!
    const postingDocs = new Uint32Array(pairTerms.length)
    const postingTfs = new Float32Array(pairTerms.length)
    const cursor = offsets.slice(0, terms)
    let pair = 0
    for (let doc = 0; doc < size; doc++) {
      for (const end = pairsEnd[doc]!; pair < end; pair++) {
        const t = pairTerms.data[pair]!
        const at = cursor[t]!++
        postingDocs[at] = doc
        postingTfs[at] = pairTfs.data[pair]!
      }
    }
    return searchable(
      {
        options: this.options,
        vocabulary,
        offsets,
        postingDocs,
        postingTfs,
        lengths: this.lengths.data.slice(0, size)
      },
      this.analyzer
    )
  }
}

/** An index's postings, laid out by term (CSR), and each text's length in terms. */
interface Postings {
  readonly options: ResolvedBm25Options
  /** Term → its id, the position of its postings in `offsets`. */
  readonly vocabulary: ReadonlyMap<string, number>
  /** Term id → the start of its postings; one more entry than terms, the last the postings' count. */
  readonly offsets: Uint32Array
  /** Each posting's text, ascending within a term. */
  readonly postingDocs: Uint32Array
  /** Each posting's term frequency. */
  readonly postingTfs: Float32Array
  /** Each text's length in terms. */
  readonly lengths: Int32Array
}

/** The index over postings: idf and length norms worked out, and queries analysed by `analyzer`. */
const searchable = (postings: Postings, analyzer: Analyzer): Bm25Index => {
  const { options, vocabulary, offsets, postingDocs, postingTfs, lengths } = postings
  const size = lengths.length
  const terms = vocabulary.size
  const idf = new Float64Array(terms)
  for (let t = 0; t < terms; t++) {
    const df = offsets[t + 1]! - offsets[t]!
    idf[t] = Math.log(1 + (size - df + 0.5) / (df + 0.5))
  }
  let totalLength = 0
  for (let doc = 0; doc < size; doc++) totalLength += lengths[doc]!
  const averageLength = size === 0 ? 0 : totalLength / size
  // The length-dependent part of each text's denominator, k1·(1 − b + b·len/avglen).
  const norms = new Float64Array(size)
  for (let doc = 0; doc < size; doc++) {
    norms[doc] =
      options.k1 * (1 - options.b + (averageLength === 0 ? 0 : (options.b * lengths[doc]!) / averageLength))
  }

  // Scratch, reused by every query: a score per text (0 = untouched) and the texts touched.
  const scores = new Float64Array(size)
  const touched = new Uint32Array(size)
  const k1Plus1 = options.k1 + 1

  /** Scores the query into the scratch buffers; returns how many texts it touched. */
  const score = (query: string, expansion: QueryExpansion | undefined): number => {
    let touchedCount = 0
    const addTerm = (token: string, factor: number) => {
      const t = vocabulary.get(token)
      if (t === undefined) return
      const weight = idf[t]! * k1Plus1 * factor
      for (let p = offsets[t]!, end = offsets[t + 1]!; p < end; p++) {
        const doc = postingDocs[p]!
        const tf = postingTfs[p]!
        if (scores[doc] === 0) touched[touchedCount++] = doc
        scores[doc]! += (weight * tf) / (tf + norms[doc]!)
      }
    }
    const tokens = analyzer(query)
    for (const token of tokens) addTerm(token, 1)
    if (expansion !== undefined && expansion.weight > 0) {
      // Each related term scores once, however many of the query's terms it relates to.
      const added = new Set(tokens)
      for (const token of new Set(tokens)) {
        for (const related of expansion.related(token)) {
          if (added.has(related)) continue
          added.add(related)
          addTerm(related, expansion.weight)
        }
      }
    }
    return touchedCount
  }

  const search = (
    query: string,
    topK: number,
    accept?: (doc: number, score: number) => boolean,
    expansion?: QueryExpansion
  ): Array<Hit> => {
    const k = Math.floor(topK)
    if (!(k > 0) || size === 0) return []
    const touchedCount = score(query, expansion)
    const heap = new TopK(Math.min(k, touchedCount))
    if (accept === undefined) {
      for (let i = 0; i < touchedCount; i++) {
        const doc = touched[i]!
        const docScore = scores[doc]!
        scores[doc] = 0
        if (heap.admits(doc, docScore)) heap.push(doc, docScore)
      }
      return heap.sorted()
    }
    // `accept` is the caller's code: move the scores out of the shared
    // scratch first, so a throw (or a search from inside it) cannot leave
    // stale scores behind for the next query.
    const docs = touched.slice(0, touchedCount)
    const docScores = new Float64Array(touchedCount)
    for (let i = 0; i < touchedCount; i++) {
      const doc = docs[i]!
      docScores[i] = scores[doc]!
      scores[doc] = 0
    }
    for (let i = 0; i < touchedCount; i++) {
      const doc = docs[i]!
      const docScore = docScores[i]!
      if (heap.admits(doc, docScore) && accept(doc, docScore)) heap.push(doc, docScore)
    }
    return heap.sorted()
  }

  const snapshot = (): Bm25Snapshot => ({
    options,
    terms: [...vocabulary.keys()],
    offsets: offsets.slice(),
    postingDocs: postingDocs.slice(),
    postingTfs: postingTfs.slice(),
    lengths: lengths.slice()
  })

  return { size, terms, averageLength, options, search, snapshot }
}

/**
 * An index as data, to keep (e.g. in a file, as `Retriever`'s `cache` does) and
 * restore with `fromSnapshot` instead of analysing its texts again. Its arrays
 * are copies: changing them changes neither index.
 */
export interface Bm25Snapshot {
  readonly options: ResolvedBm25Options
  /** The index's terms, each at its id. */
  readonly terms: ReadonlyArray<string>
  /** Term id → where its postings start in `postingDocs`; `terms.length + 1` entries, the last their count. */
  readonly offsets: Uint32Array
  /** Each posting's text, ascending within a term. */
  readonly postingDocs: Uint32Array
  /** Each posting's term frequency. */
  readonly postingTfs: Float32Array
  /** Each text's length in terms; its length is the index's size. */
  readonly lengths: Int32Array
}

/**
 * The index a snapshot was taken of: it ranks every query as that index did.
 * Undefined when the snapshot does not hold together (the arrays' lengths
 * disagree, postings point past the texts or are out of order, a term is
 * repeated, or the options are not valid), so a damaged one is never searched.
 */
export const fromSnapshot = (snapshot: Bm25Snapshot): Bm25Index | undefined => {
  const { terms, offsets, postingDocs, postingTfs, lengths } = snapshot
  const options = resolveSnapshotOptions(snapshot.options)
  if (options === undefined) return undefined
  if (offsets.length !== terms.length + 1 || offsets[0] !== 0) return undefined
  if (offsets[terms.length] !== postingDocs.length || postingTfs.length !== postingDocs.length)
    return undefined
  const size = lengths.length
  for (let t = 0; t < terms.length; t++) {
    const start = offsets[t]!
    const end = offsets[t + 1]!
    if (end < start) return undefined
    for (let p = start; p < end; p++) {
      if (postingDocs[p]! >= size || (p > start && postingDocs[p]! <= postingDocs[p - 1]!)) return undefined
      if (!(postingTfs[p]! > 0)) return undefined
    }
  }
  for (let doc = 0; doc < size; doc++) if (!(lengths[doc]! >= 0)) return undefined
  const vocabulary = new Map<string, number>()
  for (let t = 0; t < terms.length; t++) vocabulary.set(terms[t]!, t)
  if (vocabulary.size !== terms.length) return undefined
  return searchable(
    {
      options,
      vocabulary,
      offsets: offsets.slice(),
      postingDocs: postingDocs.slice(),
      postingTfs: postingTfs.slice(),
      lengths: lengths.slice()
    },
    makeAnalyzer({ stem: options.stem })
  )
}

/** A snapshot's options when they are ones `resolveOptions` could have given. */
const resolveSnapshotOptions = (options: ResolvedBm25Options): ResolvedBm25Options | undefined =>
  typeof options === "object" &&
  options !== null &&
  Number.isFinite(options.k1) &&
  options.k1 >= 0 &&
  Number.isFinite(options.b) &&
  options.b >= 0 &&
  options.b <= 1 &&
  resolveStem(options.stem) === options.stem
    ? { k1: options.k1, b: options.b, stem: options.stem }
    : undefined

const grow = (array: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
  const grown = new Int32Array(array.length * 2)
  grown.set(array)
  return grown
}

/** A bounded min-heap keeping the K best (score desc, doc asc) hits; the vector index ranks with it too. */
export class TopK {
  readonly capacity: number
  readonly docs: Uint32Array
  readonly scores: Float64Array
  length = 0

  constructor(capacity: number) {
    this.capacity = capacity
    this.docs = new Uint32Array(capacity)
    this.scores = new Float64Array(capacity)
  }

  /** Whether (doc, score) would enter the heap. */
  admits(doc: number, score: number): boolean {
    if (this.length < this.capacity) return true
    return this.capacity > 0 && this.worse(0, doc, score)
  }

  push(doc: number, score: number): void {
    if (this.length < this.capacity) {
      let i = this.length++
      this.docs[i] = doc
      this.scores[i] = score
      while (i > 0) {
        const parent = (i - 1) >> 1
        if (!this.less(i, parent)) break
        this.swap(i, parent)
        i = parent
      }
      return
    }
    this.docs[0] = doc
    this.scores[0] = score
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < this.length && this.less(left, smallest)) smallest = left
      if (right < this.length && this.less(right, smallest)) smallest = right
      if (smallest === i) break
      this.swap(i, smallest)
      i = smallest
    }
  }

  sorted(): Array<Hit> {
    const hits: Array<Hit> = []
    for (let i = 0; i < this.length; i++) hits.push({ doc: this.docs[i]!, score: this.scores[i]! })
    return hits.sort((x, y) => y.score - x.score || x.doc - y.doc)
  }

  /** Whether the hit at i ranks below the hit at j. */
  private less(i: number, j: number): boolean {
    const si = this.scores[i]!
    const sj = this.scores[j]!
    return si < sj || (si === sj && this.docs[i]! > this.docs[j]!)
  }

  /** Whether the hit at i ranks below (doc, score). */
  private worse(i: number, doc: number, score: number): boolean {
    const si = this.scores[i]!
    return si < score || (si === score && this.docs[i]! > doc)
  }

  private swap(i: number, j: number): void {
    const doc = this.docs[i]!
    const score = this.scores[i]!
    this.docs[i] = this.docs[j]!
    this.scores[i] = this.scores[j]!
    this.docs[j] = doc
    this.scores[j] = score
  }
}
