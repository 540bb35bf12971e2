/**
 * The provider's retries and a fallback's attempts as a workflow run shows
 * them: one `usage` event per attempt in the run trace (failed ones as
 * `failed`, each under the model that made it), `weft.model.retry` and
 * `weft.fallback.attempt` events on the spans — and the API key nowhere in
 * the trace, the spans or the error of a failed run.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Layer, Redacted, Schedule, Schema, Tracer } from "effect"
import { AiError, LanguageModel } from "effect/ai"
import { attemptsMadeOf, isRetryable } from "../../src/core/Retry.ts"
import * as Fallback from "../../src/model/Fallback.ts"
import * as OpenAi from "../../src/model/OpenAi.ts"
import { Step, Workflow } from "../../src/workflow/index.ts"
import { type FakeOpenAi, start } from "../fixtures/openai/server.ts"

const KEY = "sk-trace-test-0123456789-SECRET"

const collectSpans = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  /** Everything the spans recorded, as text. */
  const dump = () =>
    JSON.stringify(
      spans.map((span) => ({
        name: span.name,
        attributes: Object.fromEntries(span.attributes),
        events: span.events.map(([name, , attributes]) => ({ name, attributes }))
      })),
      (_key, value) => (typeof value === "bigint" ? String(value) : value)
    )
  const events = (name: string) =>
    spans.flatMap((span) =>
      span.events.filter(([event]) => event === name).map(([, , attributes]) => attributes)
    )
  return { tracer, dump, events }
}

const answer = Workflow.make({
  name: "answer",
  input: Schema.String,
  output: Schema.String,
  run: (question) =>
    Effect.map(
      Step.make("model", LanguageModel.generateText({ prompt: question })),
      (response) => response.text
    )
})

/** The same model step with a retry policy of its own: up to 3 retries of a retryable failure. */
const retrying = Workflow.make({
  name: "retrying",
  input: Schema.String,
  output: Schema.String,
  run: (question) =>
    Effect.map(
      Step.make("model", LanguageModel.generateText({ prompt: question }), { retry: Schedule.recurs(3) }),
      (response) => response.text
    )
})

describe("the provider in a run's trace and spans", () => {
  let server: FakeOpenAi
  beforeAll(async () => {
    server = await start({ apiKey: KEY })
  })
  afterAll(() => server.close())

  const client = (apiKey = KEY, maxRetries = 2) =>
    OpenAi.layerClient({
      apiKey: Redacted.make(apiKey),
      baseUrl: server.url,
      backoff: Schedule.spaced("2 millis"),
      maxRetries
    })

  it.live("each attempt is a usage event, each retry a span event; the key appears nowhere", () =>
    Effect.gen(function* () {
      server.reset()
      server.enqueue(
        { fault: "status", status: 503 },
        { fault: "status", status: 429, headers: { "retry-after-ms": "5" } },
        { text: "third time lucky" }
      )
      const collected = collectSpans()
      const result = yield* Workflow.run(answer, "hello?", { spans: true }).pipe(
        Effect.provide(OpenAi.model("gpt-4.1-mini").pipe(Layer.provide(client()))),
        Effect.withTracer(collected.tracer)
      )
      assert.strictEqual(result.output, "third time lucky")
      const usage = result.trace.flatMap((event) =>
        event.type === "usage" ? [[event.step, event.model, event.outcome]] : []
      )
      assert.deepStrictEqual(usage, [
        ["model", "gpt-4.1-mini", "failed"],
        ["model", "gpt-4.1-mini", "failed"],
        ["model", "gpt-4.1-mini", "ok"]
      ])
      const retries = collected.events("weft.model.retry")
      assert.deepStrictEqual(
        retries.map((attributes) => attributes?.["weft.attempt"]),
        [1, 2]
      )
      assert.match(String(retries[0]?.["weft.error"]), /^InternalProviderError/)
      assert.match(String(retries[1]?.["weft.error"]), /^RateLimitError/)
      assert.notInclude(JSON.stringify(result.trace), KEY)
      assert.notInclude(collected.dump(), KEY)
    })
  )

  it.live("retries never multiply: a step's retry does not retry what the provider already retried", () =>
    Effect.gen(function* () {
      server.reset()
      server.enqueue(...Array.from({ length: 12 }, () => ({ fault: "status" as const, status: 503 })))
      const outcome = yield* Workflow.runExit(retrying, "hello?").pipe(
        Effect.provide(OpenAi.model("gpt-4.1-mini").pipe(Layer.provide(client(KEY, 2))))
      )
      assert.strictEqual(outcome.exit._tag, "Failure")
      // The provider's three attempts (one call, two retries), not 3 × 4.
      assert.strictEqual(server.requests.length, 3)
      const error = outcome.exit._tag === "Failure" ? Cause.squash(outcome.exit.cause) : undefined
      assert.isTrue(AiError.isAiError(error))
      assert.strictEqual(attemptsMadeOf(error), 3)
      assert.isFalse(isRetryable(error))
      assert.strictEqual(outcome.trace.filter((event) => event.type === "retry").length, 0)
    })
  )

  it.live("with the provider's retries off, the step's policy is the one that retries", () =>
    Effect.gen(function* () {
      server.reset()
      server.enqueue({ fault: "status", status: 503 }, { fault: "status", status: 503 }, { text: "ok" })
      const result = yield* Workflow.run(retrying, "hello?").pipe(
        Effect.provide(OpenAi.model("gpt-4.1-mini").pipe(Layer.provide(client(KEY, 0))))
      )
      assert.strictEqual(result.output, "ok")
      assert.strictEqual(server.requests.length, 3)
      assert.strictEqual(result.trace.filter((event) => event.type === "retry").length, 2)
    })
  )

  it.live("a failed run (bad key) carries no key in its trace, spans or error", () =>
    Effect.gen(function* () {
      server.reset()
      const wrong = "sk-wrong-key-abcdefghijklmnop"
      const collected = collectSpans()
      const outcome = yield* Workflow.runExit(answer, "hello?", { spans: true }).pipe(
        Effect.provide(OpenAi.model("gpt-4.1-mini").pipe(Layer.provide(client(wrong)))),
        Effect.withTracer(collected.tracer)
      )
      assert.strictEqual(outcome.exit._tag, "Failure")
      const shown = `${JSON.stringify(outcome.trace)} ${collected.dump()} ${JSON.stringify(outcome.exit)} ${String(outcome.exit)}`
      assert.match(JSON.stringify(outcome.trace), /AuthenticationError|Invalid|key/i)
      assert.notInclude(shown, wrong)
      assert.notInclude(shown, KEY)
    })
  )

  it.live("a fallback's attempts: which model answered and why the other did not", () =>
    Effect.gen(function* () {
      server.reset()
      server.enqueue(
        { fault: "status", status: 500, error: { message: "overloaded" } },
        { text: "from the mini" }
      )
      const collected = collectSpans()
      const chain = Fallback.layer([
        { model: OpenAi.model("gpt-4.1") },
        { model: OpenAi.model("gpt-4.1-mini") }
      ]).pipe(Layer.provide(client(KEY, 0)))
      const result = yield* Workflow.run(answer, "hello?", { spans: true }).pipe(
        Effect.provide(chain),
        Effect.withTracer(collected.tracer)
      )
      assert.strictEqual(result.output, "from the mini")
      assert.deepStrictEqual(
        result.trace.flatMap((event) => (event.type === "usage" ? [[event.model, event.outcome]] : [])),
        [
          ["gpt-4.1", "failed"],
          ["gpt-4.1-mini", "ok"]
        ]
      )
      const attempts = collected.events("weft.fallback.attempt")
      assert.deepStrictEqual(
        attempts.map((a) => [a?.["gen_ai.request.model"], a?.["weft.outcome"]]),
        [
          ["gpt-4.1", "failed"],
          ["gpt-4.1-mini", "ok"]
        ]
      )
      assert.match(String(attempts[0]?.["weft.error"]), /InternalProviderError.*overloaded/)
    })
  )
})
