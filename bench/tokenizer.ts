/**
 * Which o200k token counter Weft should use: load time, memory, speed and
 * error of each candidate, each measured in a fresh child process.
 *
 *     node bench/tokenizer.ts
 *
 * Candidates: js-tiktoken (Weft's counter until now), gpt-tokenizer and
 * ai-tokenizer (their o200k_base encodings), Weft's own lazily built table
 * (src/text/Tokens.ts) and a table-free upper-bound estimate by character
 * class (below). Packages that are not dependencies are looked up in
 * node_modules and in $TOKENIZER_BENCH_MODULES (a folder holding a
 * node_modules, e.g. after `npm install --prefix /tmp/tok gpt-tokenizer
 * ai-tokenizer`); a candidate that is not installed is reported as skipped.
 *
 * The corpus: SciFact abstracts (../shared/datasets/scifact/corpus.jsonl) as
 * prose and as JSON, Weft's own source as code, and seeded generated strings
 * (CJK, kana and Hangul, base64, hex, emoji with ZWJ sequences and flags,
 * Cyrillic, Arabic, Devanagari, Thai, combining marks, random letters,
 * alternating case, punctuation, digits, whitespace, lone surrogates, special
 * token markers). Error is against js-tiktoken's exact o200k_base count.
 * Prints a table and writes docs/bench/tokenizer.md, unless a candidate or
 * SciFact that the committed file reports is missing here (then it is left
 * as committed and one line says why).
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { random, range } from "../test/fixtures/seeded.ts"
import { tableRow, writeResults } from "./report.ts"
import { SCIFACT_FOLDER } from "./retrieval/beir.ts"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const dataset = join(SCIFACT_FOLDER, "corpus.jsonl")

type Variant = "js-tiktoken" | "gpt-tokenizer" | "ai-tokenizer" | "weft-table" | "upper-bound"
const VARIANTS: ReadonlyArray<Variant> = [
  "js-tiktoken",
  "gpt-tokenizer",
  "ai-tokenizer",
  "weft-table",
  "upper-bound"
]

interface Sample {
  readonly kind: string
  readonly text: string
}

/** The realistic kinds, used for speed; every kind is used for error. */
const REALISTIC = new Set(["prose", "json", "code", "cjk"])

const corpus = (): Array<Sample> => {
  const next = random(7)
  const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)] as A
  const fill = (length: number, piece: () => string): string => {
    let out = ""
    while (out.length < length) out += piece()
    return out
  }
  const out: Array<Sample> = []
  const abstracts = existsSync(dataset)
    ? readFileSync(dataset, "utf8")
        .split("\n")
        .filter((line) => line.trim().length > 0)
        .slice(0, 400)
        .map((line) => JSON.parse(line) as { _id: string; title: string; text: string })
    : []
  for (const doc of abstracts) out.push({ kind: "prose", text: `${doc.title}\n\n${doc.text}` })
  for (const doc of abstracts.slice(0, 100)) out.push({ kind: "json", text: JSON.stringify(doc, null, 2) })
  const walk = (dir: string): Array<string> =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? walk(join(dir, entry.name))
        : entry.name.endsWith(".ts")
          ? [join(dir, entry.name)]
          : []
    )
  for (const file of walk(join(root, "src")).sort())
    out.push({ kind: "code", text: readFileSync(file, "utf8") })

  const lower = "abcdefghijklmnopqrstuvwxyz"
  const upper = lower.toUpperCase()
  const han = range(0x4e00, 0x4fff) // the most common block of CJK ideographs
  const kana = [...range(0x3041, 0x3096), ...range(0x30a1, 0x30fa)]
  const hangul = range(0xac00, 0xac00 + 2000)
  const emoji = [...range(0x1f300, 0x1f5ff), "👩‍👩‍👧‍👦", "🇫🇷", "🇯🇵", "👍🏽", "❤️", "🧑🏿‍💻", " "]
  const scripts = [
    " ",
    ...range(0x410, 0x44f),
    ...range(0x621, 0x64a),
    ...range(0x905, 0x939),
    ...range(0xe01, 0xe2e)
  ]
  const generated: Record<string, () => string> = {
    cjk: () => pick([pick(han), pick(han), pick(kana), "，", "。"]),
    "cjk-rare": () => String.fromCodePoint(0x4e00 + Math.floor(next() * 0x51ff)),
    "cjk-ext-b": () => String.fromCodePoint(0x20000 + Math.floor(next() * 0xa6df)),
    hangul: () => pick([pick(hangul), pick(hangul), " "]),
    emoji: () => pick(emoji),
    "cyrillic-arabic-indic-thai": () => pick(scripts),
    combining: () => pick([...lower]) + pick(range(0x300, 0x36f)),
    base64: () => pick([...`${lower}${upper}0123456789+/`]),
    hex: () => pick([..."0123456789abcdef"]),
    "random-lower": () => pick([...lower]),
    "random-words": () => ` ${fill(1 + next() * 12, () => pick([...lower]))}`,
    "mixed-case": () => pick([...lower, ...upper]),
    "alternating-case": () => pick([...lower]) + pick([...upper]),
    digits: () => pick([..."0123456789"]),
    "digits-separated": () => pick([..."0123456789"]) + pick([..." .,-:"]),
    punctuation: () => pick([..."!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"]),
    "ascii-random": () => String.fromCharCode(32 + Math.floor(next() * 95)),
    "ascii-control": () => String.fromCharCode(Math.floor(next() * 128)),
    whitespace: () => pick([" ", "  ", "\n", "\t", "\r\n", " \n ", "x"]),
    "bmp-random": () => {
      let code: number
      do code = Math.floor(next() * 0xfff0)
      while (code >= 0xd800 && code < 0xe000)
      return String.fromCharCode(code)
    },
    "astral-random": () => String.fromCodePoint(0x10000 + Math.floor(next() * 0x2ffff)),
    "lone-surrogates": () => pick(["\ud800", "\udc00", "a", "\udfff"]),
    "special-markers": () => pick(["<|endoftext|>", "<|endofprompt|>", "<|im_start|>", " hello"]),
    apostrophes: () => pick(["'s", "'S", "'ll", "'ve", "'", " don't", "'d'd", "x'"])
  }
  // Single pieces longer than a few hundred characters make js-tiktoken's
  // merge quadratic in string joins; 100–600 characters keep the run short.
  for (let i = 0; i < 40; i++) {
    for (const [kind, piece] of Object.entries(generated)) {
      out.push({ kind, text: fill(100 + Math.floor(next() * 500), piece) })
    }
  }
  return out
}

// The table-free estimate: a bound by character class, calibrated on the
// corpus above so it is never below the exact count there. Random letters cost
// ≈ 0.6 tokens each while English words cost ≈ 0.2 a letter, and no character
// class tells them apart, so an estimate that is safe on the first is ≈ 3×
// the truth on the second.

const CLASS = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  CLASS[c] =
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90)
      ? 0 // letter
      : c >= 48 && c <= 57
        ? 1 // digit
        : c === 32 || c === 9 || c === 10 || c === 13
          ? 2 // whitespace
          : 3 // punctuation and control
}

const upperBound = (text: string): number => {
  let total = 0
  let previous = 2
  let run = 0
  let wasLower = false
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code >= 128) {
      // Non-ASCII: a code unit below U+0800 is 2 UTF-8 bytes, a CJK ideograph
      // rarely more than 2 tokens, anything else at most its 3 bytes, a
      // surrogate half of a 4-byte character.
      total +=
        code < 0x800 ? 2 : code >= 0x4e00 && code <= 0x9fff ? 2 : code >= 0xd800 && code <= 0xdfff ? 2 : 3
      previous = 4
      run = 0
      continue
    }
    const kind = CLASS[code] as number
    const isUpper = code >= 65 && code <= 90
    if (kind !== previous || (kind === 0 && isUpper && wasLower)) run = 0
    run++
    wasLower = kind === 0 && !isUpper
    previous = kind
    if (kind === 1) total += run % 3 === 1 ? 1 : 0
    else if (run === 1) total += 1
    else total += kind === 0 ? 0.6 : kind === 2 ? 0.5 : 0.8
  }
  return Math.ceil(total)
}

interface ChildResult {
  readonly variant: Variant
  readonly skipped?: string
  readonly importMs: number
  readonly firstCountMs: number
  readonly heapMB: number
  readonly rssMB: number
  readonly peakRssMB: number
  readonly coldUsPerKB: number
  readonly warmUsPerKB: number
  readonly counts: Array<number>
  /** Weft only: `Tokens.estimateRequest` on a ≈ 4 KB prompt with two tools and a response schema. */
  readonly request?: {
    readonly kilobytes: number
    readonly coldUs: number
    readonly freshUs: number
    readonly repeatedUs: number
  }
}

const findModule = (relative: string): string | undefined => {
  const folders = [join(root, "node_modules"), ...(process.env.TOKENIZER_BENCH_MODULES ?? "").split(":")]
  for (const folder of folders) {
    if (folder === "") continue
    for (const candidate of [join(folder, relative), join(folder, "node_modules", relative)]) {
      if (existsSync(candidate)) return pathToFileURL(candidate).href
    }
  }
  return undefined
}

const load = async (variant: Variant): Promise<((text: string) => number) | string> => {
  switch (variant) {
    case "js-tiktoken": {
      const { Tiktoken } = await import("js-tiktoken/lite")
      const ranks = (await import("js-tiktoken/ranks/o200k_base")).default
      const encoding = new Tiktoken(ranks)
      return (text) => encoding.encode(text, [], []).length
    }
    case "gpt-tokenizer": {
      const url = findModule("gpt-tokenizer/esm/encoding/o200k_base.js")
      if (url === undefined) return "not installed"
      const encoding = await import(url)
      const options = { disallowedSpecial: new Set<string>() }
      return (text) => encoding.countTokens(text, options) as number
    }
    case "ai-tokenizer": {
      const main = findModule("ai-tokenizer/dist/index.js")
      const data = findModule("ai-tokenizer/dist/encoding/o200k_base.js")
      if (main === undefined || data === undefined) return "not installed"
      const { Tokenizer } = await import(main)
      const tokenizer = new Tokenizer(await import(data))
      return (text) => (tokenizer.encode(text, [], []) as Array<number>).length
    }
    case "weft-table": {
      const Tokens = await import("../src/text/Tokens.ts")
      return Tokens.countText
    }
    case "upper-bound":
      return upperBound
  }
}

/**
 * `Tokens.estimateRequest` for a call of an agent loop: a system message, two
 * earlier turns and a new question (≈ 4 KB of prose), two tools and a
 * response schema. Fresh: every prompt's text is new (nothing cached);
 * repeated: the same request again, as the next call of a loop sends it.
 */
const measureRequest = async (samples: ReadonlyArray<Sample>) => {
  const Tokens = await import("../src/text/Tokens.ts")
  const { Schema } = await import("effect")
  const { Tool } = await import("effect/ai")
  const prose = samples.filter((sample) => sample.kind === "prose").map((sample) => sample.text)
  const tools = [
    Tool.make("search_documents", {
      description: "Search the indexed documents for passages relevant to a query.",
      parameters: Schema.Struct({ query: Schema.String, topK: Schema.optional(Schema.Number) })
    }),
    Tool.make("current_time", { description: "The current time." })
  ]
  const responseFormat = Schema.Struct({ answer: Schema.String, citations: Schema.Array(Schema.String) })
  const requestFor = (i: number) => ({
    prompt: [
      { role: "system" as const, content: "Answer from the passages; cite each sentence." },
      { role: "user" as const, content: prose[i % prose.length] as string },
      { role: "assistant" as const, content: prose[(i + 1) % prose.length] as string },
      { role: "user" as const, content: `${prose[(i + 2) % prose.length]} (${i})` }
    ],
    tools,
    responseFormat
  })
  const kilobytes =
    requestFor(0).prompt.reduce((sum, message) => sum + Buffer.byteLength(message.content), 0) / 1024
  // New prompts: each text unique to its call. The first round meets every
  // word for the first time; the second, new texts of words met before.
  const unique = (round: number) =>
    Array.from({ length: 200 }, (_, i) => {
      const request = requestFor(i)
      return {
        ...request,
        prompt: request.prompt.map((m) => ({ ...m, content: `${m.content} [${round}.${i}]` }))
      }
    })
  const time = (requests: ReadonlyArray<ReturnType<typeof requestFor>>) => {
    const start = performance.now()
    for (const request of requests) Tokens.estimateRequest(request)
    return ((performance.now() - start) * 1000) / requests.length
  }
  const coldUs = time(unique(1))
  const rounds = [2, 3, 4, 5, 6].map((round) => time(unique(round))).sort((a, b) => a - b)
  const freshUs = rounds[2] as number
  const repeated = requestFor(0)
  for (let i = 0; i < 1_000; i++) Tokens.estimateRequest(repeated)
  const start = performance.now()
  for (let i = 0; i < 10_000; i++) Tokens.estimateRequest(repeated)
  const repeatedUs = ((performance.now() - start) * 1000) / 10_000
  return { kilobytes, coldUs, freshUs, repeatedUs }
}

const child = async (variant: Variant, corpusFile: string): Promise<ChildResult> => {
  const gc = globalThis.gc as () => void
  // Every Weft process has effect loaded (and Weft's counter imports it): load
  // it first in every child, so only the counter is measured.
  await import("effect")
  await import("effect/ai")
  const samples = JSON.parse(readFileSync(corpusFile, "utf8")) as Array<Sample>
  gc()
  const before = process.memoryUsage()
  const started = performance.now()
  const loaded = await load(variant)
  const imported = performance.now()
  if (typeof loaded === "string") {
    return {
      variant,
      skipped: loaded,
      importMs: 0,
      firstCountMs: 0,
      heapMB: 0,
      rssMB: 0,
      peakRssMB: 0,
      coldUsPerKB: 0,
      warmUsPerKB: 0,
      counts: []
    }
  }
  const count = loaded
  count("hello world") // builds any lazily loaded table
  const counted = performance.now()
  gc()
  const after = process.memoryUsage()

  const realistic = samples.filter((sample) => REALISTIC.has(sample.kind))
  const kilobytes = realistic.reduce((sum, sample) => sum + Buffer.byteLength(sample.text), 0) / 1024
  const pass = () => {
    const start = performance.now()
    for (const sample of realistic) count(sample.text)
    return ((performance.now() - start) * 1000) / kilobytes
  }
  const coldUsPerKB = pass()
  const warm: Array<number> = []
  for (let i = 0; i < 5; i++) warm.push(pass())
  warm.sort((a, b) => a - b)
  const counts = samples.map((sample) => count(sample.text))
  const request = variant === "weft-table" ? await measureRequest(samples) : undefined
  return {
    ...(request === undefined ? {} : { request }),
    variant,
    importMs: imported - started,
    firstCountMs: counted - imported,
    heapMB: (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 1e6,
    rssMB: (after.rss - before.rss) / 1e6,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    coldUsPerKB,
    warmUsPerKB: warm[2] as number,
    counts
  }
}

const runChild = (variant: Variant, corpusFile: string): ChildResult => {
  const output = execFileSync(
    process.execPath,
    ["--expose-gc", fileURLToPath(import.meta.url), "--child", variant, corpusFile],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, stdio: ["ignore", "pipe", "inherit"] }
  )
  return JSON.parse(output) as ChildResult
}

const fixed = (value: number, digits: number) => value.toFixed(digits)

const main = () => {
  // One corpus for every child (Weft's source may change between two reads).
  const samples = corpus()
  const folder = mkdtempSync(join(tmpdir(), "weft-tokenizer-bench-"))
  const corpusFile = join(folder, "corpus.json")
  writeFileSync(corpusFile, JSON.stringify(samples))
  const results = VARIANTS.map((variant) => {
    process.stderr.write(`measuring ${variant}…\n`)
    return runChild(variant, corpusFile)
  })
  rmSync(folder, { recursive: true, force: true })
  const reference = results.find((result) => result.variant === "js-tiktoken") as ChildResult
  const exact = reference.counts

  const rows: Array<string> = []
  rows.push(
    "| counter | import (ms) | first count (ms) | heap + buffers (MB) | RSS added (MB) | peak RSS (MB) | µs per KB, first pass | µs per KB, repeated | exact on | error vs o200k: max / mean |"
  )
  rows.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
  for (const result of results) {
    if (result.skipped !== undefined) {
      rows.push(`| ${result.variant} | skipped: ${result.skipped} | | | | | | | | |`)
      continue
    }
    let same = 0
    let maxError = 0
    let sumError = 0
    let minRatio = Number.POSITIVE_INFINITY
    result.counts.forEach((count, i) => {
      const truth = exact[i] as number
      if (count === truth) same++
      const error = (count - truth) / Math.max(1, truth)
      maxError = Math.max(maxError, Math.abs(error))
      sumError += Math.abs(error)
      minRatio = Math.min(minRatio, count / Math.max(1, truth))
    })
    const error =
      result.variant === "upper-bound"
        ? `never below (min ${fixed(minRatio, 2)}×), max +${fixed(maxError * 100, 0)}%, mean +${fixed((sumError / samples.length) * 100, 0)}%`
        : `${fixed(maxError * 100, 2)}% / ${fixed((sumError / samples.length) * 100, 3)}%`
    rows.push(
      `| ${result.variant} | ${fixed(result.importMs, 0)} | ${fixed(result.firstCountMs, 0)} | ${fixed(result.heapMB, 1)} | ${fixed(result.rssMB, 1)} | ${fixed(result.peakRssMB, 0)} | ${fixed(result.coldUsPerKB, 1)} | ${fixed(result.warmUsPerKB, 1)} | ${same}/${samples.length} | ${error} |`
    )
  }

  // The bound's ratio to the exact count per kind of text.
  const bound = results.find((result) => result.variant === "upper-bound") as ChildResult
  const kinds = new Map<string, { estimate: number; exact: number; min: number }>()
  samples.forEach((sample, i) => {
    const entry = kinds.get(sample.kind) ?? { estimate: 0, exact: 0, min: Number.POSITIVE_INFINITY }
    entry.estimate += bound.counts[i] as number
    entry.exact += exact[i] as number
    entry.min = Math.min(entry.min, (bound.counts[i] as number) / Math.max(1, exact[i] as number))
    kinds.set(sample.kind, entry)
  })
  const kindRows = [
    "| text | samples | exact tokens | bound / exact, overall | lowest sample |",
    "| --- | ---: | ---: | ---: | ---: |"
  ]
  for (const [kind, entry] of kinds) {
    const n = samples.filter((sample) => sample.kind === kind).length
    kindRows.push(
      `| ${kind} | ${n} | ${entry.exact} | ${fixed(entry.estimate / entry.exact, 2)} | ${fixed(entry.min, 2)} |`
    )
  }

  const weft = results.find((result) => result.variant === "weft-table")?.request
  const requestLine =
    weft === undefined
      ? ""
      : `\`Tokens.estimateRequest\` on a ${fixed(weft.kilobytes, 1)} KB prompt (4 messages) with two tools and a response schema: ` +
        `${fixed(weft.coldUs, 0)} µs in a fresh process (every word met for the first time, JIT cold), ` +
        `${fixed(weft.freshUs, 1)} µs for new text of words met before (median of 5 rounds of 200), ${fixed(weft.repeatedUs, 2)} µs when the same request comes again ` +
        "(as in an agent loop: tool, schema and message counts are cached per object). Encoded messages are counted as given, without decoding them into a `Prompt`."
  const table = rows.join("\n")
  console.log(table)
  console.log()
  console.log(kindRows.join("\n"))
  console.log()
  console.log(requestLine)

  const realistic = samples.filter((sample) => REALISTIC.has(sample.kind))
  const date = new Date().toISOString().slice(0, 10)
  const doc = `# Token counters: load, memory, speed, error

Measured ${date} with Node ${process.version} on ${process.platform}/${process.arch}
by \`node bench/tokenizer.ts\` (each counter in a fresh child process started with \`--expose-gc\`),
on ${availableParallelism()} cores with a load average of ${loadavg()[0]?.toFixed(1)} when it finished (a shared machine:
absolute times are inflated by other work; compare the rows, and measure again on an idle machine).

Corpus: ${samples.length} samples — ${samples.filter((s) => s.kind === "prose").length} SciFact abstracts as prose, ${samples.filter((s) => s.kind === "json").length} as indented JSON, Weft's ${samples.filter((s) => s.kind === "code").length} source files as code,
and ${samples.length - samples.filter((s) => ["prose", "json", "code"].includes(s.kind)).length} seeded generated strings of 100–600 characters in ${kinds.size - 3} kinds (CJK, rare and astral
ideographs, Hangul, emoji with ZWJ sequences and flags, Cyrillic/Arabic/Devanagari/Thai, combining marks,
base64, hex, random letters and words, mixed and alternating case, digits, punctuation, ASCII control
characters, whitespace, lone surrogates, special-token markers, apostrophes).

- **import / first count**: importing the counter (and building any table built at import), then
  counting its first string (which builds any lazily built table). Every child imports \`effect\` and \`effect/ai\`
  before measuring, as every Weft process has; Weft's counter imports nothing else.
- **heap + buffers / RSS added**: after a forced GC, against the same process before loading.
  **peak RSS**: the child's maximum resident size (the corpus is in memory too).
- **µs per KB**: counting the realistic samples (prose, JSON, code, CJK: ${(realistic.reduce((n, s) => n + Buffer.byteLength(s.text), 0) / 1024).toFixed(0)} KB of UTF-8)
  once with cold caches, then the median of five repeated passes (Weft caches each piece's count:
  a piece met before costs a map lookup instead of a merge).
- **error**: against js-tiktoken's exact \`o200k_base\` count, per sample, as |count − exact| / exact.

${table}

${requestLine}

The table-free **upper bound** (a charge per character class, in this bench) is never below the
exact count on this corpus, but is ≈ 3× it on English prose and code: random letters cost
≈ 0.6 tokens a letter and English ≈ 0.2, and no character class tells them apart, so a bound
that holds on the first over-reserves the second. Its ratio per kind of text:

${kindRows.join("\n")}

## Choice

Weft counts with its own table (src/text/Tokens.ts): the same merge ranks as js-tiktoken
(its \`o200k_base\` rank file is the data), decoded into one byte pool, a rank index and an
open-addressing hash (typed arrays, ≈ 4 MB) instead of two \`Map\`s keyed by strings like
\`"104,101"\`. It is exact (the same token ids as js-tiktoken on every sample), builds in
under 0.1 s of CPU (60–95 ms measured with \`process.cpuUsage\`) on the first count (or in \`Tokens.warm\`, a slice at a time with a
yield between slices, so Ctrl-C is never kept waiting), and a process that never counts never
builds it. With exact counts this cheap, reservations use them too (\`Tokens.estimateRequest\`:
prompt, tool definitions, response-format schema), rather than the upper bound that would
over-reserve English ≈ 3×. js-tiktoken stays a dependency for its rank file (and as the
reference the tests compare against); its encoder is no longer loaded.

gpt-tokenizer is the best of the packages (exact, ≈ 14 MB of heap), but still loads its
tables at import and adds ≈ 40 MB of RSS; ai-tokenizer is exact on o200k too but heavier.

## Whole processes

Not measured by this script; with \`/usr/bin/time -f "%e s %U user %M KB"\` on the same
machine, 2026-12-02, before (js-tiktoken) and after (Weft's table), same tree otherwise:

| process | before: peak RSS, CPU | after: peak RSS, CPU |
| --- | ---: | ---: |
| \`npm start\` (examples/rag.ts: ingest the docs, one Local model call) | 322 MB, 2.4 s user | 183–188 MB, 1.2–1.4 s user |
| one \`LanguageModel.generateText\` on \`Local.layer()\`, nothing else | 308–309 MB, 2.2–2.5 s user (layer and first call 2.8–4.8 s) | 156 MB, 0.9–1.05 s user (layer and first call 53–300 ms) |
| importing \`effect\`, \`effect/ai\`, \`effect/cli\` only (the floor) | 131 MB | 131 MB |
`
  // A candidate not installed here, or SciFact's abstracts missing, would drop rows (or change the
  // corpus) the committed file reports: it is then left as committed.
  writeResults(join(root, "docs", "bench", "tokenizer.md"), doc, [
    ...results
      .filter((result) => result.skipped !== undefined)
      .map((result) => ({
        part: `the ${result.variant} row`,
        marker: tableRow(result.variant),
        needs: "an install in node_modules or $TOKENIZER_BENCH_MODULES"
      })),
    ...(existsSync(dataset)
      ? []
      : [
          {
            part: "the prose and json samples (SciFact abstracts)",
            marker: tableRow("prose"),
            needs: `SciFact at ${dataset}`
          }
        ])
  ])
}

const childIndex = process.argv.indexOf("--child")
if (childIndex !== -1) {
  const result = await child(process.argv[childIndex + 1] as Variant, process.argv[childIndex + 2] as string)
  process.stdout.write(JSON.stringify(result))
} else {
  main()
}
