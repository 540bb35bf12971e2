/**
 * Splits documents into overlapping chunks, the unit the retriever indexes and
 * returns.
 *
 * A chunk is at most `size` whitespace-separated words and at most `maxTokens`
 * model tokens (`Tokens.countText`). Words are the cheap measure that shapes
 * prose; the token cap binds where words say little — a line of base64, a
 * minified file, a Chinese or Japanese paragraph written without spaces. A
 * chunk's tokens are estimated from its words' counts, each distinct word
 * counted once and remembered (a bounded table: past some 180,000 distinct
 * words it starts afresh), and counted exactly only when the estimate comes
 * near the cap; a "word" of more than an eighth of the cap is cut by characters
 * into pieces, preferably after a sentence or clause mark (。 ！ ？ ， . ; …),
 * each piece then counting as a word.
 *
 * A chunk never crosses a markdown heading; it carries the nearest heading
 * above it as its `title`. Within a section a chunk ends at the strongest break
 * it can find in its second half — a paragraph end, else a sentence end, else
 * a line end — and the next chunk starts about `overlap` words earlier (fewer
 * when the token cap shortened the chunk, in proportion), at a sentence start
 * when one is near, so a fact cut by a boundary is whole in one of the two. A
 * chunk that starts or ends inside a fenced code block reopens or closes the
 * fence.
 *
 * `chunkDocuments` is an Effect that yields to the scheduler every few
 * milliseconds of work, so chunking a large corpus can be interrupted at once;
 * `chunkDocument` chunks one document synchronously.
 */
import { Effect, Schema } from "effect"
import { show } from "../core/InvalidOption.ts"
import { countText, warm } from "../text/Tokens.ts"
import { invalidOption, type RetrievalError } from "./RetrievalError.ts"

/** Free-form document metadata, stored as JSON (e.g. an author, a URL). */
export const Metadata = Schema.Record(Schema.String, Schema.Json)
export type Metadata = typeof Metadata.Type

/**
 * A text to chunk, named by where it came from (e.g. a path relative to a
 * folder), with optional metadata a search can filter on. Absent `tags` means
 * no tags.
 */
export const Document = Schema.Struct({
  sourceId: Schema.String,
  text: Schema.String,
  /** The document's title (a file's first markdown heading, a JSON record's title field). */
  title: Schema.optionalKey(Schema.String),
  /** When the document last changed, in epoch milliseconds (a file's mtime). */
  updatedAt: Schema.optionalKey(Schema.Int),
  tags: Schema.optionalKey(Schema.Array(Schema.String)),
  metadata: Schema.optionalKey(Metadata)
})
export interface Document extends Schema.Schema.Type<typeof Document> {}

/** A piece of a document: the unit the retriever indexes and returns. */
export const Chunk = Schema.Struct({
  /** `${sourceId}#${index}`, unique within a corpus of distinct source ids. */
  id: Schema.String,
  sourceId: Schema.String,
  /** The chunk's position in its document, from 0. */
  index: Schema.Int,
  /** The nearest markdown heading above the chunk, if any. */
  title: Schema.optionalKey(Schema.String),
  text: Schema.String
})
export interface Chunk extends Schema.Schema.Type<typeof Chunk> {}

export interface ChunkOptions {
  /** The most words a chunk holds. Default 180. */
  readonly size?: number | undefined
  /** About how many words consecutive chunks of a section share, less than `size`. Default 40. */
  readonly overlap?: number | undefined
  /**
   * The most tokens a chunk holds, at least 32. Default `2.5 × size` (450 for
   * the default size): about twice what English prose takes (≈ 1.3 tokens a
   * word), so on prose the word count decides.
   */
  readonly maxTokens?: number | undefined
  /**
   * Chunk by tokens instead of words: each chunk holds at most this many
   * tokens (at least 32). It sets `maxTokens`, and `size` (in words) defaults to
   * it — a word is at least one token, so the token count decides — with
   * `overlap` defaulting to about a fifth of it (scaled, as under any binding
   * token cap, to the chunk's share of `size`). Not with `maxTokens`.
   */
  readonly tokens?: number | undefined
}

/** Options checked by `resolveOptions`: integers with `size > overlap >= 0` and `maxTokens >= 32`. */
export interface ResolvedChunkOptions {
  readonly size: number
  readonly overlap: number
  readonly maxTokens: number
}

/** The fewest tokens `maxTokens` may be: room for a piece of a word and a code fence's lines. */
export const minMaxTokens = 32

const defaultMaxTokens = (size: number): number => Math.max(minMaxTokens, Math.ceil(size * 2.5))

export const defaultOptions: ResolvedChunkOptions = {
  size: 180,
  overlap: 40,
  maxTokens: defaultMaxTokens(180)
}

/**
 * Fills in defaults and checks the options, failing with `InvalidOption`
 * naming the option. `prefix` is prepended to the names the error reports
 * (the Retriever passes `"chunking."`).
 */
export const resolveOptions = (
  options?: ChunkOptions,
  prefix = ""
): Effect.Effect<ResolvedChunkOptions, RetrievalError> => {
  const tokens = options?.tokens
  if (tokens !== undefined) {
    if (!(Number.isInteger(tokens) && tokens >= minMaxTokens)) {
      return Effect.fail(invalidOption(`${prefix}tokens`, show(tokens), `an integer ≥ ${minMaxTokens}`))
    }
    if (options?.maxTokens !== undefined && options.maxTokens !== tokens) {
      return Effect.fail(
        invalidOption(`${prefix}maxTokens`, show(options.maxTokens), `unset, or equal to tokens (${tokens})`)
      )
    }
  }
  const size = options?.size ?? tokens ?? defaultOptions.size
  const overlap =
    options?.overlap ??
    (tokens === undefined ? defaultOptions.overlap : Math.min(size - 1, Math.round((tokens * 2) / 9)))
  if (!(Number.isInteger(size) && size >= 1)) {
    return Effect.fail(invalidOption(`${prefix}size`, show(size), "an integer ≥ 1"))
  }
  if (!(Number.isInteger(overlap) && overlap >= 0 && overlap < size)) {
    return Effect.fail(
      invalidOption(`${prefix}overlap`, show(overlap), `an integer ≥ 0 and less than size (${size})`)
    )
  }
  const maxTokens = tokens ?? options?.maxTokens ?? defaultMaxTokens(size)
  if (!(Number.isInteger(maxTokens) && maxTokens >= minMaxTokens)) {
    return Effect.fail(invalidOption(`${prefix}maxTokens`, show(maxTokens), `an integer ≥ ${minMaxTokens}`))
  }
  return Effect.succeed({ size, overlap, maxTokens })
}

/**
 * How often `chunkDocuments` yields: after this many documents or characters,
 * whichever comes first — a few milliseconds of work on an idle core, so an
 * interrupt lands well within 100 ms on a busy one. A yield costs microseconds.
 */
const YIELD_EVERY_DOCUMENTS = 128
const YIELD_EVERY_CHARS = 65_536

/**
 * Chunks many documents with the same options, in order, yielding to the
 * scheduler every few milliseconds of work so that an interruption takes effect
 * within milliseconds (a single document is chunked whole). It loads the
 * tokenizer first, interruptibly too.
 */
export const chunkDocuments = (
  documents: ReadonlyArray<Document>,
  options?: ChunkOptions,
  /** Called at each yield and at the end with the documents chunked so far and their chunks; must not throw. */
  onProgress?: (documentsDone: number, chunks: number) => void
): Effect.Effect<Array<Chunk>, RetrievalError> =>
  Effect.flatMap(resolveOptions(options), (resolved) =>
    Effect.gen(function* () {
      // Load the tokenizer interruptibly here rather than in the first count.
      yield* warm
      const chunks: Array<Chunk> = []
      let documentsSinceYield = 0
      let charsSinceYield = 0
      let done = 0
      for (const document of documents) {
        for (const chunk of chunkDocument(document, resolved)) chunks.push(chunk)
        done += 1
        charsSinceYield += document.text.length
        if (++documentsSinceYield >= YIELD_EVERY_DOCUMENTS || charsSinceYield >= YIELD_EVERY_CHARS) {
          documentsSinceYield = 0
          charsSinceYield = 0
          onProgress?.(done, chunks.length)
          yield* Effect.yieldNow
        }
      }
      onProgress?.(done, chunks.length)
      return chunks
    })
  )

/**
 * Chunks one document. Pure and synchronous; `options` should come from
 * `resolveOptions` (out-of-range values still terminate, as every chunk
 * advances by at least one word).
 */
export const chunkDocument = (
  document: Document,
  options: ResolvedChunkOptions = defaultOptions
): Array<Chunk> => {
  const chunks: Array<Chunk> = []
  for (const section of splitSections(document.text)) {
    for (const text of chunkSection(section.body, options)) {
      const index = chunks.length
      const id = `${document.sourceId}#${index}`
      chunks.push(
        section.title === undefined
          ? { id, sourceId: document.sourceId, index, text }
          : { id, sourceId: document.sourceId, index, title: section.title, text }
      )
    }
  }
  return chunks
}

/** The text of a markdown text's first ATX heading (`# …` to `###### …`) outside code fences, if any. */
export const firstHeading = (text: string): string | undefined => {
  let fence: string | undefined
  for (const line of text.split(/\r?\n/)) {
    const fenceMatch = FENCE.exec(line)
    if (fenceMatch) {
      if (fence === undefined) fence = fenceMatch[1]
      else if (fenceMatch[1] === fence) fence = undefined
      continue
    }
    if (fence !== undefined) continue
    const heading = HEADING.exec(line)
    const title = heading?.[1]?.trim()
    if (title) return title
  }
  return undefined
}

interface Section {
  readonly title: string | undefined
  readonly body: string
}

const HEADING = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/
const FENCE = /^ {0,3}(```|~~~)/

/** Splits at ATX headings (`# …` to `###### …`) outside fenced code blocks. */
const splitSections = (text: string): Array<Section> => {
  const sections: Array<Section> = []
  let title: string | undefined
  let lines: Array<string> = []
  let fence: string | undefined
  const flush = () => {
    const body = lines.join("\n")
    if (body.trim().length > 0) sections.push({ title, body })
    lines = []
  }
  for (const line of text.split(/\r?\n/)) {
    const fenceMatch = FENCE.exec(line)
    if (fenceMatch) {
      if (fence === undefined) fence = fenceMatch[1]
      else if (fenceMatch[1] === fence) fence = undefined
      lines.push(line)
      continue
    }
    const heading = fence === undefined ? HEADING.exec(line) : null
    if (heading) {
      flush()
      title = heading[1]!.trim() || undefined
    } else {
      lines.push(line)
    }
  }
  flush()
  return sections
}

// How good a place the gap after a word is to end a chunk.
const LINE_END = 1
const SENTENCE_END = 2
const PARAGRAPH_END = 3

// Where a piece of an over-long word would best end: just after one of these.
const PIECE_BREAKS = new Set([".", "!", "?", ";", ",", "。", "！", "？", "；", "，", "、"])

/** The units a section is measured in: its words, with over-long words cut into pieces. */
interface Units {
  /** Offsets in the body of each unit's first character and of the character after its last. */
  readonly starts: Array<number>
  readonly ends: Array<number>
  /**
   * `before[i]`: the estimated tokens of units 0 … i − 1 with the gaps before
   * them, so a run's estimate is a difference of two entries.
   */
  readonly before: Array<number>
}

/** A text's token count is at most its UTF-8 length, itself at most three bytes a UTF-16 unit. */
const mayExceed = (text: string, tokens: number): boolean => text.length * 3 > tokens

/** The most tokens a piece of an over-long word may hold. */
const pieceLimit = (maxTokens: number): number => Math.max(4, Math.floor(maxTokens / 8))

// Each distinct word's token count, remembered: words repeat (Zipf's law), so
// estimating a corpus costs about a table lookup a word rather than a count.
// The table is keyed by two 32-bit hashes of the word's characters (a 64-bit
// key: collisions are negligible, and would only skew an estimate), in typed
// arrays, because a Map<string> lookup on each word cost six times the rest
// of the scan. It starts small and doubles as words come (a corpus of a few
// thousand distinct words touches kilobytes, not the 3 MB of the largest table).
const WORD_TABLE_INITIAL_BITS = 12
const WORD_TABLE_MAX_BITS = 18
const WORD_TABLE_LOAD = 0.7
const MAX_REMEMBERED_WORD_LENGTH = 64

interface WordTable {
  hashes1: Int32Array
  hashes2: Int32Array
  /** The count plus one; 0 marks an empty slot. */
  counts: Int32Array
  mask: number
  size: number
}

const emptyWordTable = (bits: number): WordTable => ({
  hashes1: new Int32Array(1 << bits),
  hashes2: new Int32Array(1 << bits),
  counts: new Int32Array(1 << bits),
  mask: (1 << bits) - 1,
  size: 0
})

let wordTable: WordTable | undefined

/** Makes room for more words in a full table: doubles it, or empties it once it is as large as it grows. */
const makeRoom = (table: WordTable): WordTable => {
  if (table.mask + 1 >= 1 << WORD_TABLE_MAX_BITS) {
    table.counts.fill(0)
    table.size = 0
    return table
  }
  const grown = emptyWordTable(Math.log2(table.mask + 1) + 1)
  for (let slot = 0; slot <= table.mask; slot++) {
    const count = table.counts[slot]!
    if (count === 0) continue
    const h1 = table.hashes1[slot]!
    let to = h1 & grown.mask
    while (grown.counts[to] !== 0) to = (to + 1) & grown.mask
    grown.hashes1[to] = h1
    grown.hashes2[to] = table.hashes2[slot]!
    grown.counts[to] = count
  }
  grown.size = table.size
  return grown
}

/** The tokens of the word body[from, to). */
const wordTokens = (body: string, from: number, to: number): number => {
  if (to - from > MAX_REMEMBERED_WORD_LENGTH) return countText(body.slice(from, to))
  let table = (wordTable ??= emptyWordTable(WORD_TABLE_INITIAL_BITS))
  let h1 = 0x811c9dc5 | 0
  let h2 = 0x9e3779b9 | 0
  for (let i = from; i < to; i++) {
    const code = body.charCodeAt(i)
    h1 = Math.imul(h1 ^ code, 0x01000193)
    h2 = Math.imul(h2 ^ code, 0x5bd1e995)
    h2 ^= h2 >>> 15
  }
  let slot = h1 & table.mask
  for (let stored = table.counts[slot]!; stored !== 0; stored = table.counts[slot]!) {
    if (table.hashes1[slot] === h1 && table.hashes2[slot] === h2) return stored - 1
    slot = (slot + 1) & table.mask
  }
  const count = countText(body.slice(from, to))
  if (table.size >= (table.mask + 1) * WORD_TABLE_LOAD) {
    table = wordTable = makeRoom(table)
    slot = h1 & table.mask
    while (table.counts[slot] !== 0) slot = (slot + 1) & table.mask
  }
  table.hashes1[slot] = h1
  table.hashes2[slot] = h2
  table.counts[slot] = count + 1
  table.size++
  return count
}

/**
 * The tokens a gap between words adds, over-estimated: a single space joins
 * the next word's first token, unless that is a number (o200k splits digits
 * from what precedes them); newlines and runs of spaces are tokens of their
 * own (up to four characters a token).
 */
const gapTokens = (body: string, from: number, to: number): number => {
  if (to === from) return 0
  if (to - from === 1 && body.charCodeAt(from) === 32) {
    const next = body.charCodeAt(to)
    return next >= 48 && next <= 57 ? 1 : 0
  }
  return Math.ceil((to - from) / 4)
}

/**
 * A run of units whose estimate is at most this share of `maxTokens` is taken
 * as within it without an exact count. The estimate counts each word on its
 * own, without the space before it; measured on 180-word windows of SciFact,
 * Effect's source and this repository, the exact count was at most 1.21 times
 * the estimate (median 0.85 on prose, 0.94 on code), so a 25% margin keeps
 * every chunk under the cap while a typical prose chunk is never counted.
 */
const ESTIMATE_MARGIN = 0.75

/**
 * Whether a UTF-16 code unit is white space as a regular expression's `\s`
 * reads it (ECMAScript's WhiteSpace and LineTerminator), so words are the
 * runs `/\S+/g` would match, found without a match object or string a word.
 */
const isSpace = (code: number): boolean =>
  code <= 32
    ? code === 32 || (code >= 9 && code <= 13)
    : code >= 0xa0 &&
      (code === 0xa0 ||
        code === 0x1680 ||
        (code >= 0x2000 && code <= 0x200a) ||
        code === 0x2028 ||
        code === 0x2029 ||
        code === 0x202f ||
        code === 0x205f ||
        code === 0x3000 ||
        code === 0xfeff)

const findUnits = (body: string, maxTokens: number): Units => {
  const starts: Array<number> = []
  const ends: Array<number> = []
  const before: Array<number> = [0]
  const limit = pieceLimit(maxTokens)
  const length = body.length
  let total = 0
  let previousEnd = 0
  let from = 0
  for (;;) {
    while (from < length && isSpace(body.charCodeAt(from))) from++
    if (from === length) break
    let to = from + 1
    // Printable ASCII and the C1 controls are never space: most characters are decided without a call.
    for (let code = body.charCodeAt(to); to < length; code = body.charCodeAt(++to)) {
      if ((code <= 32 || code >= 0xa0) && isSpace(code)) break
    }
    total += gapTokens(body, previousEnd, from)
    previousEnd = to
    const tokens = wordTokens(body, from, to)
    if (tokens > limit) {
      total = splitWord(body, from, to, tokens, limit, starts, ends, before, total)
    } else {
      total += tokens
      starts.push(from)
      ends.push(to)
      before.push(total)
    }
    from = to
  }
  return { starts, ends, before }
}

/**
 * Cuts the word body[from, to) (`tokens` long) into pieces of at most `limit`
 * tokens, each ending after a sentence or clause mark when one is in its
 * second half, never inside a surrogate pair. Returns the running estimate.
 */
const splitWord = (
  body: string,
  from: number,
  to: number,
  tokens: number,
  limit: number,
  starts: Array<number>,
  ends: Array<number>,
  before: Array<number>,
  total: number
): number => {
  // The word's own characters per token guess where `limit` tokens end; the count then checks.
  const guess = Math.max(1, Math.floor(((to - from) / tokens) * limit * 0.9))
  let at = from
  while (at < to) {
    let end = Math.min(to, at + guess)
    if (end < to) {
      for (let i = end - 1; i > at + (end - at) / 2; i--) {
        if (PIECE_BREAKS.has(body[i]!)) {
          end = i + 1
          break
        }
      }
    }
    end = outsidePair(body, at, end)
    let count = countText(body.slice(at, end))
    while (end - at > 1 && count > limit) {
      end = outsidePair(body, at, at + Math.max(1, Math.floor((end - at) * 0.8)))
      count = countText(body.slice(at, end))
    }
    total += count
    starts.push(at)
    ends.push(end)
    before.push(total)
    at = end
  }
  return total
}

/** `end`, moved off the middle of a surrogate pair (back when that leaves a character before it). */
const outsidePair = (body: string, at: number, end: number): number => {
  const code = body.charCodeAt(end)
  if (code < 0xdc00 || code > 0xdfff) return end
  return end - 1 > at ? end - 1 : end + 1
}

/**
 * What the gap body[from, to) between two units is: `PARAGRAPH_END` when it
 * holds a blank line (a newline, spaces or tabs, a newline), `LINE_END` when
 * it holds a newline, else 0.
 */
const gapKind = (body: string, from: number, to: number): number => {
  let newline = false
  let afterNewline = false
  for (let i = from; i < to; i++) {
    const code = body.charCodeAt(i)
    if (code === 10) {
      if (afterNewline) return PARAGRAPH_END
      newline = afterNewline = true
    } else if (code !== 32 && code !== 9) afterNewline = false
  }
  return newline ? LINE_END : 0
}

/** Closing quotes and brackets, which may follow a sentence's or clause's last mark. */
const isCloser = (code: number): boolean =>
  code === 34 || // "
  code === 39 || // '
  code === 41 || // )
  code === 93 || // ]
  code === 0x201d || // ”
  code === 0x2019 || // ’
  code === 0xff09 || // ）
  code === 0x300d || // 」
  code === 0x300f // 』

const isSentenceMark = (code: number): boolean =>
  code === 46 || code === 33 || code === 63 || code === 0x3002 || code === 0xff01 || code === 0xff1f // . ! ? 。 ！ ？

const isClauseMark = (code: number): boolean =>
  code === 44 ||
  code === 59 ||
  code === 58 ||
  code === 0xff0c ||
  code === 0x3001 ||
  code === 0xff1b ||
  code === 0xff1a // , ; : ， 、 ； ：

/** Whether body[from, to) ends with a mark `isMark` accepts, then only closing quotes and brackets. */
const endsWithMark = (body: string, from: number, to: number, isMark: (code: number) => boolean): boolean => {
  let i = to - 1
  while (i >= from && isCloser(body.charCodeAt(i))) i--
  return i >= from && isMark(body.charCodeAt(i))
}

/** Tokens a fence line added by the slicer may cost. */
const FENCE_ALLOWANCE = 8

/** Cuts one section's body into chunk texts, slicing the original so formatting survives. */
const chunkSection = (body: string, options: ResolvedChunkOptions): Array<string> => {
  const maxTokens = options.maxTokens
  const { starts, ends, before } = findUnits(body, maxTokens)
  const n = starts.length
  if (n === 0) return []
  // breakAfter[i]: the strength of the gap after unit i.
  const breakAfter = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    if (i === n - 1) {
      breakAfter[i] = PARAGRAPH_END
      continue
    }
    const gapFrom = ends[i]!
    const gapTo = starts[i + 1]!
    const gap = gapKind(body, gapFrom, gapTo)
    if (gap === PARAGRAPH_END) breakAfter[i] = PARAGRAPH_END
    else if (endsWithMark(body, starts[i]!, gapFrom, isSentenceMark)) breakAfter[i] = SENTENCE_END
    else if (gap === LINE_END) breakAfter[i] = LINE_END
    // Between two pieces of one long word, a clause mark is the best break there is.
    else if (gapFrom === gapTo && endsWithMark(body, starts[i]!, gapFrom, isClauseMark))
      breakAfter[i] = LINE_END
  }

  const size = Math.max(1, options.size)
  const overlap = Math.max(0, Math.min(options.overlap, size - 1))
  const slice = fencedSlicer(body)
  const chunkText = (start: number, end: number) => slice(starts[start]!, ends[end - 1]!)
  /** The estimated tokens of a chunk of units [start, end) whose text is `text`. */
  const estimate = (start: number, end: number, text: string) =>
    before[end]! -
    before[start]! +
    (text.length === ends[end - 1]! - starts[start]! ? 0 : 2 * FENCE_ALLOWANCE)
  const texts: Array<string> = []
  let start = 0
  while (start < n) {
    let window = Math.min(size, n - start)
    let windowOverlap = overlap
    let end = start + window === n ? n : chooseEnd(breakAfter, start, window, overlap)
    let text = chunkText(start, end)
    // Counted exactly only when the estimate comes near the cap (a cheap bound first).
    if (
      mayExceed(text, maxTokens) &&
      estimate(start, end, text) > maxTokens * ESTIMATE_MARGIN &&
      (estimate(start, end, text) > 2 * maxTokens || countText(text) > maxTokens)
    ) {
      // The token cap binds: take the words that fit, and scale the overlap down alike.
      window = fittingEnd(before, start, start + window, maxTokens - FENCE_ALLOWANCE) - start
      windowOverlap = Math.floor((overlap * window) / size)
      end = start + window === n ? n : chooseEnd(breakAfter, start, window, windowOverlap)
      text = chunkText(start, end)
      // The estimate is close to the count but not exact: check, and drop words until it fits.
      while (end > start + 1 && countText(text) > maxTokens) text = chunkText(start, --end)
    }
    texts.push(text)
    if (end >= n) break
    start = chooseNextStart(breakAfter, start, end, windowOverlap)
  }
  return texts
}

/** The end of the longest run of units from `start` (before `limit`) estimated at most `maxTokens`; at least one unit. */
const fittingEnd = (
  before: ReadonlyArray<number>,
  start: number,
  limit: number,
  maxTokens: number
): number => {
  let end = start + 1
  while (end < limit && before[end + 1]! - before[start]! <= maxTokens) end++
  return end
}

/**
 * Slices a section so that every chunk's code stays marked as code: a chunk
 * that starts inside a fenced block reopens the fence, and one that ends
 * inside it closes the fence. Without this, the half of a code block (or of a
 * sample of program output) that lands in the next chunk reads as prose.
 */
const fencedSlicer = (body: string): ((from: number, to: number) => string) => {
  // A fence line holds one of these; most sections have none.
  if (!body.includes("```") && !body.includes("~~~")) return (from, to) => body.slice(from, to)
  // The offsets of the fence lines, and the fence marker each one is inside after it.
  const fences: Array<{ readonly at: number; readonly marker: string | undefined }> = []
  let open: string | undefined
  let offset = 0
  for (const line of body.split("\n")) {
    const match = FENCE.exec(line)
    if (match !== null) {
      if (open === undefined) open = match[1]
      else if (match[1] === open) open = undefined
      fences.push({ at: offset, marker: open })
    }
    offset += line.length + 1
  }
  if (fences.length === 0) return (from, to) => body.slice(from, to)
  const openAt = (position: number): string | undefined => {
    let marker: string | undefined
    for (const fence of fences) {
      if (fence.at >= position) break
      marker = fence.marker
    }
    return marker
  }
  return (from, to) => {
    const text = body.slice(from, to)
    const before = openAt(from)
    const after = openAt(to)
    return `${before === undefined ? "" : `${before}\n`}${text}${after === undefined ? "" : `\n${after}`}`
  }
}

/** The exclusive end word of a chunk starting at `start`: the strongest, then latest, break in its second half. */
const chooseEnd = (breakAfter: Uint8Array, start: number, size: number, overlap: number): number => {
  const latest = start + size
  const earliest = Math.min(latest, start + Math.max(overlap + 1, Math.ceil(size / 2)))
  let best = latest
  let bestStrength = 0
  for (let end = latest; end >= earliest; end--) {
    const strength = breakAfter[end - 1]!
    if (strength > bestStrength) {
      best = end
      bestStrength = strength
      if (strength === PARAGRAPH_END) break
    }
  }
  return best
}

/**
 * Where the next chunk starts: `overlap` words before `end`, moved to the
 * nearest sentence start (else line start) between 1.5× and 0.5× the overlap.
 */
const chooseNextStart = (breakAfter: Uint8Array, start: number, end: number, overlap: number): number => {
  if (overlap === 0) return end
  const target = end - overlap
  const lo = Math.max(start + 1, end - Math.round(overlap * 1.5))
  const hi = Math.max(lo, end - Math.ceil(overlap / 2))
  let best = Math.max(start + 1, target)
  let bestStrength = 0
  let bestDistance = Number.POSITIVE_INFINITY
  for (let next = lo; next <= hi; next++) {
    const strength = breakAfter[next - 1]!
    if (strength === 0) continue
    // A paragraph start is as good a start as a sentence start.
    const rank = Math.min(strength, SENTENCE_END)
    const distance = Math.abs(next - target)
    if (rank > bestStrength || (rank === bestStrength && distance < bestDistance)) {
      best = next
      bestStrength = rank
      bestDistance = distance
    }
  }
  return best
}
