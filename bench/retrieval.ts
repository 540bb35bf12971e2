/**
 * Retrieval quality and speed of each method in bench/retrieval/methods.ts
 * on a BEIR-format dataset.
 *
 *     npm run bench:retrieval -- [folder] [split]
 *
 * `folder` holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv; the
 * default is ../shared/datasets/scifact beside the repository, split `train`
 * (SciFact's test split is held out: tune on train only). For each method it
 * prints one machine-readable line, `method=<name> ndcg@10=<x> recall@100=<y>`,
 * then the index build time and the query latency (p50, p99) on a line of its
 * own; on SciFact, the published BM25 figures beside them. Only a run on the
 * default data (SciFact, train) writes docs/bench/retrieval.md, so figures
 * from other data never replace the committed ones; a method the committed
 * file reports that was skipped (the PostgreSQL ones without
 * WEFT_BENCH_DATABASE_URL) leaves the file as committed too (bench/report.ts).
 * The default data missing is one line and exit 0; a folder given that is not
 * BEIR is an error, exit 1.
 */
import { basename, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import {
  type BeirDataset,
  loadBeir,
  missingFiles,
  ndcgAt,
  recallAt,
  SCIFACT_ABSTRACTS,
  SCIFACT_FOLDER
} from "./retrieval/beir.ts"
import { type AnyMethod, methods, skipped } from "./retrieval/methods.ts"
import { tableRow, writeResults } from "./report.ts"

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..")
const defaultFolder = SCIFACT_FOLDER
const defaultSplit = "train"
const report = join(root, "docs", "bench", "retrieval.md")

const args = process.argv.slice(2).filter((arg) => !arg.startsWith("--"))
if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(
    "usage: npm run bench:retrieval -- [BEIR folder (default ../shared/datasets/scifact)] [split (default train)]"
  )
  process.exit(0)
}
// npm runs scripts from the package root; a folder given is relative to where the user typed the command.
const folder = args[0] === undefined ? defaultFolder : resolve(process.env.INIT_CWD ?? process.cwd(), args[0])
const split = args[1] ?? defaultSplit
const isDefaultData = folder === resolve(defaultFolder) && split === defaultSplit

const missing = missingFiles(folder, split)
if (missing.length > 0) {
  if (args.length === 0) {
    console.log(
      `bench/retrieval.ts: skipped, SciFact not found at ${folder} (needs ${missing.join(", ")}); docs/bench/retrieval.md left as committed`
    )
    process.exit(0)
  }
  console.error(
    `bench/retrieval.ts: ${folder} is not a BEIR folder for split "${split}": missing ${missing.join(", ")} ` +
      "(a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv)"
  )
  process.exit(1)
}

let data: BeirDataset
try {
  data = await loadBeir(folder, split)
} catch (error) {
  console.error(
    `bench/retrieval.ts: cannot read ${folder}: ${error instanceof Error ? error.message : String(error)}`
  )
  process.exit(1)
}
if (data.queries.length === 0 || data.corpus.length === 0) {
  console.error(
    `bench/retrieval.ts: ${folder} holds ${data.corpus.length} documents and ${data.queries.length} queries with a relevant document in qrels/${split}.tsv; nothing to measure`
  )
  process.exit(1)
}

// SciFact by its name and size (5,183 abstracts), so the published figures are shown only beside it.
const isSciFact = basename(folder).toLowerCase() === "scifact" && data.corpus.length === SCIFACT_ABSTRACTS
const published = [
  { system: "BM25, BEIR paper (Elasticsearch, multifield)", ndcg: 0.665, recall: undefined },
  { system: "BM25, Anserini flat (Porter stemming)", ndcg: 0.6789, recall: 0.9253 },
  { system: "BM25, Anserini multifield", ndcg: 0.6647, recall: 0.9076 }
] as const

interface Row {
  readonly method: AnyMethod
  readonly ndcg: number
  readonly recall: number
  readonly buildMs: number
  readonly p50Ms: number
  readonly p99Ms: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!

/** Builds the method's index, runs every query at depth 100 and scores the rankings. */
const measure = (method: AnyMethod) =>
  Effect.scoped(
    Effect.gen(function* () {
      const started = performance.now()
      const index = yield* method.build(data.corpus)
      const buildMs = performance.now() - started
      let ndcg = 0
      let recall = 0
      const latencies: Array<number> = []
      for (const query of data.queries) {
        const before = performance.now()
        const found = yield* method.search(index, query.text, 100)
        latencies.push(performance.now() - before)
        // As BEIR does, a document with the query's own id is never counted (ArguAna, Quora).
        const ranked = found.filter((id) => id !== query.id)
        ndcg += ndcgAt(10, ranked, query.relevant)
        recall += recallAt(100, ranked, query.relevant)
      }
      latencies.sort((x, y) => x - y)
      const count = data.queries.length
      return {
        method,
        ndcg: ndcg / count,
        recall: recall / count,
        buildMs,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99)
      } satisfies Row
    })
  )

console.log(
  `bench/retrieval.ts: ${folder}, split ${split}: ${data.corpus.length} documents, ${data.queries.length} queries with judgements`
)
for (const { name, needs } of skipped) console.log(`method=${name} skipped: needs ${needs}`)
const rows: Array<Row> = []
for (const method of methods) {
  const exit = await Effect.runPromiseExit(measure(method))
  if (exit._tag === "Failure") {
    console.error(`method=${method.name} failed: ${String(exit.cause)}`)
    process.exitCode = 1
    continue
  }
  const row = exit.value
  rows.push(row)
  console.log(`method=${row.method.name} ndcg@10=${row.ndcg.toFixed(4)} recall@100=${row.recall.toFixed(4)}`)
  console.log(
    `  build ${Math.round(row.buildMs)} ms, query p50 ${row.p50Ms.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms`
  )
}
if (isSciFact) {
  console.log("published BM25 on SciFact (test split, for orientation):")
  for (const p of published) {
    console.log(
      `  ${p.system}: nDCG@10 ${p.ndcg.toFixed(4)}${p.recall === undefined ? "" : `, Recall@100 ${p.recall.toFixed(4)}`}`
    )
  }
}

if (!isDefaultData || !isSciFact) {
  console.log(
    "docs/bench/retrieval.md not written: it holds figures from the default data (SciFact, train) only"
  )
} else if (rows.length === methods.length) {
  const table = [
    "| method | nDCG@10 | Recall@100 | build | query p50 | query p99 | what it is |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ...rows.map(
      (row) =>
        `| ${row.method.name} | ${row.ndcg.toFixed(4)} | ${row.recall.toFixed(4)} | ${Math.round(row.buildMs)} ms | ` +
        `${row.p50Ms.toFixed(2)} ms | ${row.p99Ms.toFixed(2)} ms | ${row.method.description} |`
    ),
    ...published.map(
      (p) =>
        `| *published: ${p.system}, test split* | ${p.ndcg.toFixed(4)} | ${p.recall?.toFixed(4) ?? "—"} | | | | |`
    )
  ].join("\n")
  writeResults(
    report,
    `# Retrieval methods on BEIR SciFact (train split)

Measured ${new Date().toISOString().slice(0, 10)} with Node ${process.version} by \`npm run bench:retrieval\`
(bench/retrieval.ts; methods in bench/retrieval/methods.ts).

${data.corpus.length} abstracts; ${data.queries.length} train queries with judgements (qrels/train.tsv). The test
split is held out and measured from outside; nothing was tuned on it. Build is the time to index the corpus; query
latency is per query, ranking 100 documents, on one core of a shared machine.

${table}

The published figures are for the test split, shown for orientation: train and test figures of one system are close
but not identical. How the analyzer behind these figures was chosen (stemmers, tokenisation, k1/b) is in
[scifact.md](scifact.md).
`,
    // A method skipped here (the PostgreSQL ones without a server) keeps its committed row: the file is left alone.
    skipped.map(({ name, needs }) => ({ part: `the ${name} row`, marker: tableRow(name), needs }))
  )
} else {
  console.log("docs/bench/retrieval.md left as committed: a method failed (above)")
}
