/**
 * A BEIR-format dataset read from a folder (`corpus.jsonl`, `queries.jsonl`,
 * `qrels/<split>.tsv`) and the two measures the retrieval benches report,
 * computed as BEIR computes them with pytrec_eval: nDCG@k with the judged
 * relevance as gain, and Recall@k over the documents judged relevant (> 0).
 * Shared by bench/retrieval.ts and bench/scifact.ts.
 */
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"

/** One document of a corpus: its id, title (possibly empty) and text. */
export interface CorpusDoc {
  readonly id: string
  readonly title: string
  readonly text: string
}

/** Where SciFact is by default: ../shared/datasets/scifact beside the repository. */
export const SCIFACT_FOLDER = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "shared",
  "datasets",
  "scifact"
)

/** How many abstracts SciFact's corpus holds: the benches tell it from a subset (or another folder) by this. */
export const SCIFACT_ABSTRACTS = 5183

export interface BeirQuery {
  readonly id: string
  readonly text: string
  /** Judged documents and their relevance (> 0 only). */
  readonly relevant: ReadonlyMap<string, number>
}

export interface BeirDataset {
  readonly corpus: ReadonlyArray<CorpusDoc>
  /** The queries of the split that have at least one relevant document, in qrels order. */
  readonly queries: ReadonlyArray<BeirQuery>
}

/** The files a BEIR folder holds for a split, relative to the folder. */
export const beirFiles = (split: string): ReadonlyArray<string> => [
  "corpus.jsonl",
  "queries.jsonl",
  join("qrels", `${split}.tsv`)
]

/** The BEIR files missing from `folder` for `split` (all of them when the folder is missing). */
export const missingFiles = (folder: string, split: string): ReadonlyArray<string> =>
  existsSync(folder) && statSync(folder).isDirectory()
    ? beirFiles(split).filter((file) => !existsSync(join(folder, file)))
    : [...beirFiles(split)]

/** Calls `onRecord` with each JSON line of a file, streamed so a large corpus need not fit in one string. */
const readJsonl = async (file: string, onRecord: (record: Record<string, unknown>) => void) => {
  const lines = createInterface({
    input: createReadStream(file, "utf8"),
    crlfDelay: Number.POSITIVE_INFINITY
  })
  let number = 0
  for await (const line of lines) {
    number++
    if (line.trim().length === 0) continue
    try {
      onRecord(JSON.parse(line) as Record<string, unknown>)
    } catch (cause) {
      throw new Error(`${file}:${number}: not a JSON line (${String(cause)})`)
    }
  }
}

const field = (record: Record<string, unknown>, name: string): string => {
  const value = record[name]
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : ""
}

/**
 * Reads a BEIR folder's corpus, queries and one split's judgements (a header
 * line, then query-id, corpus-id, score, tab-separated). Rejects (with the
 * file named) a line that is not JSON or a record without an `_id`.
 */
export const loadBeir = async (folder: string, split: string): Promise<BeirDataset> => {
  const corpus: Array<CorpusDoc> = []
  const corpusFile = join(folder, "corpus.jsonl")
  await readJsonl(corpusFile, (record) => {
    const id = field(record, "_id")
    if (id === "") throw new Error(`${corpusFile}: a document without an "_id"`)
    corpus.push({ id, title: field(record, "title"), text: field(record, "text") })
  })
  const queryText = new Map<string, string>()
  await readJsonl(join(folder, "queries.jsonl"), (record) => {
    queryText.set(field(record, "_id"), field(record, "text"))
  })
  const judgements = new Map<string, Map<string, number>>()
  const lines = readFileSync(join(folder, "qrels", `${split}.tsv`), "utf8").split(/\r?\n/)
  for (const [i, line] of lines.entries()) {
    const [queryId, docId, score] = line.split("\t")
    if (queryId === undefined || docId === undefined || score === undefined) continue
    const relevance = Number(score)
    // The header line (query-id, corpus-id, score) and unjudged or non-relevant pairs.
    if (i === 0 && Number.isNaN(relevance)) continue
    if (!(relevance > 0)) continue
    const relevant = judgements.get(queryId) ?? new Map<string, number>()
    relevant.set(docId, relevance)
    judgements.set(queryId, relevant)
  }
  const queries: Array<BeirQuery> = []
  for (const [id, relevant] of judgements) {
    const text = queryText.get(id)
    if (text !== undefined) queries.push({ id, text, relevant })
  }
  return { corpus, queries }
}

/** A document as the lexical methods index it: title, a line break, text (BEIR's title + text). */
export const documentText = (doc: CorpusDoc): string =>
  doc.title.length > 0 ? `${doc.title}\n${doc.text}` : doc.text

/**
 * nDCG@k of one ranking: gain = relevance, discount log2(rank + 1), over the
 * ideal ordering of all the query's relevant documents.
 */
export const ndcgAt = (
  k: number,
  ranked: ReadonlyArray<string>,
  relevant: ReadonlyMap<string, number>
): number => {
  let dcg = 0
  for (let i = 0; i < Math.min(k, ranked.length); i++) {
    const gain = relevant.get(ranked[i]!) ?? 0
    if (gain > 0) dcg += gain / Math.log2(i + 2)
  }
  const gains = [...relevant.values()].sort((x, y) => y - x)
  let ideal = 0
  for (let i = 0; i < Math.min(k, gains.length); i++) ideal += gains[i]! / Math.log2(i + 2)
  return ideal === 0 ? 0 : dcg / ideal
}

/** Recall@k of one ranking: the share of the relevant documents among its first k. */
export const recallAt = (
  k: number,
  ranked: ReadonlyArray<string>,
  relevant: ReadonlyMap<string, number>
): number => {
  if (relevant.size === 0) return 0
  let found = 0
  for (let i = 0; i < Math.min(k, ranked.length); i++) if (relevant.has(ranked[i]!)) found++
  return found / relevant.size
}
