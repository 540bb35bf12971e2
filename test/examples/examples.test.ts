/**
 * The examples as a person runs them: each test starts an example as a child
 * process (the Node running the tests, the repo as its working directory) and
 * reads what it printed and how it exited.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const root = fileURLToPath(new URL("../..", import.meta.url))

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const runExample = (
  script: string,
  args: ReadonlyArray<string> = [],
  env: Record<string, string> = {}
): Effect.Effect<Ran> =>
  Effect.callback<Ran>((resume, signal) => {
    execFile(
      process.execPath,
      [join("examples", script), ...args],
      { cwd: root, signal, timeout: 20_000, env: { ...process.env, NO_COLOR: "1", ...env } },
      (error, stdout, stderr) =>
        resume(
          Effect.succeed({
            code: error === null ? 0 : typeof error.code === "number" ? error.code : null,
            stdout,
            stderr
          })
        )
    )
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

describe.concurrent("examples", () => {
  describe("rag", () => {
    it.effect("answers with citations, sources, the six-step timeline and usage", () =>
      Effect.gen(function* () {
        const ran = yield* runExample("rag.ts", ["How does Weft keep a run within its budget?"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.strictEqual(ran.stderr, "")
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

    it.effect("an empty question fails with one line, exit 1", () =>
      Effect.map(runExample("rag.ts", [""]), (ran) => assertOneLineFailure(ran, /question is empty/))
    )

    it.effect("an empty corpus fails with one line, exit 1", () =>
      Effect.map(runExample("rag.ts", ["--corpus", mkdtempSync(join(tmpdir(), "weft-empty-"))]), (ran) =>
        assertOneLineFailure(ran, /No \.md or \.txt files in /)
      )
    )
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
