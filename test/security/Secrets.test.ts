/**
 * A canary secret put where keys really flow — a provider's config, a tool
 * argument, a prompt — must show up in no trace, span, usage report, error
 * message or log line of a run.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Config, ConfigProvider, Effect, Exit, Layer, Logger, Redacted, Schema, Tracer } from "effect"
import { AiError, LanguageModel, Tool, Toolkit } from "effect/ai"
import { Meter } from "../../src/budget/index.ts"
import { Scripted } from "../../src/model/index.ts"
import { Report, Step, Trace, Workflow } from "../../src/workflow/index.ts"

const CANARY = "sk-canary-7d41c09e5b"

/** Everything a run shows the world, as one string to search. */
const collect = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const logs: Array<string> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  const logger = Logger.make((options) => {
    logs.push(`${JSON.stringify(options.message)} ${Cause.pretty(options.cause)}`)
  })
  const seen = (extra: ReadonlyArray<unknown>) =>
    [
      ...logs,
      ...spans.map(
        (s) => `${s.name} ${JSON.stringify([...s.attributes.entries()])} ${JSON.stringify(s.events)}`
      ),
      ...extra.map((x) => (typeof x === "string" ? x : JSON.stringify(x)))
    ].join("\n")
  return { tracer, logger, seen }
}

/** A provider whose config holds the key, as a real one does; it fails authentication. */
const keyedProvider = Effect.gen(function* () {
  const apiKey = yield* Config.Redacted("WEFT_TEST_API_KEY")
  const model = yield* LanguageModel.make({
    generateText: () =>
      // A provider that logs its config on a failure: the key is Redacted, so it prints as <redacted>.
      Effect.logWarning("authentication failed", { apiKey }).pipe(
        Effect.andThen(
          Effect.fail(
            AiError.make({
              module: "Keyed",
              method: "generateText",
              reason: new AiError.AuthenticationError({ kind: "InvalidKey" })
            })
          )
        )
      ),
    streamText: () => Effect.die("not used") as never
  })
  return Meter.metered(model, { provider: "keyed", model: "gpt-4o-mini", maxOutputTokens: 100 })
})

const ask = Workflow.make({
  name: "ask",
  input: Schema.String,
  output: Schema.String,
  run: (question) =>
    Effect.map(
      Step.make("answer", LanguageModel.generateText({ prompt: question })),
      (response) => response.text
    ).pipe(Effect.tapError((error) => Effect.logError("answer failed", error)))
})

describe("Secrets never leak", () => {
  it.effect("a key in the provider's config: not in the trace, spans, report, error or logs", () =>
    Effect.gen(function* () {
      const out = collect()
      const model = yield* keyedProvider.pipe(
        Effect.provideService(
          ConfigProvider.ConfigProvider,
          ConfigProvider.fromUnknown({ WEFT_TEST_API_KEY: CANARY })
        )
      )
      const outcome = yield* Workflow.runExit(ask, "What is the leave policy?", { spans: true }).pipe(
        Effect.provideService(LanguageModel.LanguageModel, model),
        Effect.provideService(Tracer.Tracer, out.tracer),
        Effect.provide(Logger.layer([out.logger]))
      )
      assert.isTrue(Exit.isFailure(outcome.exit))
      const error = Exit.isFailure(outcome.exit) ? Cause.pretty(outcome.exit.cause) : ""
      const seen = out.seen([outcome.trace, outcome.usage, Report.usage(outcome.usage), error])
      assert.include(seen, "AuthenticationError")
      assert.include(seen, "authentication failed")
      assert.notInclude(seen, CANARY)
    })
  )

  it.effect("a key in a tool argument: not in the trace, spans, report or logs", () =>
    Effect.gen(function* () {
      const out = collect()
      const Login = Tool.make("login", {
        parameters: Schema.Struct({ user: Schema.String, password: Schema.String }),
        success: Schema.String
      })
      const toolkit = Toolkit.make(Login)
      const handlers = toolkit.toLayer({ login: ({ user }) => Effect.succeed(`signed in as ${user}`) })
      const scripted = yield* Scripted.make([
        { toolCalls: [{ name: "login", params: { user: "ada", password: CANARY } }] },
        "Signed in."
      ])
      const agent = Workflow.make({
        name: "agent",
        input: Schema.String,
        output: Schema.String,
        run: (request) =>
          Effect.gen(function* () {
            yield* Step.make("act", LanguageModel.generateText({ prompt: request, toolkit }))
            const done = yield* Step.make("reply", LanguageModel.generateText({ prompt: request }))
            return done.text
          })
      })
      const result = yield* Workflow.run(agent, "sign me in", { spans: true, budget: { toolCalls: 5 } }).pipe(
        Effect.provide(Layer.merge(scripted.layer, handlers)),
        Effect.provideService(Tracer.Tracer, out.tracer),
        Effect.provide(Logger.layer([out.logger]))
      )
      assert.strictEqual(result.usage.toolCalls, 1)
      const seen = out.seen([
        result.trace,
        result.usage,
        Report.usage(result.usage),
        Report.timeline(result.trace)
      ])
      assert.notInclude(seen, CANARY)
    })
  )

  it.effect("a key pasted into a prompt: not in the trace, spans, report, error or logs", () =>
    Effect.gen(function* () {
      const out = collect()
      const scripted = yield* Scripted.make([
        { fail: new AiError.RateLimitError({}) },
        { fail: new AiError.InternalProviderError({ description: "upstream failed" }) }
      ])
      const outcome = yield* Workflow.runExit(ask, `my key is ${CANARY}, why does it fail?`, {
        spans: true
      }).pipe(
        Effect.provide(scripted.layer),
        Effect.provideService(Tracer.Tracer, out.tracer),
        Effect.provide(Logger.layer([out.logger]))
      )
      assert.isTrue(Exit.isFailure(outcome.exit))
      const error = Exit.isFailure(outcome.exit) ? Cause.pretty(outcome.exit.cause) : ""
      const seen = out.seen([outcome.trace, outcome.usage, Report.timeline(outcome.trace), error])
      assert.include(seen, "RateLimitError")
      assert.notInclude(seen, CANARY)
    })
  )

  it("a Redacted value prints as <redacted> in the trace's error descriptions", () => {
    const described = Trace.describeError({ _tag: "Oops", message: `key ${String(Redacted.make(CANARY))}` })
    assert.notInclude(described, CANARY)
  })
})
