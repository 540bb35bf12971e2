/**
 * The agent examples as a person runs them — `agent-tools`, `approval` and
 * `handoff` through the examples runner, each a child process on the Local
 * model (no OpenAI settings in its environment): what it prints, the files it
 * writes, how it exits, and, for approval, a real `y` or `n` on its stdin.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
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

/** Runs `npm run example -- <args>` as node does it, with `input` written to stdin and stdin then closed. */
const runExample = (args: ReadonlyArray<string>, input = ""): Effect.Effect<Ran> =>
  Effect.callback<Ran>((resume, signal) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" }
    delete env.OPENAI_API_KEY
    delete env.OPENAI_BASE_URL
    const child = spawn(process.execPath, [join("examples", "run.ts"), ...args], {
      cwd: root,
      env,
      signal,
      timeout: 90_000
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => {
      stdout += chunk
    })
    child.stderr.on("data", (chunk) => {
      stderr += chunk
    })
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    child.stdin.end(input)
  })

const freshFile = (name: string): string => join(mkdtempSync(join(tmpdir(), "weft-agents-")), name)

describe("agent examples", () => {
  it.effect(
    "agent-tools: converts, calculates and searches the docs in one request, then prints calls, timeline and usage",
    () =>
      Effect.gen(function* () {
        const ran = yield* runExample(["agent-tools"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.include(ran.stdout, "Model: weft-local")
        assert.include(ran.stdout, "convert_units: 5 km = 3.10686 mi")
        assert.include(ran.stdout, "calculate: sqrt(2) * 10 = 14.1421356237")
        // The docs answer quotes a passage and cites its file.
        assert.match(ran.stdout, /search_docs: [\s\S]+?\[[\w.-]+\.md\]/)
        assert.include(ran.stdout, '1. [assistant] convert_units {"value":5,"from":"km","to":"miles"} → ok')
        assert.include(ran.stdout, '2. [assistant] calculate {"expression":"sqrt(2) * 10"} → ok')
        assert.match(ran.stdout, /3\. \[assistant\] search_docs \{"query":"[^"]+"\} → ok/)
        assert.include(ran.stdout, "assistant/tool search_docs")
        assert.match(ran.stdout, /tool calls\s+3\s+\(limit 10\)/)
        assert.match(ran.stdout, /model calls\s+2\s+\(limit 6\)/)
      }),
    120_000
  )

  it.effect(
    "agent-tools --json: a request of two parts makes two calls; a request no tool fits makes none",
    () =>
      Effect.gen(function* () {
        const ran = yield* runExample([
          "agent-tools",
          "--json",
          "What is 2^10 - 24? And convert 30 °C to fahrenheit"
        ])
        assert.strictEqual(ran.code, 0, ran.stderr)
        const out = JSON.parse(ran.stdout)
        assert.strictEqual(out.outcome, "Completed")
        assert.strictEqual(out.answer, "calculate: 2^10 - 24 = 1000\nconvert_units: 30 °C = 86 °F")
        assert.deepStrictEqual(
          out.toolCalls.map((call: { tool: string; outcome: string }) => [call.tool, call.outcome]),
          [
            ["calculate", "ok"],
            ["convert_units", "ok"]
          ]
        )
        assert.strictEqual(out.usage.toolCalls, 2)

        const none = yield* runExample(["agent-tools", "Who painted the Mona Lisa?"])
        assert.strictEqual(none.code, 0, none.stderr)
        assert.include(none.stdout, "Tool calls: none")
        assert.include(
          none.stdout,
          "None of my tools (convert_units, calculate, search_docs) fits this request"
        )
        assert.match(none.stdout, /model calls\s+1\s/)
      }),
    120_000
  )

  it.effect(
    "agent-tools: a calculator error comes back as the tool's typed failure, not a crash",
    () =>
      Effect.gen(function* () {
        const ran = yield* runExample(["agent-tools", "Calculate 1 / (2 - 2)"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.include(ran.stdout, "calculate failed: ")
        assert.include(ran.stdout, "DivisionByZero")
        assert.include(ran.stdout, "→ failed")
      }),
    120_000
  )

  it.effect(
    "approval: y on stdin approves, and the note is written once",
    () =>
      Effect.gen(function* () {
        const notes = freshFile("notes.md")
        const ran = yield* runExample(
          ["approval", "--notes", notes, "Save a note: renew the passport"],
          "y\n"
        )
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.include(ran.stdout, 'Approval needed: save_note {"text":"renew the passport"}')
        assert.include(ran.stdout, "Approve? [y/N] y\n→ approved")
        assert.include(ran.stdout, `save_note: Saved the note to ${notes} (1 note in the file).`)
        assert.include(ran.stdout, '1. [notetaker] save_note {"text":"renew the passport"} → ok')
        assert.include(ran.stdout, "— Until the approval —")
        assert.include(ran.stdout, "— After the approval —")
        assert.strictEqual(readFileSync(notes, "utf8"), "- renew the passport\n")
      }),
    120_000
  )

  it.effect(
    "approval: n on stdin refuses; the tool never runs and the model is told",
    () =>
      Effect.gen(function* () {
        const notes = freshFile("notes.md")
        const ran = yield* runExample(["approval", "--notes", notes], "n\n")
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.include(ran.stdout, "Approve? [y/N] n\n→ refused")
        assert.include(ran.stdout, "save_note failed: A person refused the call to save_note")
        assert.include(ran.stdout, "→ approval-denied")
        assert.include(ran.stdout, "— After the refusal —")
        assert.isFalse(existsSync(notes))
      }),
    120_000
  )

  it.effect(
    "approval: stdin closed without an answer counts as no",
    () =>
      Effect.gen(function* () {
        const notes = freshFile("notes.md")
        const ran = yield* runExample(["approval", "--notes", notes], "")
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.include(ran.stdout, "(stdin closed: taken as no)")
        assert.include(ran.stdout, "→ approval-denied")
        assert.isFalse(existsSync(notes))
      }),
    120_000
  )

  it.effect(
    "handoff: triage hands a docs question to the docs agent, which searches and answers, one budget",
    () =>
      Effect.gen(function* () {
        const ran = yield* runExample(["handoff"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.include(ran.stdout, "A (docs, 3 model calls):")
        assert.match(ran.stdout, /search_docs: [\s\S]+?\[[\w.-]+\.md\]/)
        assert.match(ran.stdout, /1\. \[triage\] transfer_to_docs \{[^\n]*\} → handoff/)
        assert.match(ran.stdout, /2\. \[docs\] search_docs \{"query":"[^"]+"\} → ok/)
        assert.include(ran.stdout, "triage/turn 1")
        assert.include(ran.stdout, "docs/turn 3")
        assert.match(ran.stdout, /model calls\s+3\s+\(limit 6\)/)
        assert.match(ran.stdout, /tool calls\s+2\s+\(limit 10\)/)
      }),
    120_000
  )

  it.effect(
    "handoff: a conversion goes to the math agent",
    () =>
      Effect.gen(function* () {
        const ran = yield* runExample(["handoff", "--json", "Convert 72 °F to celsius"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        const out = JSON.parse(ran.stdout)
        assert.strictEqual(out.agent, "math")
        assert.strictEqual(out.answer, "convert_units: 72 °F = 22.2222 °C")
        assert.deepStrictEqual(
          out.toolCalls.map((call: { agent: string; tool: string }) => `${call.agent}/${call.tool}`),
          ["triage/transfer_to_math", "math/convert_units"]
        )
      }),
    120_000
  )
})
