/**
 * Token counting shared by every Weft component, and the tokens a model call
 * reserves before it runs.
 *
 * Counts are exact for the `o200k_base` BPE encoding (the tokenizer of the
 * GPT-4o family); for other models they are an estimate, close enough to
 * reserve a budget before a call, and the provider's reported usage settles
 * the real figure. A prompt costs its text tokens plus a documented
 * per-message overhead (`MESSAGE_OVERHEAD_TOKENS`), as in OpenAI's chat
 * format; a request (`estimateRequest`) also costs its tool definitions and
 * its response-format schema.
 *
 * The encoding's merge table is built lazily, on the first count or by `warm`,
 * into three typed arrays (≈ 3 MB, < 0.1 s of CPU; bench/tokenizer.ts compares it with
 * js-tiktoken, gpt-tokenizer and ai-tokenizer). `warm` builds it in slices
 * that yield between them, so an interrupt (Ctrl-C) is never kept waiting.
 * The rank list comes from js-tiktoken's `o200k_base` file, read as bytes
 * a slice at a time, rather than imported as a module (see `openEncoding`).
 * A program that starts often can keep the built table in a folder named by
 * `WEFT_TOKENIZER_CACHE` and read it back instead of building it (see `TABLE_CACHE_ENV`).
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs"
import { createRequire } from "node:module"
import { endianness } from "node:os"
import { join } from "node:path"
import * as zlib from "node:zlib"
import { Effect, Layer, Schema } from "effect"
import { Prompt, Tool, Tokenizer } from "effect/ai"
import { writeWhole } from "../core/KeptFile.ts"

/** Tokens a chat message costs beyond its text (role markers and separators). */
export const MESSAGE_OVERHEAD_TOKENS = 4

/**
 * Tokens a tool definition costs beyond its name, description and parameter
 * schema (the provider's wrapping of each function). An allowance, not a
 * measured constant: the schema's JSON is counted as sent, which already
 * exceeds what providers that rewrite it into a type signature charge.
 */
export const TOOL_OVERHEAD_TOKENS = 8

/** Tokens a JSON response format costs beyond its name and schema. */
export const RESPONSE_FORMAT_OVERHEAD_TOKENS = 8

// The encoding's data, as js-tiktoken ships it: a module whose default export
// is one JSON object holding the split pattern (`pat_str`) and the rank list
// (`bpe_ranks`, 2.3 MB of base64 tokens, spaces and rank numbers).
//
// The module file is read as bytes, a slice at a time, rather than imported:
// compiling it makes a 2.3 MB string literal of JavaScript source, and
// encoding that string back into bytes copies it again (≈ 60 ms and ≈ 10 MB
// at every start). The rank list, a JSON string of base64, digits and spaces,
// needs no unescaping; should the file ever not have that shape, the module is
// loaded as before.

const RANKS_MODULE = "js-tiktoken/ranks/o200k_base"
const RANKS_KEY = ',"bpe_ranks":"'
/** Bytes read at a time: the file's head holds the pattern and the start of the rank list. */
const READ_SIZE = 65_536

/** Where the rank list is read from, a slice at a time. */
type RankSource = { readonly path: string; readonly offset: number } | { readonly bytes: Uint8Array }

/** The split pattern's source, once the encoding has been read. */
let patternSource: string | undefined

/**
 * Opens the encoding: reads the pattern from the file's head and says where
 * its rank list starts, else loads the module. Undefined when neither is at
 * hand synchronously (an application bundled without its node_modules): then
 * `warm` imports the module the bundler included.
 */
const openEncoding = (): RankSource | undefined => {
  const require = createRequire(import.meta.url)
  try {
    const path = require.resolve(RANKS_MODULE)
    const head = Buffer.allocUnsafe(READ_SIZE)
    const fd = openSync(path, "r")
    let length: number
    try {
      length = readSync(fd, head, 0, READ_SIZE, 0)
    } finally {
      closeSync(fd)
    }
    const key = head.indexOf(RANKS_KEY)
    const open = head.indexOf(123) // the object's "{"
    if (key !== -1 && key + RANKS_KEY.length <= length && open !== -1 && open < key) {
      const fields = JSON.parse(`${head.toString("utf8", open, key)}}`) as { readonly pat_str?: unknown }
      if (typeof fields.pat_str === "string") {
        patternSource = fields.pat_str
        return { path, offset: key + RANKS_KEY.length }
      }
    }
  } catch {
    // Loaded below.
  }
  try {
    return loadEncoding()
  } catch {
    return undefined
  }
}

interface EncodingModule {
  readonly pat_str: string
  readonly bpe_ranks: string
}

/** The encoding from its module's exports. */
const fromModule = (module: EncodingModule): RankSource => {
  patternSource = module.pat_str
  // The closing quote the file's list ends with.
  return { bytes: new TextEncoder().encode(`${module.bpe_ranks}"`) }
}

/** The encoding from its module, required the ordinary way. */
const loadEncoding = (): RankSource =>
  fromModule(createRequire(import.meta.url)(RANKS_MODULE) as EncodingModule)

/** The encoding, or a defect saying why there is none. */
const requireEncoding = (): RankSource => {
  const source = openEncoding()
  if (source === undefined) {
    throw new Error(`Tokens: ${RANKS_MODULE} cannot be loaded synchronously here: run Tokens.warm first`)
  }
  return source
}

// The merge table: every token's bytes in one pool, found through an
// open-addressing hash of those bytes. js-tiktoken keeps the same data as two
// Maps keyed by strings like "104,101" (≈ 66 MB of heap); this is ≈ 3 MB.

interface Table {
  /** The bytes of every token, in rank order. */
  readonly pool: Uint8Array
  /** Where each rank's bytes start in `pool` (`starts[rank + 1]` is where they end). */
  readonly starts: Uint32Array
  /**
   * Hash slots, 0 when empty, else the rank plus one in the low `RANK_BITS`
   * bits and the top bits of the token's hash above them: a probe passes over
   * a slot whose bits differ without reading the token's bytes.
   */
  readonly slots: Int32Array
}

// 262,144 slots for ≈ 200,000 tokens (1 MB): the hash bits in each slot keep
// the longer probe chains of a fuller table cheap, and a smaller table is
// fewer pages to touch while it is built.
const SLOT_BITS = 18
const SLOT_MASK = (1 << SLOT_BITS) - 1
const RANK_BITS = 18
const RANK_MASK = (1 << RANK_BITS) - 1
const BUILD_SLICE = 25_000 // tokens per slice of an interruptible build

const FNV_OFFSET = 0x811c9dc5 | 0
const FNV_PRIME = 0x01000193

const fnv = (bytes: Uint8Array, start: number, end: number): number => {
  let hash = FNV_OFFSET
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ (bytes[i] as number), FNV_PRIME)
  return hash
}

const BASE64 = new Int8Array(128).fill(-1)
for (let i = 0; i < 64; i++) {
  BASE64["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i)] = i
}

// What the next field of the rank list is: a line's marker, the rank of the
// line's first token, or a token.
const MARKER = 0
const FIRST_RANK = 1
const TOKEN = 2

// Why a run of tokens stopped.
const BUDGET_SPENT = 0
const BUFFER_END = 1
const LINE_END = 2
const LIST_END = 3
const NO_ROOM = 4

/**
 * Builds the table from the rank list (lines of
 * `<marker> <first rank> <base64 token> <base64 token> …`, ended by the JSON
 * string's closing quote), a slice of tokens at a time: `step` returns true
 * once the table is complete. The list is read into a small buffer as it goes
 * (a field cut by the buffer's end is read again whole), and each token is
 * decoded and hashed in one pass.
 */
class TableBuilder {
  private path: string | undefined = undefined
  private fileOffset = 0
  private buffer!: Uint8Array
  private filled = 0
  private position = 0
  private field = MARKER
  private rank = 0
  private poolEnd = 0
  private done = false
  private pool!: Uint8Array
  private starts!: Uint32Array
  private slots!: Int32Array
  table: Table | undefined
  /** The rank list the table is built from (the module's when the file was not of the shape expected). */
  source: RankSource

  constructor(source: RankSource) {
    this.source = source
    this.start(source)
  }

  private start(source: RankSource): void {
    this.source = source
    let length: number
    if ("bytes" in source) {
      this.path = undefined
      this.fileOffset = 0
      this.buffer = source.bytes
      this.filled = source.bytes.length
      length = source.bytes.length
    } else {
      this.path = source.path
      this.fileOffset = source.offset
      this.buffer = new Uint8Array(READ_SIZE)
      this.filled = 0
      length = statSync(source.path).size - source.offset
    }
    // A token takes at least five characters (four of base64 and a separator), and base64
    // never decodes to more than 3/4 of its length; pages never written are never allocated.
    this.starts = new Uint32Array(Math.ceil(length / 5) + 2)
    this.pool = new Uint8Array(Math.ceil((length * 3) / 4))
    this.slots = new Int32Array(1 << SLOT_BITS)
    this.position = 0
    this.field = MARKER
    this.rank = 0
    this.poolEnd = 0
    this.done = false
  }

  step(budget: number): boolean {
    if (this.done) return true
    const fd = this.path === undefined ? -1 : openSync(this.path, "r")
    try {
      this.read(fd, budget)
    } finally {
      if (fd !== -1) closeSync(fd)
    }
    if (!this.done) return false
    const { pool, starts, slots, poolEnd, rank } = this
    this.table = { pool: pool.subarray(0, poolEnd), starts: starts.subarray(0, rank + 1), slots }
    return true
  }

  /** Moves the unread bytes to the buffer's start and reads more after them. */
  private refill(fd: number): void {
    let read = 0
    if (this.path !== undefined) {
      const buffer = this.buffer
      buffer.copyWithin(0, this.position, this.filled)
      this.filled -= this.position
      this.position = 0
      read = readSync(fd, buffer, this.filled, buffer.length - this.filled, this.fileOffset)
    }
    if (read > 0) {
      this.fileOffset += read
      this.filled += read
      return
    }
    // The file ended inside the list: not the shape it was read for. Start again from the module.
    if (this.path === undefined) throw new Error(`${RANKS_MODULE}: the rank list has no end`)
    this.start(loadEncoding())
  }

  /** Reads up to `budget` tokens into the table. */
  private read(fd: number, budget: number): void {
    while (budget > 0 && !this.done) {
      if (this.field !== TOKEN) {
        if (!this.readHeaderField()) this.refill(fd)
        continue
      }
      const before = this.rank
      const ended = this.readTokens(budget)
      budget -= this.rank - before
      if (ended === BUFFER_END) this.refill(fd)
      else if (ended === NO_ROOM) {
        // o200k has 199,998 ranks: more than a slot holds would be another encoding.
        if (this.rank + 1 >= RANK_MASK) throw new Error(`${RANKS_MODULE}: more ranks than the table holds`)
        this.starts = grow32(this.starts, this.rank + 2)
      }
    }
  }

  /** Reads a line's marker or first rank; false when the buffer ends before the field does. */
  private readHeaderField(): boolean {
    const { buffer, filled, position } = this
    let end = position
    while (end < filled && buffer[end] !== 32 && buffer[end] !== 10 && buffer[end] !== 34) end++
    if (end === filled) return false
    if (this.field === FIRST_RANK) {
      let first = 0
      for (let i = position; i < end; i++) first = first * 10 + (buffer[i] as number) - 48
      if (first + 2 > this.starts.length) this.starts = grow32(this.starts, first + 2)
      const starts = this.starts
      for (; this.rank < first; this.rank++) starts[this.rank + 1] = this.poolEnd // a gap in the ranks: empty tokens
    }
    const terminator = buffer[end] as number
    this.field = terminator === 10 ? MARKER : this.field + 1
    this.position = end + 1
    if (terminator === 34) this.done = true
    return true
  }

  /**
   * Decodes and hashes the tokens in the buffer into the table, up to
   * `budget` of them. Stops at the budget (`BUDGET_SPENT`), at the end of a
   * line (`LINE_END`) or of the list (`LIST_END`, its closing quote), at a
   * token the buffer holds only part of (`BUFFER_END`: read again whole after
   * a refill), or when `starts` is full (`NO_ROOM`). Rare paths are left to
   * the caller, so that this loop stays one the compiler optimizes whole.
   */
  private readTokens(budget: number): number {
    const { buffer, filled, pool, slots, starts } = this
    const room = Math.min(starts.length, RANK_MASK) - 1
    let position = this.position
    let rank = this.rank
    let out = this.poolEnd
    let ended = BUDGET_SPENT
    while (budget > 0) {
      if (rank >= room) {
        ended = NO_ROOM
        break
      }
      const start = out
      let bits = 0
      let buffered = 0
      let hash = FNV_OFFSET
      let end = position
      let terminator = -1
      for (; end < filled; end++) {
        const c = buffer[end] as number
        if (c === 32 || c === 10 || c === 34) {
          terminator = c
          break
        }
        const value = BASE64[c] as number
        if (value < 0) continue // padding
        buffered = ((buffered << 6) | value) & 0xffffff
        bits += 6
        if (bits >= 8) {
          bits -= 8
          const byte = (buffered >> bits) & 0xff
          pool[out++] = byte
          hash = Math.imul(hash ^ byte, FNV_PRIME)
        }
      }
      if (terminator === -1) {
        out = start
        ended = BUFFER_END
        break
      }
      if (terminator === 34 && end === position) {
        ended = LIST_END
        break
      }
      starts[rank] = start
      starts[rank + 1] = out
      let slot = hash & SLOT_MASK
      while ((slots[slot] as number) !== 0) slot = (slot + 1) & SLOT_MASK
      slots[slot] = ((hash >>> RANK_BITS) << RANK_BITS) | (rank + 1)
      rank++
      budget--
      position = end + 1
      if (terminator !== 32) {
        ended = terminator === 10 ? LINE_END : LIST_END
        break
      }
    }
    this.position = position
    this.rank = rank
    this.poolEnd = out
    if (ended === LINE_END) this.field = MARKER
    else if (ended === LIST_END) this.done = true
    return ended
  }
}

const grow32 = (array: Uint32Array, least: number): Uint32Array => {
  const grown = new Uint32Array(Math.max(least, array.length * 2))
  grown.set(array)
  return grown
}

let builder: TableBuilder | undefined
let loaded: Table | undefined

/** The table, finishing its build here if `warm` has not (< 0.1 s of CPU). */
const table = (): Table => {
  if (loaded !== undefined) return loaded
  if (builder === undefined) {
    const source = requireEncoding()
    loaded = readKeptTable(source)
    if (loaded !== undefined) return loaded
    builder = new TableBuilder(source)
  }
  while (!builder.step(Number.POSITIVE_INFINITY)) {}
  loaded = builder.table as Table
  keepTable(builder.source, loaded)
  builder = undefined
  return loaded
}

// The built table kept between processes: when `WEFT_TOKENIZER_CACHE` names a
// folder, the first build writes the table there (≈ 3.2 MB) and later
// processes read it back and check it (≈ 20 ms on this machine, most of it the
// first touch of the memory read into) instead of building it (≈ 35–80 ms),
// for programs that start often, such as a CLI. The file holds a header (its
// format, the rank file's path, size and modification time, the arrays'
// lengths and a CRC-32 of them), then the arrays. A file for another rank
// file, of another format, damaged or inconsistent is ignored and rebuilt; one
// that cannot be written is left out (counting never depends on it).

/** The environment variable naming the folder the table is kept in. */
export const TABLE_CACHE_ENV = "WEFT_TOKENIZER_CACHE"
// The arrays are written in this machine's byte order, which the format names.
const TABLE_FORMAT = `weft-o200k-table/1-${endianness()}`
const TABLE_FILE = "o200k_base.table"

/** The folder the table is kept in and the file it is kept for, or undefined when none is set or the list is not a file. */
const keptTablePlace = (source: RankSource): { readonly file: string; readonly of: string } | undefined => {
  const folder = process.env[TABLE_CACHE_ENV]
  if (folder === undefined || folder.trim() === "" || !("path" in source)) return undefined
  try {
    const stat = statSync(source.path)
    return {
      file: join(folder, TABLE_FILE),
      of: `${source.path}:${source.offset}:${stat.size}:${stat.mtimeMs}`
    }
  } catch {
    return undefined
  }
}

interface KeptTableHeader {
  readonly format: string
  readonly of: string
  readonly starts: number
  readonly slots: number
  readonly pool: number
  readonly crc: number
}

/** The table kept for this rank list, or undefined when there is none that holds together. */
const readKeptTable = (source: RankSource): Table | undefined => {
  const place = keptTablePlace(source)
  if (place === undefined) return undefined
  try {
    const bytes = readFileSync(place.file)
    const headerLength = bytes.readUInt32LE(0)
    const header = JSON.parse(bytes.toString("utf8", 4, 4 + headerLength)) as KeptTableHeader
    if (header.format !== TABLE_FORMAT || header.of !== place.of || header.slots !== 1 << SLOT_BITS)
      return undefined
    const payload = alignedPayloadStart(headerLength)
    const size = 4 * header.starts + 4 * header.slots + header.pool
    if (!(header.starts >= 1 && header.pool >= 0 && payload + size === bytes.length)) return undefined
    const body = bytes.subarray(payload)
    if (zlib.crc32(body) !== header.crc) return undefined
    // Typed arrays need their element's alignment: copy when the read buffer does not give it.
    const aligned = body.byteOffset % 4 === 0 ? body : Uint8Array.prototype.slice.call(body)
    const starts = new Uint32Array(aligned.buffer, aligned.byteOffset, header.starts)
    const slots = new Int32Array(aligned.buffer, aligned.byteOffset + 4 * header.starts, header.slots)
    const pool = new Uint8Array(
      aligned.buffer,
      aligned.byteOffset + 4 * (header.starts + header.slots),
      header.pool
    )
    // The CRC says these are the bytes a build wrote, so the arrays are not checked entry by
    // entry (≈ 6 ms of a start); only that they fit together.
    if (starts[0] !== 0 || starts[header.starts - 1] !== header.pool) return undefined
    return { starts, slots, pool }
  } catch {
    return undefined
  }
}

/** Where the arrays start after a header of this length: a multiple of 4. */
const alignedPayloadStart = (headerLength: number): number => Math.ceil((4 + headerLength) / 4) * 4

/** Keeps the table for later processes, when a folder is set; never fails. */
const keepTable = (source: RankSource, built: Table): void => {
  const place = keptTablePlace(source)
  if (place === undefined) return
  const arrays = [built.starts, built.slots, built.pool].map(
    (array) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength)
  )
  const header: KeptTableHeader = {
    format: TABLE_FORMAT,
    of: place.of,
    starts: built.starts.length,
    slots: built.slots.length,
    pool: built.pool.length,
    crc: arrays.reduce((crc, array) => zlib.crc32(array, crc), 0)
  }
  const headerBytes = Buffer.from(JSON.stringify(header))
  const head = Buffer.alloc(alignedPayloadStart(headerBytes.length))
  head.writeUInt32LE(headerBytes.length, 0)
  headerBytes.copy(head, 4)
  writeWhole(place.file, Buffer.concat([head, ...arrays]))
}

/**
 * Builds the merge table, a slice at a time with a yield between slices, so
 * the fiber doing it can be interrupted within milliseconds. Provider layers
 * run it when they are built, so the first call is not the one that pays.
 * Counting without it works too: the first count builds the table.
 */
export const warm: Effect.Effect<void> = Effect.suspend(() => {
  if (loaded !== undefined) return Effect.void
  const started =
    builder !== undefined
      ? Effect.void
      : Effect.suspend(() => {
          const source = openEncoding()
          if (source !== undefined) {
            loaded ??= readKeptTable(source)
            if (loaded === undefined) builder ??= new TableBuilder(source)
            return Effect.void
          }
          // Bundled without node_modules: the bundler included the module for this import.
          return Effect.map(
            Effect.promise(() => import("js-tiktoken/ranks/o200k_base")),
            (module) => {
              builder ??= new TableBuilder(fromModule(module.default))
            }
          )
        })
  return Effect.andThen(
    started,
    Effect.whileLoop({
      while: () => loaded === undefined,
      body: () =>
        Effect.andThen(
          Effect.sync(() => {
            if (loaded !== undefined) return
            builder ??= new TableBuilder(requireEncoding())
            if (builder.step(BUILD_SLICE)) {
              loaded = builder.table
              if (loaded !== undefined) keepTable(builder.source, loaded)
              builder = undefined
            }
          }),
          Effect.yieldNow
        ),
      step: () => {}
    })
  )
})

/** Whether the merge table has been built in this process. */
export const isWarm = (): boolean => loaded !== undefined

// Byte-pair encoding of one piece (the bytes of one match of the encoding's
// split pattern), exactly as tiktoken does it: merge the adjacent pair with the
// lowest rank, leftmost first, until no adjacent pair is a token.

const NO_RANK = 0x7fffffff

const rankOf = (t: Table, bytes: Uint8Array, start: number, end: number): number => {
  const length = end - start
  const hash = fnv(bytes, start, end)
  const bits = hash >>> RANK_BITS
  let slot = hash & SLOT_MASK
  for (;;) {
    const entry = t.slots[slot] as number
    if (entry === 0) return NO_RANK
    if (entry >>> RANK_BITS === bits) {
      const rank = (entry & RANK_MASK) - 1
      const at = t.starts[rank] as number
      if ((t.starts[rank + 1] as number) - at === length) {
        let i = 0
        while (i < length && t.pool[at + i] === bytes[start + i]) i++
        if (i === length) return rank
      }
    }
    slot = (slot + 1) & SLOT_MASK
  }
}

let bytes = new Uint8Array(1024)
let bounds = new Int32Array(1024) // part boundaries during a merge
let pairRanks = new Int32Array(1024) // rank of part i merged with part i + 1

const encoder = new TextEncoder()

/** UTF-8 of a piece into the shared scratch buffer; its length. */
const utf8 = (piece: string): number => {
  const length = piece.length
  if (length * 3 > bytes.length) bytes = new Uint8Array(length * 3)
  // ASCII, most pieces, is its own UTF-8: copied here rather than through a call into the encoder.
  for (let i = 0; i < length; i++) {
    const code = piece.charCodeAt(i)
    if (code >= 0x80) return encoder.encodeInto(piece, bytes).written
    bytes[i] = code
  }
  return length
}

/**
 * Merges `bytes[0, length)` into tokens; leaves the parts' boundaries in
 * `bounds[0, parts]` and returns the number of parts.
 */
const merge = (t: Table, length: number): number => {
  if (length + 1 > bounds.length) {
    bounds = new Int32Array(length + 1)
    pairRanks = new Int32Array(length + 1)
  }
  for (let i = 0; i <= length; i++) bounds[i] = i
  for (let i = 0; i + 1 < length; i++) pairRanks[i] = rankOf(t, bytes, i, i + 2)
  let parts = length
  while (parts > 1) {
    let best = NO_RANK
    let at = -1
    for (let i = 0; i + 1 < parts; i++) {
      const rank = pairRanks[i] as number
      if (rank < best) {
        best = rank
        at = i
      }
    }
    if (at === -1) break
    // Part `at` absorbs part `at + 1`: drop boundary `at + 1`.
    bounds.copyWithin(at + 1, at + 2, parts + 1)
    pairRanks.copyWithin(at + 1, at + 2, parts)
    parts--
    pairRanks[at] =
      at + 1 < parts ? rankOf(t, bytes, bounds[at] as number, bounds[at + 2] as number) : NO_RANK
    if (at > 0) pairRanks[at - 1] = rankOf(t, bytes, bounds[at - 1] as number, bounds[at + 1] as number)
  }
  return parts
}

const pieceTokenCount = (piece: string): number => {
  const t = table()
  const length = utf8(piece)
  if (length <= 1 || rankOf(t, bytes, 0, length) !== NO_RANK) return length === 0 ? 0 : 1
  return merge(t, length)
}

const pieceTokens = (piece: string, into: Array<number>): void => {
  const t = table()
  const length = utf8(piece)
  if (length === 0) return
  const whole = rankOf(t, bytes, 0, length)
  if (whole !== NO_RANK) {
    into.push(whole)
    return
  }
  const parts = merge(t, length)
  for (let i = 0; i < parts; i++) into.push(rankOf(t, bytes, bounds[i] as number, bounds[i + 1] as number))
}

// Counting text. The encoding splits text with its own pattern and encodes
// each piece on its own, so a text's count is the sum of its pieces' counts.
// Natural text repeats its pieces (words with their leading space): caching
// each piece's count makes counting a long prompt a few map lookups a word
// instead of a byte-pair merge a word, with exactly the same result.

// The encoding's split pattern, matched at one position (sticky). ASCII text,
// most of a prompt, is split by `asciiPieceEnd` instead, several times faster;
// the pattern itself is compiled only for a piece that needs it (its first two
// uses cost ≈ 20 ms, as V8 compiles it, then compiles it again to machine code).
let piecePattern: RegExp | undefined

// Character kinds for the ASCII split: 0 lowercase, 1 uppercase, 2 digit,
// 3 newline (\r \n), 4 other whitespace, 5 anything else — and the punctuation
// beyond ASCII below; 6 any other character.
const KIND = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  KIND[c] =
    c >= 97 && c <= 122
      ? 0
      : c >= 65 && c <= 90
        ? 1
        : c >= 48 && c <= 57
          ? 2
          : c === 10 || c === 13
            ? 3
            : c === 9 || c === 11 || c === 12 || c === 32
              ? 4
              : 5
}
const NON_ASCII = 6

/**
 * Characters beyond ASCII that the pattern reads exactly as ASCII punctuation
 * (not whitespace, a letter, a digit or a combining mark, which joins letters):
 * the common ones of English prose and Markdown — Latin-1's signs (¡ § « ° · »
 * ¿ × ÷), dashes, quotes, the ellipsis and › of general punctuation, arrows,
 * mathematical operators, box drawing, blocks and shapes. A test encodes each
 * of them, and its neighbours, in many contexts and compares with js-tiktoken. A prompt that holds only these beyond ASCII (as
 * Weft's docs and its own passage titles do) never compiles the pattern.
 */
const isPunctuationBeyondAscii = (code: number): boolean =>
  code < 0x2010
    ? (code >= 0xa1 && code <= 0xbf && !LATIN1_NOT_PUNCTUATION.has(code)) || code === 0xd7 || code === 0xf7
    : code <= 0x2027 ||
      (code >= 0x2030 && code <= 0x205e) ||
      (code >= 0x2190 && code <= 0x22ff) ||
      (code >= 0x2500 && code <= 0x25ff)
/** Latin-1's letters and numbers among its signs: ª ² ³ µ ¹ º ¼ ½ ¾. */
const LATIN1_NOT_PUNCTUATION: ReadonlySet<number> = new Set([
  0xaa, 0xb2, 0xb3, 0xb5, 0xb9, 0xba, 0xbc, 0xbd, 0xbe
])

const kindAt = (text: string, i: number): number => {
  const code = text.charCodeAt(i)
  return code < 128 ? (KIND[code] as number) : isPunctuationBeyondAscii(code) ? 5 : NON_ASCII
}

/** Where a word ends once the contraction after it ('s 't 'm 'd 're 've 'll, any case), if any, is taken. */
const afterContraction = (text: string, at: number): number => {
  if (text.charCodeAt(at) !== 39) return at
  const first = text.charCodeAt(at + 1) | 0x20
  if (first === 115 || first === 116 || first === 109 || first === 100) return at + 2
  const second = text.charCodeAt(at + 2) | 0x20
  if ((first === 114 || first === 118) && second === 101) return at + 3
  if (first === 108 && second === 108) return at + 3
  return at
}

/**
 * Where the piece starting at `start` ends, by the encoding's split pattern
 * read for ASCII: a word (uppercase then lowercase letters, with an optional
 * leading non-letter, non-digit, non-newline and a trailing contraction), up
 * to three digits, punctuation (with an optional leading space and trailing
 * newlines and slashes), or whitespace (through its last newline; else all
 * but its last character before other text). -1 when deciding needs a
 * character beyond ASCII other than the punctuation `isPunctuationBeyondAscii`
 * names: the pattern decides that piece.
 */
const asciiPieceEnd = (text: string, start: number): number => {
  const length = text.length
  const first = kindAt(text, start)
  if (first === NON_ASCII) return -1
  let word = start
  if ((first === 4 || first === 5) && start + 1 < length) {
    const next = kindAt(text, start + 1)
    if (next === NON_ASCII) return -1
    if (next <= 1) word = start + 1
  }
  if ((word === start ? first : 0) <= 1) {
    let i = word
    let kind = -1
    while (i < length && (kind = kindAt(text, i)) === 1) i++
    while (i < length && (kind = kindAt(text, i)) === 0) i++
    if (i < length && kind === NON_ASCII) return -1
    return afterContraction(text, i)
  }
  if (first === 2) {
    let i = start + 1
    while (i < length && i < start + 3 && kindAt(text, i) === 2) i++
    return i
  }
  if (first === 5 || (text.charCodeAt(start) === 32 && start + 1 < length && kindAt(text, start + 1) === 5)) {
    let i = first === 5 ? start + 1 : start + 2
    let kind = -1
    while (i < length && (kind = kindAt(text, i)) === 5) i++
    if (i < length && kind === NON_ASCII) return -1
    for (
      let code = text.charCodeAt(i);
      code === 10 || code === 13 || code === 47;
      code = text.charCodeAt(++i)
    ) {}
    return i
  }
  let end = start
  let lastNewline = -1
  let kind = -1
  while (end < length && ((kind = kindAt(text, end)) === 3 || kind === 4)) {
    if (kind === 3) lastNewline = end
    end++
  }
  if (end < length && kind === NON_ASCII) return -1
  if (lastNewline !== -1) return lastNewline + 1
  if (end === length || end - start === 1) return end
  return end - 1
}

/** Where the piece starting at `start` ends. */
const pieceEnd = (text: string, start: number): number => {
  const end = asciiPieceEnd(text, start)
  if (end !== -1) return end
  if (piecePattern === undefined) {
    // The pattern is read with the rank list; the piece's tokens need the table next anyway.
    if (patternSource === undefined) table()
    piecePattern = new RegExp(patternSource as string, "uy")
  }
  piecePattern.lastIndex = start
  return start + (piecePattern.exec(text) as RegExpExecArray)[0].length
}

const pieceCounts = new Map<string, number>()
const MAX_CACHED_PIECES = 100_000
const MAX_CACHED_PIECE_LENGTH = 64 // longer pieces (a run of base64, of spaces) rarely come back

const countPieces = (text: string): number => {
  let total = 0
  for (let start = 0, end = 0; start < text.length; start = end) {
    end = pieceEnd(text, start)
    const piece = text.slice(start, end)
    let count = pieceCounts.get(piece)
    if (count === undefined) {
      count = pieceTokenCount(piece)
      if (piece.length <= MAX_CACHED_PIECE_LENGTH) {
        if (pieceCounts.size >= MAX_CACHED_PIECES) pieceCounts.clear()
        pieceCounts.set(piece, count)
      }
    }
    total += count
  }
  return total
}

/**
 * The token ids of a text. Special-token markers in the text (`<|endoftext|>`)
 * are encoded as plain text, never as control tokens.
 */
export const encode = (text: string): Array<number> => {
  const ids: Array<number> = []
  for (let start = 0, end = 0; start < text.length; start = end) {
    end = pieceEnd(text, start)
    pieceTokens(text.slice(start, end), ids)
  }
  return ids
}

/** How many tokens a text is (the length `encode` would give). */
export const countText = (text: string): number => (text.length === 0 ? 0 : countPieces(text))

/**
 * The text a prompt message carries (text, reasoning, tool parameters and
 * results), from a message or its encoded form (what `Prompt.make` accepts).
 */
export const messageText = (message: Prompt.Message | Prompt.MessageEncoded): string => {
  if (typeof message.content === "string") return message.content
  let text = ""
  for (const part of message.content) {
    switch (part.type) {
      case "text":
      case "reasoning":
        text += part.text
        break
      case "tool-call":
        text += part.name + JSON.stringify(part.params)
        break
      case "tool-result":
        text += JSON.stringify(part.result)
        break
      default:
        break
    }
  }
  return text
}

// A conversation sends the same message objects again on every call (a
// chat's history, an agent loop's earlier turns): each message object is
// counted once. Messages are immutable (a caller that mutates an encoded
// message object after counting it gets the old count).
const messageCounts = new WeakMap<object, number>()

/** How many tokens one message is: its text plus the per-message overhead (each message object counted once). */
export const countMessage = (message: Prompt.Message | Prompt.MessageEncoded): number => {
  let count = messageCounts.get(message)
  if (count === undefined) {
    count = countText(messageText(message)) + MESSAGE_OVERHEAD_TOKENS
    messageCounts.set(message, count)
  }
  return count
}

/** How many tokens a prompt is: its messages' text plus the per-message overhead. */
export const countPrompt = (prompt: Prompt.Prompt): number => {
  let total = 0
  for (const message of prompt.content) total += countMessage(message)
  return total
}

// A tool's definition and a schema's JSON Schema do not change, and the same
// objects come back on every call of an agent loop: count each once.
const toolCounts = new WeakMap<object, number>()
const schemaCounts = new WeakMap<object, number>()

/** Tokens a tool's definition costs: name, description and parameter schema, as sent to a provider. */
export const countTool = (tool: Tool.Any): number => {
  let count = toolCounts.get(tool)
  if (count !== undefined) return count
  const definition = Tool.isProviderDefined(tool)
    ? JSON.stringify(tool.args)
    : JSON.stringify(Tool.getJsonSchema(tool))
  count =
    countText(Tool.isProviderDefined(tool) ? tool.providerName : tool.name) +
    countText(tool.description ?? "") +
    countText(definition) +
    TOOL_OVERHEAD_TOKENS
  toolCounts.set(tool, count)
  return count
}

/** Tokens a response schema's JSON Schema costs (what `generateObject` sends as the response format). */
export const countSchema = (schema: Schema.Top): number => {
  let count = schemaCounts.get(schema)
  if (count !== undefined) return count
  count = countText(JSON.stringify(Tool.getJsonSchemaFromSchema(schema)))
  schemaCounts.set(schema, count)
  return count
}

/** The response format of a call: effect/ai's provider option, or just the schema of the object asked for. */
export type ResponseFormat =
  | { readonly type: "text" }
  | { readonly type: "json"; readonly objectName?: string | undefined; readonly schema: Schema.Top }
  | Schema.Top

/** What a model call sends that costs input tokens. */
export interface Request {
  readonly prompt: Prompt.RawInput
  /** The tools offered to the model: a list, or a toolkit's `tools` record. */
  readonly tools?: Iterable<Tool.Any> | { readonly [name: string]: Tool.Any } | undefined
  readonly responseFormat?: ResponseFormat | undefined
}

const toolList = (tools: NonNullable<Request["tools"]>): Iterable<Tool.Any> =>
  Symbol.iterator in tools ? (tools as Iterable<Tool.Any>) : Object.values(tools)

const countResponseFormat = (format: ResponseFormat): number => {
  if (Schema.isSchema(format)) return countSchema(format) + RESPONSE_FORMAT_OVERHEAD_TOKENS
  if (format.type === "text") return 0
  return countText(format.objectName ?? "") + countSchema(format.schema) + RESPONSE_FORMAT_OVERHEAD_TOKENS
}

/**
 * The input tokens to reserve for a model call: the prompt, every tool
 * definition offered, and the response-format schema. Tool and schema counts
 * are cached per object, as are message counts, so the next call of a
 * conversation counts only its new messages.
 */
export const estimateRequest = (request: Request): number => {
  const prompt = request.prompt
  let total = 0
  if (typeof prompt === "string") total = countText(prompt) + MESSAGE_OVERHEAD_TOKENS
  else {
    // Encoded messages are counted as they are: decoding them into a Prompt
    // costs more than counting them.
    for (const message of Prompt.isPrompt(prompt) ? prompt.content : prompt) total += countMessage(message)
  }
  if (request.tools !== undefined) for (const tool of toolList(request.tools)) total += countTool(tool)
  if (request.responseFormat !== undefined) total += countResponseFormat(request.responseFormat)
  return total
}

/** `effect/ai` Tokenizer backed by the same encoding, for `Tokenizer.truncate` and friends. */
export const tokenizer: Tokenizer.Service = Tokenizer.make({
  tokenize: (prompt) =>
    Effect.sync(() => {
      const ids: Array<number> = []
      for (const message of prompt.content) {
        for (const id of encode(messageText(message))) ids.push(id)
      }
      return ids
    })
})

/** Provides effect/ai's `Tokenizer` with the `o200k_base` encoding, its table built (interruptibly) first. */
export const layer: Layer.Layer<Tokenizer.Tokenizer> = Layer.effect(
  Tokenizer.Tokenizer,
  Effect.as(warm, tokenizer)
)

/**
 * The longest prefix of `text` made of whole words that takes at most
 * `maxTokens` tokens (cut inside the first word, character by character,
 * when not even that fits). The text itself when it fits.
 */
export const cutToTokens = (text: string, maxTokens: number): string => {
  if (countText(text) <= maxTokens) return text
  const ends: Array<number> = []
  for (const match of text.matchAll(/\S+/g)) ends.push(match.index + match[0].length)
  // Token counts grow with the prefix: search for the longest that fits.
  let low = 0
  let high = ends.length
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (countText(text.slice(0, ends[mid - 1])) <= maxTokens) low = mid
    else high = mid - 1
  }
  if (low > 0) return text.slice(0, ends[low - 1])
  let cut = ""
  for (const char of text.trimStart()) {
    if (countText(cut + char) > maxTokens) break
    cut += char
  }
  return cut
}
