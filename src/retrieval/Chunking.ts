/**
 * Splits documents into overlapping chunks, the unit the retriever indexes and
 * returns.
 *
 * Sizes are counted in whitespace-separated words, not model tokens: tiktoken
 * costs milliseconds per chunk and a word count is close enough to keep a
 * passage near a prompt budget (English runs ~1.3 tokens a word). A chunk never
 * crosses a markdown heading; it carries the nearest heading above it as its
 * `title`. Within a section a chunk ends at the strongest break it can find in
 * its second half — a paragraph end, else a sentence end, else a line end —
 * and the next chunk starts about `overlap` words earlier, at a sentence start
 * when one is near, so a fact cut by a boundary is whole in one of the two.
 */
import { Effect } from "effect"
import { RetrievalError } from "./RetrievalError.ts"

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
  readonly size?: number
  /** About how many words consecutive chunks of a section share. Default 40. */
  readonly overlap?: number
}

/** Options checked by `resolveOptions`: integers with `size > overlap >= 0`. */
export interface ResolvedChunkOptions {
  readonly size: number
  readonly overlap: number
}

export const defaultOptions: ResolvedChunkOptions = { size: 180, overlap: 40 }

/** Fills in defaults and checks the options, failing with `InvalidOptions`. */
export const resolveOptions = (
  options?: ChunkOptions
): Effect.Effect<ResolvedChunkOptions, RetrievalError> => {
  const size = options?.size ?? defaultOptions.size
  const overlap = options?.overlap ?? defaultOptions.overlap
  if (!Number.isInteger(size) || !Number.isInteger(overlap) || overlap < 0 || size <= overlap) {
    return Effect.fail(
      new RetrievalError({
        reason: "InvalidOptions",
        message: `Chunk size and overlap must be integers with size > overlap >= 0 (got size ${size}, overlap ${overlap}).`
      })
    )
  }
  return Effect.succeed({ size, overlap })
}

/** Chunks many documents with the same options, in order. */
export const chunkDocuments = (
  documents: ReadonlyArray<Document>,
  options?: ChunkOptions
): Effect.Effect<Array<Chunk>, RetrievalError> =>
  Effect.map(resolveOptions(options), (resolved) => documents.flatMap((doc) => chunkDocument(doc, resolved)))

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

const SENTENCE_FINAL = /[.!?]["'”’)\]]*$/
const BLANK_LINE = /\n[ \t]*\n/

/** Cuts one section's body into chunk texts, slicing the original so formatting survives. */
const chunkSection = (body: string, options: ResolvedChunkOptions): Array<string> => {
  const starts: Array<number> = []
  const ends: Array<number> = []
  for (const match of body.matchAll(/\S+/g)) {
    starts.push(match.index)
    ends.push(match.index + match[0].length)
  }
  const n = starts.length
  if (n === 0) return []
  // breakAfter[i]: the strength of the gap after word i.
  const breakAfter = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    if (i === n - 1) {
      breakAfter[i] = PARAGRAPH_END
      continue
    }
    const gap = body.slice(ends[i]!, starts[i + 1]!)
    if (BLANK_LINE.test(gap)) breakAfter[i] = PARAGRAPH_END
    else if (SENTENCE_FINAL.test(body.slice(starts[i]!, ends[i]!))) breakAfter[i] = SENTENCE_END
    else if (gap.includes("\n")) breakAfter[i] = LINE_END
  }

  const size = Math.max(1, options.size)
  const overlap = Math.max(0, Math.min(options.overlap, size - 1))
  const slice = fencedSlicer(body)
  const texts: Array<string> = []
  let start = 0
  while (start < n) {
    if (n - start <= size) {
      texts.push(slice(starts[start]!, ends[n - 1]!))
      break
    }
    const end = chooseEnd(breakAfter, start, size, overlap)
    texts.push(slice(starts[start]!, ends[end - 1]!))
    start = chooseNextStart(breakAfter, start, end, overlap)
  }
  return texts
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
