/**
 * Speed and memory of the BM25 index at 10,000 chunks.
 *
 *     node bench/bm25.ts
 *
 * Chunks the SciFact abstracts with the Retriever's default chunking and
 * indexes 10,000 chunks (the corpus yields fewer, so the first ones are
 * repeated to make up the number). SciFact is read from `$WEFT_SCIFACT`, else
 * from ../shared/datasets/scifact beside the repository. Reports build time,
 * the memory the index holds, and query latency over ~1,000 SciFact claims,
 * both for the raw index and through `Retriever.retrieve` (an Effect with its
 * span). Prints a table and writes docs/bench/bm25.md.
 *
 * Without SciFact it says so in one line and measures deterministic synthetic
 * text instead, printed but never written: docs/bench/bm25.md holds SciFact
 * figures only (all 5,183 abstracts; a subset is measured, not written).
 */
import { existsSync, readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Effect } from "effect"
import * as Bm25 from "../src/retrieval/Bm25.ts"
import * as Chunking from "../src/retrieval/Chunking.ts"
import { fromDocuments } from "../src/retrieval/Retriever.ts"
import { writeResults } from "./report.ts"
import { SCIFACT_ABSTRACTS, SCIFACT_FOLDER } from "./retrieval/beir.ts"

const CHUNKS = 10_000
const QUERIES = 1_000
const TOP_K = 10

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const dataset = resolve(process.env.WEFT_SCIFACT ?? SCIFACT_FOLDER)

const readJsonl = <A>(file: string): Array<A> =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as A)

/** A deterministic PRNG (mulberry32), so the synthetic corpus is the same on every run. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** Zipf-distributed pseudo-words over a 20,000-word vocabulary, roughly like English. */
const syntheticText = (next: () => number, words: number): string => {
  const out: Array<string> = []
  for (let i = 0; i < words; i++) {
    const rank = Math.floor(Math.exp(next() * Math.log(20_000)))
    out.push(`w${rank.toString(36)}${i % 17 === 16 ? "." : ""}`)
  }
  return out.join(" ")
}

let source: string
let documents: Array<Chunking.Document>
let queries: Array<string>
if (existsSync(join(dataset, "corpus.jsonl")) && existsSync(join(dataset, "queries.jsonl"))) {
  const corpus = readJsonl<{ _id: string; title: string; text: string }>(join(dataset, "corpus.jsonl"))
  documents = corpus.map((doc) => ({ sourceId: doc._id, text: `# ${doc.title}\n\n${doc.text}` }))
  queries = readJsonl<{ text: string }>(join(dataset, "queries.jsonl"))
    .slice(0, QUERIES)
    .map((q) => q.text)
  source = `SciFact corpus.jsonl (${corpus.length} abstracts) and queries.jsonl (${queries.length} claims)`
} else {
  const next = random(42)
  documents = Array.from({ length: 6_000 }, (_, i) => ({
    sourceId: `doc${i}`,
    text: syntheticText(next, 250)
  }))
  queries = Array.from({ length: QUERIES }, () => syntheticText(next, 8))
  source = "synthetic text: 6,000 Zipfian documents, 1,000 queries"
  console.log(
    `bench/bm25.ts: SciFact not found at ${dataset} (set WEFT_SCIFACT to its folder); measuring ${source}, not written to docs/bench/bm25.md`
  )
}
// SciFact by its size (5,183 abstracts): a subset given as WEFT_SCIFACT is measured, not written.
const isSciFact = !source.startsWith("synthetic") && documents.length === SCIFACT_ABSTRACTS

const chunkStarted = performance.now()
const corpusChunks = documents.flatMap((doc) => Chunking.chunkDocument(doc))
const chunkMs = performance.now() - chunkStarted
const texts = Array.from({ length: CHUNKS }, (_, i) => {
  const chunk = corpusChunks[i % corpusChunks.length]!
  return chunk.title === undefined ? chunk.text : `${chunk.title}\n${chunk.text}`
})
const repeated = Math.max(0, CHUNKS - corpusChunks.length)
const words = texts.reduce((sum, text) => sum + text.split(/\s+/).length, 0)

// Build: the first (cold) build holds the memory measurement; then the median of five warm builds.
gc()
const heapBefore = process.memoryUsage()
let started = performance.now()
let index = Bm25.build(texts)
const coldBuildMs = performance.now() - started
gc()
const heapAfter = process.memoryUsage()
const memoryMb =
  (heapAfter.heapUsed + heapAfter.arrayBuffers - heapBefore.heapUsed - heapBefore.arrayBuffers) /
  (1024 * 1024)
const warmBuilds: Array<number> = []
for (let i = 0; i < 5; i++) {
  started = performance.now()
  index = Bm25.build(texts)
  warmBuilds.push(performance.now() - started)
}

const percentile = (samples: ReadonlyArray<number>, p: number): number => {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

const time = (run: (query: string) => unknown): Array<number> => {
  for (const query of queries) run(query) // warm-up pass
  return queries.map((query) => {
    const begin = performance.now()
    run(query)
    return performance.now() - begin
  })
}

const rawTimes = time((query) => index.search(query, TOP_K))

const retriever = Effect.runSync(fromDocuments(documents))
const retrieverTimes = time((query) => Effect.runSync(retriever.retrieve(query, { topK: TOP_K })))

const fmt = (ms: number) => ms.toFixed(3)
const rows: Array<[string, string]> = [
  [
    "chunks indexed",
    `${CHUNKS.toLocaleString("en")} (${words.toLocaleString("en")} words, ${index.terms.toLocaleString("en")} terms)`
  ],
  ["chunking the corpus (ms)", `${chunkMs.toFixed(0)} (${corpusChunks.length.toLocaleString("en")} chunks)`],
  ["index build, cold (ms)", coldBuildMs.toFixed(0)],
  ["index build, warm median of 5 (ms)", percentile(warmBuilds, 50).toFixed(0)],
  ["memory held by the index (MB)", memoryMb.toFixed(1)],
  [
    `search top ${TOP_K}, p50 / p99 / max (ms)`,
    `${fmt(percentile(rawTimes, 50))} / ${fmt(percentile(rawTimes, 99))} / ${fmt(Math.max(...rawTimes))}`
  ],
  [
    `Retriever.retrieve top ${TOP_K}, p50 / p99 / max (ms)`,
    `${fmt(percentile(retrieverTimes, 50))} / ${fmt(percentile(retrieverTimes, 99))} / ${fmt(Math.max(...retrieverTimes))}`
  ]
]
const table = [
  "| measure | value |",
  "| --- | ---: |",
  ...rows.map(([name, value]) => `| ${name} | ${value} |`)
].join("\n")
console.log(table)

const report = `# BM25 index: build time, memory, query latency

Measured ${new Date().toISOString().slice(0, 10)} with Node ${process.version} on ${process.platform}/${process.arch}
by \`node bench/bm25.ts\`.

Data: ${source}. Chunked with the default ${Chunking.defaultOptions.size}-word chunks and
${Chunking.defaultOptions.overlap}-word overlap, each indexed with its title as the Retriever does${
  repeated > 0
    ? `; the corpus gives ${corpusChunks.length.toLocaleString("en")} chunks, so the first ${repeated.toLocaleString("en")} are indexed twice to reach ${CHUNKS.toLocaleString("en")}`
    : ""
}. Latency is over ${queries.length.toLocaleString("en")} queries after one warm-up pass; the Retriever row
is the service built by \`Retriever.fromDocuments\` over the same documents${repeated > 0 ? " (without the repeats)" : ""}, each
query run with \`Effect.runSync\`.
Memory is heap plus array buffers after a forced GC, before and after the cold build.

${table}
`
if (isSciFact) writeResults(join(root, "docs", "bench", "bm25.md"), report)
else if (!source.startsWith("synthetic"))
  console.log(
    `docs/bench/bm25.md left as committed: it holds SciFact's ${SCIFACT_ABSTRACTS} abstracts, ${dataset} has ${documents.length}`
  )
