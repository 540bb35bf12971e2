/**
 * The examples on the OpenAI provider: the flagship (examples/rag.ts) run as
 * a child process against the fake OpenAI-compatible server through
 * `OPENAI_BASE_URL` says which provider and model it used and answers with
 * the server's cited answer; without `OPENAI_*`, `npm start` (which runs the
 * flagship from a bundle) stays on the Local model and never loads the
 * `openai` SDK — nor does the core entry point.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { citingReply, type FakeOpenAi, start } from "../fixtures/openai/server.ts"
import { type Ran, root, runNode } from "../support/node.ts"

const KEY = "sk-examples-test-KEY-1234567890"

/** Runs `node <args>` in the repo with `env` over an environment cleared of OPENAI_* and WEFT_MODEL. */
const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Effect.Effect<Ran> =>
  runNode(args, {
    timeoutMs: 60_000,
    env: {
      // An undefined value leaves the variable out of the child's environment.
      ...Object.fromEntries(
        Object.keys(process.env)
          .filter((name) => name.startsWith("OPENAI_") || name === "WEFT_MODEL")
          .map((name) => [name, undefined])
      ),
      ...env
    }
  })

const TRACE = ["--import", "./test/openai/trace-loads.ts"]

// The child processes are independent (only the first talks to the server), so they run side by side.
describe.concurrent("examples on the OpenAI provider", () => {
  let server: FakeOpenAi
  beforeAll(async () => {
    server = await start({ apiKey: KEY, fallback: citingReply })
  })
  afterAll(() => server.close())

  it.effect("the flagship answers through OPENAI_BASE_URL and says which provider and model it used", () =>
    Effect.gen(function* () {
      server.reset()
      const env = { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: KEY, WEFT_MODEL: "gpt-4.1-mini" }
      const ran = yield* run([...TRACE, join("examples", "rag.ts"), "What does a Step retry?"], env)
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(ran.stdout, `Model: gpt-4.1-mini (openai, ${server.url})`)
      assert.match(ran.stdout, /A:\n\s+\S.*\[1\]/)
      assert.match(ran.stdout, /Sources\n\s+\[1\] /)
      // The usage report prices the call under the model that made it.
      assert.match(ran.stdout, /by model\s+gpt-4\.1-mini: 1 call, [\d,]+ tokens, \$0\.\d+/)
      assert.notInclude(ran.stdout + ran.stderr, KEY)
      // The probe sees the SDK load here, so its silence below means something.
      assert.include(ran.stderr, "LOADED openai")
      const chat = server.requests.filter((r) => r.path.endsWith("/chat/completions"))
      assert.strictEqual(chat.length, 1)
      assert.strictEqual(chat[0]?.body.model, "gpt-4.1-mini")
      assert.deepStrictEqual(server.violations, [])
    })
  )

  it.effect(
    "without OPENAI_*, npm start (its bundle) stays on the Local model and never loads the openai SDK",
    () =>
      Effect.gen(function* () {
        const ran = yield* run([...TRACE, join("examples", "start.mjs"), "What does a Step retry?"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.include(ran.stdout, "Model: weft-local (offline, extractive)")
        assert.notInclude(ran.stderr, "LOADED openai")
        // The bundle holds the SDK in a chunk of its own: that chunk is never loaded. The
        // launcher's manifest says which packages each chunk of the bundle holds.
        const manifest = JSON.parse(readFileSync(join(root, "examples", ".start.bundle.json"), "utf8")) as {
          readonly chunks?: Record<string, ReadonlyArray<string>>
        }
        const sdkChunks = Object.entries(manifest.chunks ?? {})
          .filter(([, packages]) => packages.includes("openai"))
          .map(([chunk]) => chunk)
        assert.isAbove(sdkChunks.length, 0, "the SDK is in a chunk of the bundle")
        for (const chunk of sdkChunks) assert.notInclude(ran.stderr, `LOADED chunk ${chunk}`)
        assert.include(ran.stderr, "LOADED chunk", "the bundle's shared chunk was loaded")
      })
  )

  it.effect(
    "examples/provider.ts: the chain falls back, each attempt is charged to its model, the journal replays",
    () =>
      Effect.gen(function* () {
        const ran = yield* run([join("examples", "provider.ts")])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.match(ran.stdout, /flaky-primary \(attempt 2\): failed — RateLimitError/)
        assert.include(ran.stdout, "weft-local (attempt 1): answered")
        assert.match(ran.stdout, /A: Refunds are paid .* \[1\]/)
        assert.match(ran.stdout, /weft-local\s+ok\s+\d+ in/)
        assert.include(ran.stdout, "replayed offline: the same answer")
      })
  )

  it.effect("the core entry point does not load the SDK", () =>
    Effect.gen(function* () {
      const core = yield* run([...TRACE, "-e", 'await import("./src/index.ts")'])
      assert.strictEqual(core.code, 0, core.stderr)
      assert.notInclude(core.stderr, "LOADED openai")
    })
  )
})
