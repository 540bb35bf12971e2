/**
 * The examples as a person runs them: each test starts an example as a child
 * process (the Node running the tests, the repo as its working directory) and
 * reads what it printed and how it exited.
 */
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { type Ran, runNode } from "../support/node.ts"
import { Effect } from "effect"

const root = fileURLToPath(new URL("../..", import.meta.url))

const runExample = (
  script: string,
  args: ReadonlyArray<string> = [],
  env: Record<string, string> = {}
): Effect.Effect<Ran> => runNode([join("examples", script), ...args], { env })

/** The citation numbers of a text, in order of appearance (`[1]`, `[2, 3]`). */
const citationNumbers = (text: string): Array<number> =>
  [...text.matchAll(/\[(\d+(?:\s*,\s*\d+)*)\]/g)].flatMap((m) =>
    m[1]!.split(",").map((n) => Number(n.trim()))
  )

/** A folder of generated Markdown documents, `count` of them, in a fresh temporary folder. */
const generatedCorpus = (count: number, sentencesEach = 30): string => {
  const dir = mkdtempSync(join(tmpdir(), "weft-corpus-"))
  const words = "budget leave salary travel office remote policy expense review contract".split(" ")
  for (let i = 0; i < count; i++) {
    const sentences = Array.from(
      { length: sentencesEach },
      (_, s) =>
        `Clause ${s} of document ${i} covers ${words[(i + s) % words.length]} and ${words[(i * 7 + s) % words.length]}.`
    )
    writeFileSync(
      join(dir, `doc-${String(i).padStart(5, "0")}.md`),
      `# Document ${i}\n\n${sentences.join(" ")}\n`
    )
  }
  return dir
}

/**
 * Starts an example, waits until its stderr shows `ready`, sends SIGINT, and
 * reports how it exited and how long after the signal.
 */
const interruptWhen = (
  script: string,
  args: ReadonlyArray<string>,
  ready: RegExp
): Effect.Effect<{
  code: number | null
  signal: string | null
  stderr: string
  exitMs: number
  sent: boolean
}> =>
  Effect.callback((resume) => {
    const child = spawn(process.execPath, [join("examples", script), ...args], {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1" }
    })
    let stderr = ""
    let sentAt: number | undefined
    child.stderr.on("data", (data: Buffer) => {
      stderr += data.toString()
      if (sentAt === undefined && ready.test(stderr)) {
        sentAt = performance.now()
        child.kill("SIGINT")
      }
    })
    child.stdout.resume()
    child.on("exit", (code, signal) => {
      resume(
        Effect.succeed({
          code,
          signal,
          stderr,
          exitMs: sentAt === undefined ? Number.NaN : performance.now() - sentAt,
          sent: sentAt !== undefined
        })
      )
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/**
 * Runs an example to its end and reports how long passed between the first
 * stderr line matching `from` and the first matching `to` (as the parent sees them).
 */
const timeBetween = (
  script: string,
  args: ReadonlyArray<string>,
  from: RegExp,
  to: RegExp
): Effect.Effect<{ code: number | null; stderr: string; ms: number }> =>
  Effect.callback((resume) => {
    const child = spawn(process.execPath, [join("examples", script), ...args], {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1" }
    })
    let stderr = ""
    let fromAt: number | undefined
    let toAt: number | undefined
    child.stderr.on("data", (data: Buffer) => {
      stderr += data.toString()
      if (fromAt === undefined && from.test(stderr)) fromAt = performance.now()
      if (toAt === undefined && to.test(stderr)) toAt = performance.now()
    })
    child.stdout.resume()
    child.on("exit", (code) =>
      resume(
        Effect.succeed({
          code,
          stderr,
          ms: fromAt === undefined || toAt === undefined ? Number.NaN : toAt - fromAt
        })
      )
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** A run's stderr is one `weft: …` line: no stack trace, no second line. */
const assertOneLineFailure = (ran: Ran, pattern: RegExp) => {
  assert.strictEqual(ran.code, 1, ran.stdout + ran.stderr)
  const lines = ran.stderr.trimEnd().split("\n")
  assert.strictEqual(lines.length, 1, ran.stderr)
  assert.match(lines[0]!, /^weft: /)
  assert.match(lines[0]!, pattern)
  assert.notMatch(ran.stderr, /\n\s+at /)
}

/** The status column of the fan-out's table, one entry per item. */
const statuses = (stdout: string): Array<string> =>
  [
    ...stdout.matchAll(/^ +\d+ {2}\S+ {2}.+? {2}(done|refused by budget|interrupted|never started|failed) /gm)
  ].map((m) => m[1]!)

const count = (items: ReadonlyArray<string>, value: string) => items.filter((item) => item === value).length

describe.concurrent("examples", { timeout: 180_000 }, () => {
  describe("rag", () => {
    it.effect("answers with citations, sources, the six-step timeline and usage", () =>
      Effect.gen(function* () {
        const ran = yield* runExample("rag.ts", ["How does Weft keep a run within its budget?"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.strictEqual(ran.stderr, "")
        assert.match(
          ran.stdout,
          /^Weft · answering from docs \(\d+ documents, \d+ passages, (?:indexed|index read back) in /
        )
        const answer = /^A:\n([\s\S]*?)\n\n/m.exec(ran.stdout)?.[1] ?? ""
        assert.match(answer, /\[\d+\]/, ran.stdout)
        assert.match(ran.stdout, /^Sources\n {2}\[\d+\] \S+/m)
        const timeline = /^Timeline \([^)]*\)\n((?: {2}.*\n)+)/m.exec(ran.stdout)?.[1] ?? ""
        assert.deepStrictEqual(
          timeline
            .trimEnd()
            .split("\n")
            .map((line) => line.trim().split(/\s/)[0]),
          ["interpret", "retrieve", "assemble", "model", "validate", "store"]
        )
        assert.match(ran.stdout, /^Usage\n {2}model calls +1 /m)
      })
    )

    it.effect("citations are numbered from [1] in order of first use, and the sources match them", () =>
      Effect.gen(function* () {
        const runs = yield* Effect.forEach(
          ["What does a Step retry?", "How are documents chunked?"],
          (question) => runExample("rag.ts", [question]),
          { concurrency: 2 }
        )
        for (const ran of runs) {
          assert.strictEqual(ran.code, 0, ran.stderr)
          const answer = /^A:\n([\s\S]*?)\n\n/m.exec(ran.stdout)?.[1] ?? ""
          const used = [...new Set(citationNumbers(answer))]
          assert.deepStrictEqual(
            used,
            used.map((_, i) => i + 1),
            answer
          )
          const sources = [...ran.stdout.matchAll(/^ {2}\[(\d+)\] /gm)].map((m) => Number(m[1]))
          assert.deepStrictEqual(sources, used, ran.stdout)
        }
      })
    )

    it.effect("each source shows the sentence the answer quoted from it, not the passage's first words", () =>
      Effect.gen(function* () {
        const ran = yield* runExample("rag.ts", ["--json", "How does Weft keep a run within its budget?"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        const result = JSON.parse(ran.stdout) as {
          answer: string
          citations: ReadonlyArray<{ n: number; quote: string; excerpt: string }>
        }
        const flat = (text: string) =>
          text
            .replace(/\s*\[\d+(?:\s*,\s*\d+)*\]/g, "")
            .replace(/\s+/g, " ")
            .trim()
        assert.isAbove(result.citations.length, 0)
        // The Local model answers with sentences copied from the passages, so each quote is in the answer.
        for (const citation of result.citations) {
          for (const sentence of citation.quote.split(" … ")) {
            assert.include(flat(result.answer), flat(sentence), `quote of [${citation.n}]`)
          }
        }
      })
    )

    it.effect("'What is a step?' on Weft's docs is answered with the sentence saying what a Step is", () =>
      Effect.gen(function* () {
        const ran = yield* runExample("rag.ts", ["--json", "What is a step?"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.match((JSON.parse(ran.stdout) as { answer: string }).answer, /A Step is a named Effect/)
      })
    )

    it.effect(
      "the default corpus is Weft's docs without the benchmark results that npm run bench rewrites",
      () =>
        Effect.gen(function* () {
          const ran = yield* runExample("rag.ts", ["--json", "What does a Step retry?"])
          assert.strictEqual(ran.code, 0, ran.stderr)
          const result = JSON.parse(ran.stdout) as { corpus: { documents: number } }
          const guides = readdirSync(join(root, "docs"), { recursive: true, encoding: "utf8" }).filter(
            (file) => /\.(md|txt)$/.test(file) && !file.startsWith("bench")
          )
          assert.isAbove(readdirSync(join(root, "docs", "bench")).length, 0)
          assert.strictEqual(result.corpus.documents, guides.length)
        })
    )

    it.effect("--json prints the answer, citations, trace and usage as one JSON document", () =>
      Effect.gen(function* () {
        const ran = yield* runExample("rag.ts", ["--json", "What does a Step retry?"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        const result = JSON.parse(ran.stdout) as Record<string, any>
        assert.strictEqual(result.question, "What does a Step retry?")
        assert.isString(result.answer)
        assert.deepStrictEqual(
          result.citations.map((c: { n: number }) => c.n),
          result.citations.map((_: unknown, i: number) => i + 1)
        )
        assert.deepStrictEqual(
          [
            ...new Set(
              result.trace
                .filter((e: { type: string }) => e.type === "start")
                .map((e: { step: string }) => e.step)
            )
          ],
          ["interpret", "retrieve", "assemble", "model", "validate", "store"]
        )
        assert.strictEqual(result.usage.modelCalls, 1)
        assert.isAbove(result.corpus.documents, 1)
      })
    )

    it.effect("--json on a failed run still prints one JSON document, with the error, and exits 1", () =>
      Effect.gen(function* () {
        const ran = yield* runExample("rag.ts", ["--json", "--max-tokens", "10", "What is a budget?"])
        assert.strictEqual(ran.code, 1)
        const result = JSON.parse(ran.stdout) as Record<string, any>
        assert.match(result.error.message, /inputTokens/)
        assert.strictEqual(result.error._tag, "BudgetError")
        assert.isArray(result.trace)
        assert.match(ran.stderr, /^weft: .*inputTokens/)
      })
    )

    it.effect("a long question is asked in full but not echoed in full", () =>
      Effect.gen(function* () {
        const question = `How does the budget work ${"and what happens next ".repeat(60)}?`
        const ran = yield* runExample("rag.ts", [question])
        assert.strictEqual(ran.code, 0, ran.stderr)
        const line = /^Q: (.*)$/m.exec(ran.stdout)?.[1] ?? ""
        assert.isBelow(line.length, 260)
        assert.include(line, `(${question.length.toLocaleString("en-US")} characters)`)
      })
    )

    it.effect(
      "a folder of over a million characters is indexed on every run, never kept (its reading back could not be interrupted)",
      () =>
        Effect.gen(function* () {
          const corpus = generatedCorpus(800)
          for (const run of [1, 2]) {
            const ran = yield* runExample("rag.ts", ["--corpus", corpus, "What covers travel?"])
            assert.strictEqual(ran.code, 0, ran.stderr)
            assert.match(ran.stdout, /\(800 documents, [\d,]+ passages, indexed in /, `run ${run}`)
          }
        }),
      120_000
    )

    it.effect("a one-document corpus says '1 document', and lists the files it skipped", () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "weft-one-"))
        writeFileSync(
          join(dir, "leave.md"),
          "# Leave\n\nFull-time staff get 27 days of annual leave a year.\n"
        )
        writeFileSync(join(dir, "scan.md"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d]))
        writeFileSync(join(dir, "latin1.txt"), Buffer.from([0x63, 0x61, 0x66, 0xe9]))
        const ran = yield* runExample("rag.ts", ["--corpus", dir, "How many days of annual leave?"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.match(ran.stdout, /\(1 document, 1 passage, indexed in /)
        assert.match(ran.stdout, /^skipped 2 files: latin1\.txt \(not valid UTF-8\), scan\.md \(binary\)$/m)
        assert.notInclude(ran.stdout, "\uFFFD")
      })
    )

    it.effect("a relative --corpus is resolved against INIT_CWD, the folder npm was started in", () =>
      Effect.gen(function* () {
        const base = mkdtempSync(join(tmpdir(), "weft-initcwd-"))
        mkdirSync(join(base, "notes"))
        writeFileSync(join(base, "notes", "pricing.md"), "# Pricing\n\nWe decided to charge per seat.\n")
        const ran = yield* runExample("rag.ts", ["--corpus", "notes", "What did we decide about pricing?"], {
          INIT_CWD: base
        })
        assert.strictEqual(ran.code, 0, ran.stderr)
        // The repo (the working directory) has no notes/ folder; INIT_CWD has.
        assert.match(ran.stdout, /^Weft · answering from notes \(1 document, 1 passage, /)
      })
    )

    it.effect("an empty question fails with one line, exit 1", () =>
      Effect.map(runExample("rag.ts", [""]), (ran) => assertOneLineFailure(ran, /question is empty/))
    )

    it.effect("--corpus reads the files weft ingest reads: JSON Lines records answer too", () =>
      Effect.gen(function* () {
        const folder = mkdtempSync(join(tmpdir(), "weft-jsonl-"))
        writeFileSync(
          join(folder, "notes.jsonl"),
          `${JSON.stringify({ id: "garage", title: "Parking", text: "The parking garage opens at 7am on weekdays." })}\n`
        )
        const ran = yield* runExample("rag.ts", ["--corpus", folder, "When does the parking garage open?"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.match(ran.stdout, /opens at 7am on weekdays \[1\]/)
        assert.include(ran.stdout, "notes.jsonl#garage")
      })
    )

    it.effect("an empty corpus fails with one line, exit 1", () =>
      Effect.map(runExample("rag.ts", ["--corpus", mkdtempSync(join(tmpdir(), "weft-empty-"))]), (ran) =>
        assertOneLineFailure(ran, /No \.md, \.txt, \.json or \.jsonl files in /)
      )
    )

    it.effect("a file or a missing path as --corpus fails with the same one line", () =>
      Effect.gen(function* () {
        const file = yield* runExample("rag.ts", ["--corpus", "README.md"])
        assertOneLineFailure(
          file,
          /^weft: No folder at .*README\.md: it is a file; give the folder that holds it\.$/
        )
        assert.strictEqual(file.stdout, "")
        const missing = yield* runExample("rag.ts", ["--corpus", "no-such-folder"])
        assertOneLineFailure(missing, /^weft: No folder at .*no-such-folder\.$/)
      })
    )

    it.effect("--help shows every flag's default", () =>
      Effect.gen(function* () {
        const ran = yield* runExample("rag.ts", ["--help"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        for (const flag of [
          "--corpus",
          "--top-k",
          "--max-cost",
          "--max-tokens",
          "--max-calls",
          "--timeout"
        ]) {
          assert.match(ran.stdout, new RegExp(`^ {2}${flag} .*\\(default: [^)]+\\)$`, "m"), flag)
        }
        assert.match(ran.stdout, /--top-k .*\(default: 5\)/)
        assert.match(ran.stdout, /--max-calls .*\(default: 10\)/)
      })
    )

    it.effect("a bad flag value fails in one line naming the flag as typed", () =>
      Effect.gen(function* () {
        assertOneLineFailure(
          yield* runExample("rag.ts", ["--max-calls", "0"]),
          /^weft: --max-calls must be an integer ≥ 1, got 0$/
        )
        assertOneLineFailure(
          yield* runExample("rag.ts", ["--top-k", "-2"]),
          /^weft: --top-k must be an integer ≥ 1/
        )
        assertOneLineFailure(yield* runExample("rag.ts", ["--timeout", "0"]), /^weft: --timeout must be /)
        assertOneLineFailure(yield* runExample("rag.ts", ["--max-cost", "-1"]), /^weft: --max-cost must be /)
      })
    )

    it.effect("a question starting with '-' is refused, not read as flags; after -- it is asked", () =>
      Effect.gen(function* () {
        const refused = yield* runExample("rag.ts", ["-v how does the budget work?"])
        assertOneLineFailure(refused, /is not a flag; .*put -- before it/)
        assert.strictEqual(refused.stdout, "")
        const asked = yield* runExample("rag.ts", ["--", "-v how does the budget work?"])
        assert.strictEqual(asked.code, 0, asked.stderr)
        assert.match(asked.stdout, /^Q: -v how does the budget work\?$/m)
      })
    )

    it.effect("Ctrl-C during the model's work exits 130 at once, long before the model step would end", () =>
      Effect.gen(function* () {
        const corpus = generatedCorpus(1500)
        // 1,000 passages make the model step long: ≈0.5 s on an idle machine (300 took under
        // 0.2 s, less than a loaded runner may take to see the step start and send the signal).
        const args = [
          "--progress",
          "--corpus",
          corpus,
          "--top-k",
          "1000",
          "--max-tokens",
          "100000000",
          "What covers travel?"
        ]
        // How long the model step takes when left to finish, on this machine, now.
        const whole = yield* timeBetween("rag.ts", args, /^answering: model/m, /^answering: validate/m)
        assert.strictEqual(whole.code, 0, whole.stderr)
        const ran = yield* interruptWhen("rag.ts", args, /^answering: model/m)
        assert.isTrue(ran.sent, ran.stderr)
        assert.strictEqual(ran.code, 130, ran.stderr)
        assert.match(ran.stderr, /^weft: interrupted while answering "What covers travel\?"$/m)
        assert.notMatch(ran.stderr, /^answering: validate/m)
        // The model yields every 10 ms, so the signal lands at once (≈60–150 ms from signal to
        // exit measured on a loaded 2-core machine, most of it Node tearing down the process);
        // without yielding the run would end only with the step. Half the step's own duration
        // proves the yield and leaves room for a loaded runner.
        assert.isBelow(ran.exitMs, Math.max(150, whole.ms / 2), `model step ${whole.ms.toFixed(0)} ms`)
        assert.isBelow(ran.exitMs, 2500)
      })
    )

    for (const phase of ["reading", "indexing"] as const) {
      it.effect(`Ctrl-C while ${phase} a large folder exits 130 at once, saying what it interrupted`, () =>
        Effect.gen(function* () {
          const corpus = generatedCorpus(3000)
          const ran = yield* interruptWhen(
            "rag.ts",
            ["--progress", "--corpus", corpus, "What covers travel?"],
            new RegExp(`^${phase} `, "m")
          )
          assert.isTrue(ran.sent, ran.stderr)
          assert.strictEqual(ran.code, 130, ran.stderr)
          assert.match(ran.stderr, new RegExp(`^weft: interrupted while ${phase} .*weft-corpus-`, "m"))
          // Naming the phase proves the signal landed in it: had the phase not yielded, the
          // run would have moved on before hearing it. 100 ms on an idle machine; 1.2 s was
          // seen with the load average at 10 on 2 cores, so the bound leaves room for that.
          assert.isBelow(ran.exitMs, 2500)
        })
      )
    }
  })

  describe("weft ingest", () => {
    for (const phase of ["indexing", "embedding"] as const) {
      it.effect(
        `Ctrl-C while ${phase} exits 130 saying so, and the next ingest completes the store from where it stopped`,
        () =>
          Effect.gen(function* () {
            const corpus = generatedCorpus(2000)
            const data = mkdtempSync(join(tmpdir(), "weft-interrupted-"))
            const ran = yield* interruptWhen(
              "weft.ts",
              ["ingest", corpus, "--data-dir", data, "--progress"],
              new RegExp(`^${phase} `, "m")
            )
            assert.isTrue(ran.sent, ran.stderr)
            assert.strictEqual(ran.code, 130, ran.stderr)
            assert.match(ran.stderr, /^weft: interrupted while (ingesting|embedding)/m)
            assert.isBelow(ran.exitMs, 2500)
            const resumed = yield* runExample("weft.ts", ["ingest", corpus, "--data-dir", data, "--json"])
            assert.strictEqual(resumed.code, 0, resumed.stderr)
            const summary = JSON.parse(resumed.stdout)
            assert.strictEqual(
              summary.added + summary.unchanged,
              2000,
              "every document indexed once, none twice"
            )
            assert.strictEqual(summary.changed, 0)
            const stats = JSON.parse(
              (yield* runExample("weft.ts", ["stats", "--data-dir", data, "--json"])).stdout
            )
            assert.strictEqual(stats.documents, 2000)
            rmSync(data, { recursive: true, force: true })
          }),
        120_000
      )
    }
  })

  describe("extract", () => {
    it.effect("the draft's first answer fails validation and the repair is accepted", () =>
      Effect.gen(function* () {
        const ran = yield* runExample("extract.ts")
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.match(ran.stdout, /cheap model escalating to another on validation failure/)
        assert.match(ran.stdout, /^Attempt 1 · draft\n {2}\{.*"order":"48213".*\}\n {2}✗ schema: .+/m)
        assert.match(ran.stdout, /^Attempt 2 · weft-local\n {2}\{.*"order":"ORD-48213".*\}\n {2}✓ accepted$/m)
        assert.match(ran.stdout, /^ {2}severity +high$/m)
        assert.match(ran.stdout, /^ {2}unitsAffected +3$/m)
        assert.match(ran.stdout, /^ {2}extract +▕/m)
        assert.match(ran.stdout, /^ {2}model calls +2 .*\(limit 5\)/m)
      })
    )

    it.effect("--max-attempts 0 is an error naming the flag", () =>
      Effect.map(runExample("extract.ts", ["--max-attempts", "0"]), (ran) =>
        assertOneLineFailure(ran, /^weft: --max-attempts must be an integer ≥ 1, got 0$/)
      )
    )

    it.effect("--no-draft asks the Local model from the start", () =>
      Effect.gen(function* () {
        const ran = yield* runExample("extract.ts", ["--no-draft"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.match(ran.stdout, /^Attempt 1 · weft-local\n.*\n {2}✓ accepted$/m)
        assert.notMatch(ran.stdout, /^Attempt 2/m)
      })
    )

    it.effect("a text that cannot fill the schema fails with ValidationFailed in one line", () =>
      Effect.gen(function* () {
        const file = join(mkdtempSync(join(tmpdir(), "weft-ticket-")), "vague.txt")
        writeFileSync(file, "Hi,\n\nMy desk stopped working yesterday. Can you help?\n\nSam\n")
        const ran = yield* runExample("extract.ts", ["--file", file])
        assertOneLineFailure(ran, /Output failed validation after 3 attempt\(s\): schema: /)
        assert.match(ran.stdout, /^Attempt 3 · weft-local\n/m)
      })
    )
  })

  describe("fanout", () => {
    it.effect("the budget stops the run with exactly the allowed model calls; the rest never start", () =>
      Effect.gen(function* () {
        const ran = yield* runExample("fanout.ts", [
          "--max-calls",
          "5",
          "--concurrency",
          "2",
          "--latency",
          "20"
        ])
        assert.strictEqual(ran.code, 0, ran.stderr)
        const items = statuses(ran.stdout)
        assert.strictEqual(items.length, 18, ran.stdout)
        assert.strictEqual(count(items, "refused by budget"), 1)
        assert.strictEqual(count(items, "done") + count(items, "interrupted"), 5)
        assert.strictEqual(count(items, "never started"), 18 - 5 - 1)
        // Items start in order, so everything after the refused one never started.
        const refused = items.indexOf("refused by budget")
        assert.deepStrictEqual(
          items.slice(refused + 1),
          items.slice(refused + 1).map(() => "never started")
        )
        assert.match(ran.stdout, /Model calls the model received: 5 /)
        assert.match(ran.stdout, /Model calls in the budget report: 5 — they match/)
        assert.match(ran.stdout, /^ {2}model calls +5 {2}\(limit 5\)$/m)
        assert.match(ran.stdout, /^ {2}refused +Budget exceeded: modelCalls limit is 5 calls/m)
        // Each finished summary says something of its section (the Local model summarises the
        // material it is given), never that there was nothing to answer from.
        const finished = ran.stdout.split("Summaries finished")[1]?.split("\n\n")[0] ?? ""
        assert.match(finished, /returns\.md#0 +Customers may return an unused desk/)
        assert.notInclude(finished, "do not answer")
      })
    )

    it.effect("--concurrency 0 and --latency -100 are errors naming the flag, not silent fallbacks", () =>
      Effect.gen(function* () {
        assertOneLineFailure(
          yield* runExample("fanout.ts", ["--concurrency", "0"]),
          /^weft: --concurrency must be an integer ≥ 1, got 0$/
        )
        assertOneLineFailure(
          yield* runExample("fanout.ts", ["--latency", "-100"]),
          /^weft: --latency must be an integer ≥ 0, got -100$/
        )
      })
    )

    it.effect("a failure other than the budget exits 1 with one line", () =>
      Effect.map(runExample("fanout.ts", ["--docs", mkdtempSync(join(tmpdir(), "weft-empty-"))]), (ran) =>
        assertOneLineFailure(ran, /No \.md or \.txt files in /)
      )
    )
  })

  describe("run.ts", () => {
    it.effect("dispatches to the named example", () =>
      Effect.gen(function* () {
        const ran = yield* runExample("run.ts", ["rag", "What does a Step retry?"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.match(ran.stdout, /^Q: What does a Step retry\?$/m)
        assert.match(ran.stdout, /^Timeline /m)
      })
    )

    it.effect("an unknown example prints the CLI's error and help, exit 1", () =>
      Effect.gen(function* () {
        const ran = yield* runExample("run.ts", ["nope"])
        assert.strictEqual(ran.code, 1)
        assert.match(ran.stderr, /Unknown subcommand "nope"/)
        assert.match(ran.stdout, /SUBCOMMANDS\n {2}rag .*\n {2}extract .*\n {2}fanout /)
      })
    )
  })

  describe("secrets", () => {
    it.effect(
      "a canary API key in the environment appears in no output of any example, success or failure",
      () =>
        Effect.gen(function* () {
          const canary = "sk-canary-7c3e19d04b"
          const env = { OPENAI_API_KEY: canary, WEFT_API_KEY: canary }
          const runs = yield* Effect.all(
            [
              runExample("rag.ts", ["What does the Budget reserve before a call?"], env),
              runExample("rag.ts", [""], env),
              runExample("extract.ts", [], env),
              runExample("fanout.ts", [], env)
            ],
            { concurrency: 2 }
          )
          for (const ran of runs) {
            assert.isAbove(ran.stdout.length + ran.stderr.length, 0)
            assert.notInclude(ran.stdout + ran.stderr, canary)
          }
        })
    )
  })
})
