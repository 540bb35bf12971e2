/**
 * Splits documents into overlapping chunks, the unit the retriever indexes and
 * returns.
 *
 * A chunk is at most `size` whitespace-separated words and at most `maxTokens`
 * model tokens (`Tokens.countText`). Words are the cheap measure that shapes
 * prose; the token cap binds where words say little — a line of base64, a
 * minified file, a Chinese or Japanese paragraph written without spaces. Tokens
 * are counted only where the cap could be crossed (a text's UTF-8 length bounds
 * its token count), and a "word" longer than an eighth of the cap is cut by
 * characters into pieces, preferably after a sentence or clause mark (。 ！ ？
 * ， . ; …), each piece then counting as a word.
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
 * `chunkDocuments` is an Effect that yields to the scheduler every few hundred
 * documents, so chunking a large corpus can be interrupted at once;
 * `chunkDocument` chunks one document synchronously.
 */
import { Effect } from "effect"
import { show } from "../core/InvalidOption.ts"
import { countText } from "../text/Tokens.ts"
import { invalidOption, type RetrievalError } from "./RetrievalError.ts"

/** A text to chunk, named by where it came from (e.g. a path relative to a folder). */
export interface Document {
  readonly sourceId: string
  readonly text: string
}

export interface Chunk {
  /** `${sourceId}#${index}`, unique within a corpus of distinct source ids. */
  readonly id: string
  readonly sourceId: string
  /** The chunk's position in its document, from 0. */
  readonly index: number
  /** The nearest markdown heading above the chunk, if any. */
  readonly title?: string
  readonly text: string
}

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
  const size = options?.size ?? defaultOptions.size
  const overlap = options?.overlap ?? defaultOptions.overlap
  if (!(Number.isInteger(size) && size >= 1)) {
    return Effect.fail(invalidOption(`${prefix}size`, show(size), "an integer ≥ 1"))
  }
  if (!(Number.isInteger(overlap) && overlap >= 0 && overlap < size)) {
    return Effect.fail(
      invalidOption(`${prefix}overlap`, show(overlap), `an integer ≥ 0 and less than size (${size})`)
    )
  }
  const maxTokens = options?.maxTokens ?? defaultMaxTokens(size)
  if (!(Number.isInteger(maxTokens) && maxTokens >= minMaxTokens)) {
    return Effect.fail(invalidOption(`${prefix}maxTokens`, show(maxTokens), `an integer ≥ ${minMaxTokens}`))
  }
  return Effect.succeed({ size, overlap, maxTokens })
}

/** How often `chunkDocuments` yields: after this many documents, or this many characters, whichever comes first (≈ 10 ms of work). */
const YIELD_EVERY_DOCUMENTS = 256
const YIELD_EVERY_CHARS = 131_072

/**
 * Chunks many documents with the same options, in order, yielding to the
 * scheduler every few hundred documents so that an interruption takes effect
 * within milliseconds (a single document is chunked whole).
 */
export const chunkDocuments = (
  documents: ReadonlyArray<Document>,
  options?: ChunkOptions
): Effect.Effect<Array<Chunk>, RetrievalError> =>
  Effect.flatMap(resolveOptions(options), (resolved) =>
    Effect.gen(function* () {
      const chunks: Array<Chunk> = []
      let documentsSinceYield = 0
      let charsSinceYield = 0
      for (const document of documents) {
        for (const chunk of chunkDocument(document, resolved)) chunks.push(chunk)
        charsSinceYield += document.text.length
        if (++documentsSinceYield >= YIELD_EVERY_DOCUMENTS || charsSinceYield >= YIELD_EVERY_CHARS) {
          documentsSinceYield = 0
          charsSinceYield = 0
          yield* Effect.yieldNow
        }
      }
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

const SENTENCE_FINAL = /[.!?。！？]["'”’)\]）」』]*$/
const CLAUSE_FINAL = /[,;:，、；：]["'”’)\]）」』]*$/
const BLANK_LINE = /\n[ \t]*\n/
// Where a piece of an over-long word would best end: just after one of these.
const PIECE_BREAKS = new Set([".", "!", "?", ";", ",", "。", "！", "？", "；", "，", "、"])

/** The units a section is measured in: its words, with over-long words cut into pieces. */
interface Units {
  /** Offsets in the body of each unit's first character and of the character after its last. */
  readonly starts: Array<number>
  readonly ends: Array<number>
}

/** A text's token count is at most its UTF-8 length, itself at most three bytes a UTF-16 unit. */
const mayExceed = (text: string, tokens: number): boolean => text.length * 3 > tokens

/** The most tokens a piece of an over-long word may hold. */
const pieceLimit = (maxTokens: number): number => Math.max(4, Math.floor(maxTokens / 8))

const findUnits = (body: string, maxTokens: number): Units => {
  const starts: Array<number> = []
  const ends: Array<number> = []
  const limit = pieceLimit(maxTokens)
  for (const match of body.matchAll(/\S+/g)) {
    const from = match.index
    const to = from + match[0].length
    if (mayExceed(match[0], limit)) {
      const tokens = countText(match[0])
      if (tokens > limit) {
        splitWord(body, from, to, tokens, limit, starts, ends)
        continue
      }
    }
    starts.push(from)
    ends.push(to)
  }
  return { starts, ends }
}

/**
 * Cuts the word body[from, to) (`tokens` long) into pieces of at most `limit`
 * tokens, each ending after a sentence or clause mark when one is in its
 * second half, never inside a surrogate pair.
 */
const splitWord = (
  body: string,
  from: number,
  to: number,
  tokens: number,
  limit: number,
  starts: Array<number>,
  ends: Array<number>
): void => {
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
    while (end - at > 1 && countText(body.slice(at, end)) > limit) {
      end = outsidePair(body, at, at + Math.max(1, Math.floor((end - at) * 0.8)))
    }
    starts.push(at)
    ends.push(end)
    at = end
  }
}

/** `end`, moved off the middle of a surrogate pair (back when that leaves a character before it). */
const outsidePair = (body: string, at: number, end: number): number => {
  const code = body.charCodeAt(end)
  if (code < 0xdc00 || code > 0xdfff) return end
  return end - 1 > at ? end - 1 : end + 1
}

/** Cuts one section's body into chunk texts, slicing the original so formatting survives. */
const chunkSection = (body: string, options: ResolvedChunkOptions): Array<string> => {
  const { starts, ends } = findUnits(body, options.maxTokens)
  const n = starts.length
  if (n === 0) return []
  // breakAfter[i]: the strength of the gap after unit i.
  const breakAfter = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    if (i === n - 1) {
      breakAfter[i] = PARAGRAPH_END
      continue
    }
    const gap = body.slice(ends[i]!, starts[i + 1]!)
    const unit = body.slice(starts[i]!, ends[i]!)
    if (BLANK_LINE.test(gap)) breakAfter[i] = PARAGRAPH_END
    else if (SENTENCE_FINAL.test(unit)) breakAfter[i] = SENTENCE_END
    else if (gap.includes("\n")) breakAfter[i] = LINE_END
    // Between two pieces of one long word, a clause mark is the best break there is.
    else if (gap.length === 0 && CLAUSE_FINAL.test(unit)) breakAfter[i] = LINE_END
  }

  const size = Math.max(1, options.size)
  const overlap = Math.max(0, Math.min(options.overlap, size - 1))
  const maxTokens = options.maxTokens
  const slice = fencedSlicer(body)
  const chunkText = (start: number, end: number) => slice(starts[start]!, ends[end - 1]!)
  const texts: Array<string> = []
  let start = 0
  while (start < n) {
    let window = Math.min(size, n - start)
    let windowOverlap = overlap
    let end = start + window === n ? n : chooseEnd(breakAfter, start, window, overlap)
    let text = chunkText(start, end)
    // A window far longer than prose of `maxTokens` (pieces of a long word) is
    // counted word by word up to the cap, never whole.
    if (mayExceed(text, maxTokens) && (text.length > maxTokens * 8 || countText(text) > maxTokens)) {
      // The token cap binds: take the words that fit, and scale the overlap down alike.
      window = fittingEnd(body, starts, ends, start, start + window, maxTokens) - start
      windowOverlap = Math.floor((overlap * window) / size)
      end = start + window === n ? n : chooseEnd(breakAfter, start, window, windowOverlap)
      text = chunkText(start, end)
      // The per-word counts are close to the chunk's but not exact (and a fence adds its lines).
      while (end > start + 1 && countText(text) > maxTokens) text = chunkText(start, --end)
    }
    texts.push(text)
    if (end >= n) break
    start = chooseNextStart(breakAfter, start, end, windowOverlap)
  }
  return texts
}

/** The end of the longest run of units from `start` (before `limit`) whose tokens, each counted with the gap before it, add up to at most `maxTokens`; at least one unit. */
const fittingEnd = (
  body: string,
  starts: ReadonlyArray<number>,
  ends: ReadonlyArray<number>,
  start: number,
  limit: number,
  maxTokens: number
): number => {
  let total = 0
  let end = start
  while (end < limit) {
    const from = end === start ? starts[start]! : ends[end - 1]!
    const tokens = countText(body.slice(from, ends[end]!))
    if (total + tokens > maxTokens) break
    total += tokens
    end++
  }
  return Math.max(end, start + 1)
}

/**
 * Slices a section so that every chunk's code stays marked as code: a chunk
 * that starts inside a fenced block reopens the fence, and one that ends
 * inside it closes the fence. Without this, the half of a code block (or of a
 * sample of program output) that lands in the next chunk reads as prose.
 */
const fencedSlicer = (body: string): ((from: number, to: number) => string) => {
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
