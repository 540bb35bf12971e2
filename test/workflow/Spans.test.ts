import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber, Option, Schedule, Schema, Tracer } from "effect"
import { TestClock } from "effect/testing"
import { AiError, LanguageModel } from "effect/ai"
import { Scripted } from "../../src/model/index.ts"
import { Step, Trace, Workflow } from "../../src/workflow/index.ts"

/** A tracer that keeps every span in memory and logs when each starts and ends. */
const collectSpans = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const log: Array<string> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      const end = span.end.bind(span)
      span.end = (endTime, exit) => {
        log.push(`end:${span.name}`)
        end(endTime, exit)
      }
      spans.push(span)
      log.push(`start:${span.name}`)
      return span
    }
  })
  const named = (name: string): Tracer.NativeSpan => {
    const span = spans.find((s) => s.name === name)
    if (span === undefined)
      throw new Error(`no span named ${name}; got ${spans.map((s) => s.name).join(", ")}`)
    return span
  }
  const parentOf = (span: Tracer.NativeSpan): Tracer.AnySpan | undefined => Option.getOrUndefined(span.parent)
  /** True when `ancestor` is `span`'s parent, grandparent, … */
  const descends = (span: Tracer.AnySpan, ancestor: Tracer.AnySpan): boolean => {
    let current = span._tag === "Span" ? Option.getOrUndefined(span.parent) : undefined
    while (current !== undefined) {
      if (current === ancestor) return true
      current = current._tag === "Span" ? Option.getOrUndefined(current.parent) : undefined
    }
    return false
  }
  return { tracer, spans, log, named, parentOf, descends }
}

/** Runs `program` as a run is run: a fresh trace in context, under `Trace.withRunSpan`. */
const runTraced = <A, E>(program: Effect.Effect<A, E, Trace.RunTrace>, spans?: boolean) =>
  Effect.withFiber((fiber) => {
    const trace = Trace.makeAt(fiber.getRef(Clock.Clock).currentTimeMillisUnsafe())
    const run = Trace.withRunSpan(trace, "pipeline", program, { spans })
    return Effect.map(Effect.exit(Effect.provideService(run, Trace.RunTrace, trace)), (exit) => ({
      exit,
      trace
    }))
  })

const usage = (step: string, durationMs?: number): Trace.StepEvent => ({
  type: "usage",
  step,
  at: 0,
  ...(durationMs === undefined ? {} : { durationMs }),
  model: "gpt-test",
  inputTokens: 40,
  outputTokens: 7,
  costUsd: 0.001,
  outcome: "ok"
})

/** Records a charge from inside the running fiber, as the budget's meter does when it settles a call. */
const charge = (event: Trace.StepEvent) =>
  Effect.flatMap(Trace.RunTrace, (trace) => Effect.sync(() => void trace.record(event)))

describe("Trace.withRunSpan", () => {
  it.effect("steps become spans under the run's span; retries are span events; order follows the trace", () =>
    Effect.gen(function* () {
      const collected = collectSpans()
      let tries = 0
      const program = Effect.gen(function* () {
        yield* Step.make("outer", Step.make("inner", Effect.void))
        yield* Step.make(
          "flaky",
          Effect.suspend(() =>
            ++tries < 3
              ? Effect.fail(
                  new AiError.AiError({ module: "t", method: "m", reason: new AiError.RateLimitError({}) })
                )
              : Effect.void
          ),
          { retry: Schedule.recurs(3) }
        )
      })
      const { exit, trace } = yield* runTraced(program, true).pipe(
        Effect.provideService(Tracer.Tracer, collected.tracer)
      )
      assert.isTrue(Exit.isSuccess(exit))
      const run = collected.named("workflow pipeline")
      assert.strictEqual(collected.parentOf(collected.named("step outer")), run)
      assert.strictEqual(collected.parentOf(collected.named("step inner")), collected.named("step outer"))
      const flaky = collected.named("step flaky")
      assert.strictEqual(flaky.attributes.get("weft.step.attempts"), 3)
      assert.strictEqual(flaky.attributes.get("weft.step.retries"), 2)
      assert.deepStrictEqual(
        flaky.events.map(([name, , attributes]) => `${name}#${attributes["weft.step.attempt"]}`),
        ["weft.step.retry#2", "weft.step.retry#3"]
      )
      assert.deepStrictEqual(
        collected.log.filter((e) => e.includes(":step ")).map((e) => e.replace(":step ", ":")),
        trace
          .events()
          .filter((e) => e.type !== "usage" && e.type !== "retry")
          .map((e) => `${e.type === "start" ? "start" : "end"}:${e.step}`)
      )
      assert.deepStrictEqual(collected.log.slice(-1), ["end:workflow pipeline"])
    })
  )

  it.effect("a charge settled inside effect/ai's model-call span annotates that span; no second span", () =>
    Effect.gen(function* () {
      const collected = collectSpans()
      const program = Step.make(
        "draft",
        charge(usage("draft")).pipe(
          Effect.withSpan("LanguageModel.generateText", {}, { captureStackTrace: false })
        )
      )
      yield* runTraced(program, true).pipe(Effect.provideService(Tracer.Tracer, collected.tracer))
      const call = collected.named("LanguageModel.generateText")
      assert.strictEqual(call.attributes.get("gen_ai.usage.input_tokens"), 40)
      assert.strictEqual(call.attributes.get("gen_ai.usage.output_tokens"), 7)
      assert.strictEqual(call.attributes.get("gen_ai.request.model"), "gpt-test")
      assert.strictEqual(call.attributes.get("weft.usage.cost_usd"), 0.001)
      assert.isFalse(collected.spans.some((s) => s.name.startsWith("chat ")))
      const draft = collected.named("step draft")
      assert.strictEqual(draft.attributes.get("weft.usage.input_tokens"), 40)
      assert.isUndefined(draft.attributes.get("gen_ai.usage.input_tokens"))
    })
  )

  it.effect(
    "a charge settled outside any model-call span is a client span under its step, as long as the call took",
    () =>
      Effect.gen(function* () {
        const collected = collectSpans()
        const program = Step.make(
          "draft",
          Effect.andThen(Effect.sleep("250 millis"), charge(usage("draft", 250)))
        )
        const fiber = yield* Effect.forkChild(
          runTraced(program, true).pipe(Effect.provideService(Tracer.Tracer, collected.tracer))
        )
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(fiber)
        const call = collected.named("chat gpt-test")
        assert.strictEqual(call.kind, "client")
        assert.strictEqual(collected.parentOf(call), collected.named("step draft"))
        assert.strictEqual(call.attributes.get("gen_ai.operation.name"), "chat")
        assert.strictEqual(call.attributes.get("gen_ai.usage.input_tokens"), 40)
        assert.isTrue(call.status._tag === "Ended" && call.status.endTime - call.startTime === 250_000_000n)
      })
  )

  it.effect(
    "an event recorded without its span (a retry inside a step's own loop) lands on the step's open span",
    () =>
      Effect.gen(function* () {
        const collected = collectSpans()
        const retry: Trace.StepEvent = {
          type: "retry",
          step: "model",
          at: 0,
          attempt: 2,
          error: "AiError: rate limited"
        }
        const program = Step.make(
          "model",
          Effect.flatMap(Trace.RunTrace, (trace) => Effect.sync(() => void trace.record(retry)))
        )
        yield* runTraced(program, true).pipe(Effect.provideService(Tracer.Tracer, collected.tracer))
        const model = collected.named("step model")
        assert.deepStrictEqual(
          model.events.map(([name, , attributes]) => [name, attributes["weft.step.error"]]),
          [["weft.step.retry", "AiError: rate limited"]]
        )
      })
  )

  it.effect("a model-call span that ended before its charge keeps its own end time and gets the charge", () =>
    Effect.gen(function* () {
      const collected = collectSpans()
      const program = Step.make(
        "draft",
        Effect.gen(function* () {
          yield* Effect.sleep("100 millis").pipe(
            Effect.withSpan("LanguageModel.generateText", {}, { captureStackTrace: false })
          )
          // The meter settles after the call returned, later than its span ended.
          yield* Effect.sleep("200 millis")
          yield* charge(usage("draft"))
        })
      )
      const fiber = yield* Effect.forkChild(
        runTraced(Effect.andThen(program, Step.make("later", Effect.void)), true).pipe(
          Effect.provideService(Tracer.Tracer, collected.tracer)
        )
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      const call = collected.named("LanguageModel.generateText")
      assert.strictEqual(call.attributes.get("gen_ai.usage.input_tokens"), 40)
      assert.isTrue(call.status._tag === "Ended" && call.status.endTime - call.startTime === 100_000_000n)
      assert.isFalse(collected.spans.some((s) => s.name.startsWith("chat ")))
      // Exported (ended) when its charge came, before its step ended.
      const order = collected.log.filter((e) => e.startsWith("end:"))
      assert.deepStrictEqual(order.slice(0, 2), ["end:LanguageModel.generateText", "end:step draft"])
    })
  )

  it.effect(
    "a model-call span with no charge is still ended, with its own end time, when its step ends",
    () =>
      Effect.gen(function* () {
        const collected = collectSpans()
        const program = Step.make(
          "draft",
          Effect.andThen(
            Effect.sleep("100 millis").pipe(
              Effect.withSpan("LanguageModel.generateText", {}, { captureStackTrace: false })
            ),
            Effect.sleep("50 millis")
          )
        )
        const fiber = yield* Effect.forkChild(
          runTraced(program, true).pipe(Effect.provideService(Tracer.Tracer, collected.tracer))
        )
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(fiber)
        const call = collected.named("LanguageModel.generateText")
        assert.isTrue(call.status._tag === "Ended" && call.status.endTime - call.startTime === 100_000_000n)
        assert.deepStrictEqual(
          collected.log.filter((e) => e.startsWith("end:")),
          ["end:LanguageModel.generateText", "end:step draft", "end:workflow pipeline"]
        )
      })
  )

  it.effect("off unless asked: no spans by default; Trace.layerSpans turns them on", () =>
    Effect.gen(function* () {
      const off = collectSpans()
      const { trace } = yield* runTraced(Step.make("s", Effect.void)).pipe(
        Effect.provideService(Tracer.Tracer, off.tracer)
      )
      assert.deepStrictEqual(off.spans, [])
      assert.isFalse(trace.hasSpans())
      assert.deepStrictEqual(
        trace.events().map((e) => e.type),
        ["start", "end"]
      )
      const on = collectSpans()
      yield* runTraced(Step.make("s", Effect.void)).pipe(
        Effect.provideService(Tracer.Tracer, on.tracer),
        Effect.provide(Trace.layerSpans)
      )
      assert.deepStrictEqual(
        on.spans.map((s) => s.name),
        ["workflow pipeline", "step s"]
      )
      // Effect's own switch still wins: with the tracer disabled, no spans even when asked.
      const disabled = collectSpans()
      yield* runTraced(Step.make("s", Effect.void), true).pipe(
        Effect.withTracerEnabled(false),
        Effect.provideService(Tracer.Tracer, disabled.tracer)
      )
      assert.deepStrictEqual(disabled.spans, [])
    })
  )
})

const answer = Workflow.make({
  name: "answer",
  input: Schema.String,
  output: Schema.String,
  run: (question) =>
    Effect.gen(function* () {
      const context = yield* Step.make(
        "retrieve",
        // A step inside a step: its span is a child of the outer step's span.
        Step.make("rank", Effect.succeed(`passages for ${question}`))
      )
      const response = yield* Step.make("draft", LanguageModel.generateText({ prompt: context }), {
        retry: Schedule.recurs(2)
      })
      yield* Step.forEach("check", ["a", "b"], (item) => Effect.succeed(item), { concurrency: 2 })
      return response.text
    })
})

const script: ReadonlyArray<Scripted.Entry> = [
  { fail: new AiError.RateLimitError({}) },
  { text: "An answer.", usage: { inputTokens: 12, outputTokens: 3 } }
]

describe("Spans of a Workflow.run", () => {
  it.effect(
    "each step is a span under the run's span, with its attempts, retries, outcome and GenAI usage",
    () =>
      Effect.gen(function* () {
        const collected = collectSpans()
        const result = yield* Workflow.run(answer, "budgets?").pipe(
          Effect.provide(Scripted.layer(script)),
          Effect.provide(Trace.layerSpans),
          Effect.provideService(Tracer.Tracer, collected.tracer)
        )
        assert.strictEqual(result.output, "An answer.")
        const { named, parentOf, descends } = collected

        const run = named("workflow answer")
        assert.isUndefined(parentOf(run))
        assert.strictEqual(run.attributes.get("weft.workflow.name"), "answer")
        assert.strictEqual(run.attributes.get("weft.usage.input_tokens"), 12)
        assert.strictEqual(run.attributes.get("weft.usage.output_tokens"), 3)
        assert.isTrue(run.status._tag === "Ended" && Exit.isSuccess(run.status.exit))

        // Parent/child: steps under the run, a nested step under its step, fan-out items under the run.
        for (const step of ["retrieve", "draft", "check[1]", "check[2]"])
          assert.strictEqual(parentOf(named(`step ${step}`)), run, step)
        assert.strictEqual(parentOf(named("step rank")), named("step retrieve"))

        // The retried step: two attempts, one retry event with what the first attempt failed with.
        const draft = named("step draft")
        assert.strictEqual(draft.attributes.get("weft.step.name"), "draft")
        assert.strictEqual(draft.attributes.get("weft.step.attempts"), 2)
        assert.strictEqual(draft.attributes.get("weft.step.retries"), 1)
        assert.strictEqual(draft.attributes.get("weft.step.outcome"), "ok")
        assert.deepStrictEqual(
          draft.events.map(([name, , attributes]) => [name, attributes["weft.step.attempt"]]),
          [["weft.step.retry", 2]]
        )
        assert.match(String(draft.events[0]?.[2]["weft.step.error"]), /^AiError: .*Rate limit/)

        // Each model call is one span, effect/ai's own, carrying the GenAI attributes (effect/ai Telemetry
        // names) of what the budget charged: the rate-limited attempt (0 tokens, failed), then the answer.
        const calls = collected.spans.filter((s) => s.name === "LanguageModel.generateText")
        assert.deepStrictEqual(
          calls.map((s) => [
            s.attributes.get("gen_ai.usage.input_tokens"),
            s.attributes.get("weft.call.outcome")
          ]),
          [
            [0, "failed"],
            [12, "ok"]
          ]
        )
        assert.isFalse(collected.spans.some((s) => s.name.startsWith("chat ")))
        const call = calls[1] as Tracer.NativeSpan
        assert.strictEqual(call.attributes.get("gen_ai.usage.output_tokens"), 3)
        assert.strictEqual(call.attributes.get("gen_ai.operation.name"), "chat")
        assert.strictEqual(call.attributes.get("gen_ai.request.model"), "scripted")
        assert.strictEqual(call.attributes.get("weft.call.outcome"), "ok")
        assert.isTrue(descends(call, draft))
        assert.strictEqual(draft.attributes.get("weft.usage.input_tokens"), 12)

        // Spans and trace come from the same events: step spans open and close in the trace's order.
        const fromSpans = collected.log
          .filter((entry) => /^(start|end):step /.test(entry))
          .map((entry) => entry.replace(":step ", ":"))
        const fromTrace = result.trace
          .filter((e) => e.type === "start" || e.type === "end" || e.type === "failure")
          .map((e) => `${e.type === "start" ? "start" : "end"}:${e.step}`)
        assert.deepStrictEqual(fromSpans, fromTrace)
        assert.deepStrictEqual(fromTrace.slice(0, 4), [
          "start:retrieve",
          "start:rank",
          "end:rank",
          "end:retrieve"
        ])
        // Every span ended.
        assert.isTrue(collected.spans.every((s) => s.status._tag === "Ended"))
      })
  )

  it.effect("a failed step's span ends in failure with the trace's description of the error", () =>
    Effect.gen(function* () {
      const collected = collectSpans()
      const outcome = yield* Workflow.runExit(answer, "budgets?").pipe(
        Effect.provide(Scripted.layer([{ fail: new AiError.AuthenticationError({ kind: "InvalidKey" }) }])),
        Effect.provide(Trace.layerSpans),
        Effect.provideService(Tracer.Tracer, collected.tracer)
      )
      assert.isTrue(Exit.isFailure(outcome.exit))
      const failure = outcome.trace.find((e) => e.type === "failure" && e.step === "draft")
      const draft = collected.named("step draft")
      assert.strictEqual(draft.attributes.get("weft.step.outcome"), "failed")
      assert.strictEqual(draft.attributes.get("weft.step.attempts"), 1)
      assert.strictEqual(
        draft.attributes.get("weft.step.error"),
        failure?.type === "failure" ? failure.error : ""
      )
      assert.isTrue(draft.status._tag === "Ended" && Exit.isFailure(draft.status.exit))
      const run = collected.named("workflow answer")
      assert.isTrue(run.status._tag === "Ended" && Exit.isFailure(run.status.exit))
      // Steps after the failure never started, so they have no spans.
      assert.isFalse(collected.spans.some((s) => s.name.startsWith("step check")))
    })
  )

  it.effect(
    "spans are opt-in: without Trace.layerSpans a run makes no Weft spans, and its trace is unchanged",
    () =>
      Effect.gen(function* () {
        const collected = collectSpans()
        const result = yield* Workflow.run(answer, "budgets?").pipe(
          Effect.provide(Scripted.layer(script)),
          Effect.provideService(Tracer.Tracer, collected.tracer)
        )
        assert.strictEqual(result.output, "An answer.")
        assert.deepStrictEqual(
          collected.spans.filter((s) => s.name.startsWith("workflow ") || s.name.startsWith("step ")),
          []
        )
        assert.isTrue(result.trace.some((e) => e.type === "retry" && e.step === "draft"))
        // The run option turns them on for one run, without the layer.
        const one = collectSpans()
        yield* Workflow.run(answer, "budgets?", { spans: true }).pipe(
          Effect.provide(Scripted.layer(script)),
          Effect.provideService(Tracer.Tracer, one.tracer)
        )
        assert.strictEqual(one.parentOf(one.named("step draft")), one.named("workflow answer"))
      })
  )

  it.effect("a run's span hangs from the caller's span, so a run inside a request is one trace", () =>
    Effect.gen(function* () {
      const collected = collectSpans()
      yield* Workflow.run(answer, "budgets?").pipe(
        Effect.withSpan("http request", {}, { captureStackTrace: false }),
        Effect.provide(Scripted.layer(script)),
        Effect.provide(Trace.layerSpans),
        Effect.provideService(Tracer.Tracer, collected.tracer)
      )
      const request = collected.named("http request")
      const run = collected.named("workflow answer")
      assert.strictEqual(collected.parentOf(run), request)
      assert.strictEqual(run.traceId, request.traceId)
      assert.strictEqual(collected.named("step draft").traceId, request.traceId)
    })
  )
})
