/**
 * The in-memory Retriever's index kept in a file (`RetrieverOptions.cache`), so
 * a program that starts again over the same documents reads its chunks and
 * BM25 postings back instead of chunking and analysing every text anew.
 *
 * The file is JSON: a key, the chunks, and the BM25 snapshot's typed arrays in
 * base64. The key is a SHA-256 of everything the index is made from (each
 * document's source id and text, in order, the resolved chunking and BM25
 * options, the byte order) and of `INDEX_FORMAT`, so any change to them
 * misses the cache and the index is built afresh. A file that is missing,
 * unreadable, damaged or for other documents is a miss too, never an error;
 * writing goes through a temporary file and a rename (`KeptFile.writeWhole`),
 * so a reader sees the old file or the new one, never half of one.
 */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { endianness } from "node:os"
import { writeWhole } from "../../core/KeptFile.ts"
import * as Bm25 from "../Bm25.ts"
import type * as Chunking from "../Chunking.ts"

/**
 * The version of what chunking and the analyzer make from a text. Bump it
 * whenever either changes its output, so files written before miss the cache:
 * test/retrieval/IndexCache.test.ts pins a fingerprint of that output and
 * fails, saying so, when it changes.
 */
export const INDEX_FORMAT = 1

/** A built index: its chunks and their BM25 postings (chunk i is text i). */
export interface CachedIndex {
  readonly chunks: ReadonlyArray<Chunking.Chunk>
  readonly index: Bm25.Bm25Index
}

/** The key of the index these documents and options make. */
export const keyOf = (
  documents: ReadonlyArray<Chunking.Document>,
  chunking: Chunking.ResolvedChunkOptions,
  bm25: Bm25.ResolvedBm25Options
): string => {
  const hash = createHash("sha256")
  hash.update(JSON.stringify([INDEX_FORMAT, endianness(), chunking, bm25, documents.length]))
  for (const document of documents) hash.update(JSON.stringify([document.sourceId, document.text]))
  return hash.digest("hex")
}

/** The index kept at `path` under `key`, or undefined when there is none (or it is damaged). */
export const read = (path: string, key: string): CachedIndex | undefined => {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"))
  } catch {
    return undefined
  }
  if (!isRecord(parsed) || parsed.format !== INDEX_FORMAT || parsed.key !== key) return undefined
  const chunks = chunksOf(parsed.chunks)
  const snapshot = snapshotOf(parsed.bm25)
  if (chunks === undefined || snapshot === undefined || snapshot.lengths.length !== chunks.length)
    return undefined
  const index = Bm25.fromSnapshot(snapshot)
  return index === undefined ? undefined : { chunks, index }
}

/**
 * Keeps the index at `path` under `key`, creating its folder; the error when
 * it cannot be written (the caller decides whether that matters).
 */
export const write = (path: string, key: string, built: CachedIndex): unknown => {
  const snapshot = built.index.snapshot()
  const content = JSON.stringify({
    format: INDEX_FORMAT,
    key,
    chunks: built.chunks.map((chunk) => [chunk.sourceId, chunk.index, chunk.title ?? null, chunk.text]),
    bm25: {
      options: snapshot.options,
      terms: snapshot.terms,
      offsets: base64(snapshot.offsets),
      postingDocs: base64(snapshot.postingDocs),
      postingTfs: base64(snapshot.postingTfs),
      lengths: base64(snapshot.lengths)
    }
  })
  return writeWhole(path, content)
}

const base64 = (array: Uint32Array | Float32Array | Int32Array): string =>
  Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString("base64")

/** A typed array of `make`'s kind from base64, or undefined when the bytes are not a whole number of elements. */
const decoded = <A>(
  value: unknown,
  make: (length: number) => A & { buffer: ArrayBufferLike },
  width: number
) => {
  if (typeof value !== "string") return undefined
  const bytes = Buffer.from(value, "base64")
  if (bytes.length % width !== 0) return undefined
  const array = make(bytes.length / width)
  new Uint8Array(array.buffer).set(bytes)
  return array
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const chunksOf = (value: unknown): Array<Chunking.Chunk> | undefined => {
  if (!Array.isArray(value)) return undefined
  const chunks: Array<Chunking.Chunk> = []
  for (const entry of value) {
    if (!Array.isArray(entry) || entry.length !== 4) return undefined
    const [sourceId, index, title, text] = entry as [unknown, unknown, unknown, unknown]
    if (typeof sourceId !== "string" || !Number.isInteger(index) || typeof text !== "string") return undefined
    if (title !== null && typeof title !== "string") return undefined
    const id = `${sourceId}#${index as number}`
    chunks.push(
      title === null
        ? { id, sourceId, index: index as number, text }
        : { id, sourceId, index: index as number, title, text }
    )
  }
  return chunks
}

const snapshotOf = (value: unknown): Bm25.Bm25Snapshot | undefined => {
  if (!isRecord(value) || !isRecord(value.options)) return undefined
  const terms = value.terms
  if (!Array.isArray(terms) || !terms.every((term) => typeof term === "string")) return undefined
  const offsets = decoded(value.offsets, (n) => new Uint32Array(n), 4)
  const postingDocs = decoded(value.postingDocs, (n) => new Uint32Array(n), 4)
  const postingTfs = decoded(value.postingTfs, (n) => new Float32Array(n), 4)
  const lengths = decoded(value.lengths, (n) => new Int32Array(n), 4)
  if (
    offsets === undefined ||
    postingDocs === undefined ||
    postingTfs === undefined ||
    lengths === undefined
  ) {
    return undefined
  }
  return {
    options: value.options as unknown as Bm25.ResolvedBm25Options,
    terms: terms as Array<string>,
    offsets,
    postingDocs,
    postingTfs,
    lengths
  }
}
