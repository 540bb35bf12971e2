/**
 * Every guide's snippet runs as a person would run it from a checkout
 * (`npm run snippet -- <name>`: node with a hook that resolves the package's
 * own name to `src/`, no build needed): offline, exit 0, and printing
 * something. Keeps the docs from drifting away from the code.
 */
import { execFile } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const root = fileURLToPath(new URL("../..", import.meta.url))
const snippets = readdirSync(new URL("../../docs/snippets", import.meta.url)).filter((f) => f.endsWith(".ts"))

const run = (file: string) =>
  Effect.callback<{ code: number; stdout: string; stderr: string }>((resume, signal) => {
    execFile(
      process.execPath,
      ["--import", "./docs/snippets/support/resolve-self.ts", `docs/snippets/${file}`],
      { cwd: root, signal, timeout: 60_000 },
      (error, stdout, stderr) =>
        resume(
          Effect.succeed({
            code: error === null ? 0 : typeof error.code === "number" ? error.code : 1,
            stdout,
            stderr
          })
        )
    )
  })

describe.concurrent("docs/snippets", () => {
  it("there are snippets to run", () => {
    assert.isAtLeast(snippets.length, 5)
  })

  it("getting-started.md lists every snippet", () => {
    const guide = readFileSync(new URL("../../docs/getting-started.md", import.meta.url), "utf8")
    for (const file of snippets) assert.include(guide, `](snippets/${file})`, file)
  })
  for (const file of snippets) {
    it.effect(
      `${file} runs offline and prints its result`,
      () =>
        Effect.gen(function* () {
          const ran = yield* run(file)
          assert.strictEqual(ran.code, 0, ran.stderr)
          assert.isAbove(ran.stdout.trim().length, 0)
          assert.notMatch(ran.stderr, /\n\s+at /)
        }),
      90_000
    )
  }
})
