/**
 * An in-memory Okapi BM25 index: the lexical ranking behind the Retriever.
 *
 * Texts go through one analyzer (lowercase, Unicode word split, English stop
 * words, an inflectional suffix stemmer) at build and at query time. Postings
 * are stored column-wise in typed arrays (CSR: per-term offsets into one array
 * of document numbers and one of term frequencies), so building is two passes
 * over the tokens and a query touches only the postings of its own terms.
 *
 * Scores follow Lucene's BM25: idf = ln(1 + (N − df + 0.5) / (df + 0.5)),
 * which is always positive, times tf·(k1 + 1) / (tf + k1·(1 − b + b·len/avglen)).
 * A term repeated in the query counts once per occurrence, as in Lucene.
 *
 * Pure and synchronous; `search` reuses scratch buffers, so an index is not
 * safe to query from two threads at once (JavaScript never does).
 */
import { Effect } from "effect"
import { stem } from "../text/Stemmer.ts"
import { RetrievalError } from "./RetrievalError.ts"

export { stem } from "../text/Stemmer.ts"

export interface Bm25Options {
  /** Term-frequency saturation. Default 1.2. */
  readonly k1?: number
  /** Length normalisation, 0 (none) to 1 (full). Default 0.75. */
  readonly b?: number
  /** Whether the analyzer stems suffixes. Default true. */
  readonly stem?: boolean
}

export interface ResolvedBm25Options {
  readonly k1: number
  readonly b: number
  readonly stem: boolean
}

export const defaultOptions: ResolvedBm25Options = { k1: 1.2, b: 0.75, stem: true }

/** Fills in defaults and checks the options (k1 ≥ 0, 0 ≤ b ≤ 1), failing with `InvalidOptions`. */
export const resolveOptions = (options?: Bm25Options): Effect.Effect<ResolvedBm25Options, RetrievalError> => {
  const k1 = options?.k1 ?? defaultOptions.k1
  const b = options?.b ?? defaultOptions.b
  if (!Number.isFinite(k1) || k1 < 0 || !Number.isFinite(b) || b < 0 || b > 1) {
    return Effect.fail(
      new RetrievalError({
        reason: "InvalidOptions",
        message: `BM25 needs k1 >= 0 and 0 <= b <= 1 (got k1 ${k1}, b ${b}).`
      })
    )
  }
  return Effect.succeed({ k1, b, stem: options?.stem ?? defaultOptions.stem })
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
  /** Whether to stem suffixes. Default true. */
  readonly stem?: boolean
  /** Words dropped after lowercasing. Default `englishStopWords`. */
  readonly stopWords?: ReadonlySet<string>
}

/** Turns a text into the terms the index stores. */
export type Analyzer = (text: string) => Array<string>

// A word, with its apostrophes, dots and underscores when letters follow them
// (`don't`, `Step.make`, `top_k`): one pass finds words and code identifiers.
const TOKEN = /[\p{L}\p{M}\p{N}]+(?:['’._][\p{L}\p{M}\p{N}]+)*/gu
const JOINER = /[._]/
// Dotted names whose parts are at least two characters ("e.g." and "U.S." are not), and snake_case.
const JOINED_IDENTIFIER = /^[A-Za-z][A-Za-z0-9]+(?:\.[A-Za-z0-9]{2,}|_[A-Za-z0-9]+)+$/
const CAMEL_CASE = /^[a-z][a-z0-9]+(?:[A-Z][a-z0-9]+)+$/
const POSSESSIVE = /['’]s$/
const APOSTROPHE = /['’]/g
const ASCII_WORD = /^[a-z]+$/
const STEM_CACHE_LIMIT = 200_000

export const makeAnalyzer = (options?: AnalyzerOptions): Analyzer => {
  const stopWords = options?.stopWords ?? englishStopWords
  const shouldStem = options?.stem ?? true
  // Stemming is the costly step and vocabularies are Zipfian: remember each word's stem.
  const stems = new Map<string, string>()
  const addWord = (terms: Array<string>, raw: string) => {
    let word = raw.toLowerCase()
    if (word.length > 1 && (word.includes("'") || word.includes("’"))) {
      word = word.replace(POSSESSIVE, "").replace(APOSTROPHE, "")
    }
    if (stopWords.has(word)) return
    if (!shouldStem) {
      terms.push(word)
      return
    }
    let stemmed = stems.get(word)
    if (stemmed === undefined) {
      stemmed = ASCII_WORD.test(word) ? stem(word) : word
      if (stems.size >= STEM_CACHE_LIMIT) stems.clear()
      stems.set(word, stemmed)
    }
    terms.push(stemmed)
  }
  return (text) => {
    const terms: Array<string> = []
    for (const match of text.matchAll(TOKEN)) {
      const token = match[0]
      // Code identifiers (`Step.make`, `maxOutputTokens`, `top_k`) also count as
      // whole terms, so a query naming one finds the text that names it rather
      // than every text with its common parts ("step", "make").
      if (JOINER.test(token)) {
        if (JOINED_IDENTIFIER.test(token)) terms.push(token.toLowerCase())
        for (const part of token.split(JOINER)) addWord(terms, part)
        continue
      }
      if (CAMEL_CASE.test(token)) terms.push(token.toLowerCase())
      addWord(terms, token)
    }
    return terms
  }
}

/** The default analyzer: stop words removed, suffixes stemmed. */
export const analyze: Analyzer = makeAnalyzer()

// ---------------------------------------------------------------------------
// Index

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
   * given, is asked only about texts good enough to enter the current top K.
   */
  readonly search: (
    query: string,
    topK: number,
    accept?: (doc: number, score: number) => boolean
  ) => Array<Hit>
}

/** A growable Int32Array. */
class IntBuffer {
  data = new Int32Array(1024)
  length = 0
  push(value: number): void {
    if (this.length === this.data.length) this.data = grow(this.data)
    this.data[this.length++] = value
  }
}

/** Indexes texts; `Hit.doc` is a text's position in `texts`. */
export const build = (
  texts: ReadonlyArray<string>,
  options: ResolvedBm25Options = defaultOptions
): Bm25Index => {
  const analyzer = makeAnalyzer({ stem: options.stem })
  const vocabulary = new Map<string, number>()
  const size = texts.length
  const lengths = new Uint32Array(size)
  // Pass 1: per text, its distinct term ids and their counts, as flat (term, tf) pairs.
  const pairTerms = new IntBuffer()
  const pairTfs = new IntBuffer()
  const pairsEnd = new Uint32Array(size)
  let documentFrequency = new Int32Array(1024)
  let counts = new Int32Array(1024)
  const seen = new IntBuffer()
  let totalLength = 0
  for (let doc = 0; doc < size; doc++) {
    const tokens = analyzer(texts[doc]!)
    lengths[doc] = tokens.length
    totalLength += tokens.length
    seen.length = 0
    for (const token of tokens) {
      let id = vocabulary.get(token)
      if (id === undefined) {
        id = vocabulary.size
        vocabulary.set(token, id)
        if (id === counts.length) {
          counts = grow(counts)
          documentFrequency = grow(documentFrequency)
        }
      }
      if (counts[id] === 0) seen.push(id)
      counts[id]!++
    }
    for (let i = 0; i < seen.length; i++) {
      const id = seen.data[i]!
      pairTerms.push(id)
      pairTfs.push(counts[id]!)
      documentFrequency[id]!++
      counts[id] = 0
    }
    pairsEnd[doc] = pairTerms.length
  }

  // Pass 2: lay the pairs out by term (CSR); documents arrive in order, so each list is sorted.
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

  const idf = new Float64Array(terms)
  for (let t = 0; t < terms; t++) {
    const df = documentFrequency[t]!
    idf[t] = Math.log(1 + (size - df + 0.5) / (df + 0.5))
  }
  const averageLength = size === 0 ? 0 : totalLength / size
  // The length-dependent part of each text's denominator, k1·(1 − b + b·len/avglen).
  const norms = new Float64Array(size)
  for (let doc = 0; doc < size; doc++) {
    norms[doc] =
      options.k1 * (1 - options.b + (averageLength === 0 ? 0 : (options.b * lengths[doc]!) / averageLength))
  }

  const scores = new Float64Array(size)
  const touched = new Uint32Array(size)
  const k1Plus1 = options.k1 + 1

  const search = (
    query: string,
    topK: number,
    accept?: (doc: number, score: number) => boolean
  ): Array<Hit> => {
    const k = Math.floor(topK)
    if (!(k > 0) || size === 0) return []
    let touchedCount = 0
    for (const token of analyzer(query)) {
      const t = vocabulary.get(token)
      if (t === undefined) continue
      const weight = idf[t]! * k1Plus1
      for (let p = offsets[t]!, end = offsets[t + 1]!; p < end; p++) {
        const doc = postingDocs[p]!
        const tf = postingTfs[p]!
        if (scores[doc] === 0) touched[touchedCount++] = doc
        scores[doc]! += (weight * tf) / (tf + norms[doc]!)
      }
    }
    const heap = new TopK(Math.min(k, touchedCount))
    for (let i = 0; i < touchedCount; i++) {
      const doc = touched[i]!
      const score = scores[doc]!
      scores[doc] = 0
      if (heap.admits(doc, score) && (accept === undefined || accept(doc, score))) heap.push(doc, score)
    }
    return heap.sorted()
  }

  return { size, terms, averageLength, options, search }
}

const grow = (array: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
  const grown = new Int32Array(array.length * 2)
  grown.set(array)
  return grown
}

/** A bounded min-heap keeping the K best (score desc, doc asc) hits. */
class TopK {
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
