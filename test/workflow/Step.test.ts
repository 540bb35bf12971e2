import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Schedule, Schema } from "effect"
import { AiError, LanguageModel } from "effect/ai"
import { TestClock } from "effect/testing"
import { Scripted } from "../../src/model/index.ts"
import { Step, Trace, Workflow } from "../../src/workflow/index.ts"
import * as WorkflowError from "../../src/workflow/WorkflowError.ts"

class Flaky extends Schema.TaggedError<Flaky>()("Flaky", { retryable: Schema.Boolean }) {
  get isRetryable() {
    return this.retryable
  }
}

const withTrace = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const trace = yield* Trace.make()
    const exit = yield* Effect.exit(Effect.provideService(effect, Trace.RunTrace, trace))
    return { exit, events: trace.events() }
  })

describe("Step", () => {
  it.effect("retries exactly as the Schedule says, at the times it says", () =>
    Effect.gen(function* () {
      const attemptTimes: Array<number> = []
      const failing = Effect.gen(function* () {
        attemptTimes.push(yield* Effect.clockWith((c) => c.currentTimeMillis))
        return yield* new Flaky({ retryable: true })
      })
      const fiber = yield* Effect.forkChild(
        withTrace(
          Step.make("call", failing, {
            retry: Schedule.max([Schedule.exponential("100 millis"), Schedule.recurs(3)])
          })
        )
      )
      yield* TestClock.adjust("10 seconds")
      const { exit, events } = yield* Fiber.join(fiber)
      assert.isTrue(Exit.isFailure(exit))
      // first try at 0, then after 100, 200, 400 ms: 1 + 3 retries
      assert.deepStrictEqual(attemptTimes, [0, 100, 300, 700])
      const retries = events.filter((e) => e.type === "retry")
      assert.deepStrictEqual(
        retries.map((e) => (e.type === "retry" ? e.attempt : 0)),
        [2, 3, 4]
      )
      const failure = events.find((e) => e.type === "failure")
      assert.strictEqual(failure?.type === "failure" && failure.attempts, 4)
    })
  )

  it.effect("waits at least as long as a rate limit's retry-after, even when the schedule says sooner", () =>
    Effect.gen(function* () {
      const attemptTimes: Array<number> = []
      let attempts = 0
      const call = Effect.gen(function* () {
        attemptTimes.push(yield* Effect.clockWith((c) => c.currentTimeMillis))
        if (++attempts === 1) {
          return yield* AiError.make({
            module: "test",
            method: "call",
            reason: new AiError.RateLimitError({ retryAfter: Duration.seconds(5) })
          })
        }
        return "ok"
      })
      const fiber = yield* Effect.forkChild(Step.make("call", call, { retry: Schedule.spaced("100 millis") }))
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* Fiber.join(fiber), "ok")
      assert.deepStrictEqual(attemptTimes, [0, 5000])
    })
  )

  it.effect("does not retry an error that is not retryable", () =>
    Effect.gen(function* () {
      let attempts = 0
      const step = Step.make(
        "call",
        Effect.suspend(() => {
          attempts++
          return Effect.fail(new Flaky({ retryable: false }))
        }),
        { retry: Schedule.recurs(5) }
      )
      const error = yield* Effect.flip(step)
      assert.strictEqual(error._tag, "Flaky")
      assert.strictEqual(attempts, 1)
    })
  )

  it.effect("succeeds on a later attempt and records start, retry and end", () =>
    Effect.gen(function* () {
      let attempts = 0
      const step = Step.make(
        "call",
        Effect.suspend(() =>
          ++attempts < 3 ? Effect.fail(new Flaky({ retryable: true })) : Effect.succeed("ok")
        ),
        { retry: Schedule.recurs(5) }
      )
      const { exit, events } = yield* withTrace(step)
      assert.deepStrictEqual(exit, Exit.succeed("ok"))
      assert.deepStrictEqual(
        events.map((e) => e.type),
        ["start", "retry", "retry", "end"]
      )
      const end = events.at(-1)
      assert.strictEqual(end?.type === "end" && end.attempts, 3)
    })
  )

  it.effect("a timeout interrupts the step's attempt and fails with WorkflowError reason StepTimeout", () =>
    Effect.gen(function* () {
      let completed = false
      let interrupted = false
      const slow = Effect.sleep("5 seconds").pipe(
        Effect.andThen(Effect.sync(() => void (completed = true))),
        Effect.onInterrupt(() => Effect.sync(() => void (interrupted = true)))
      )
      const fiber = yield* Effect.forkChild(Effect.flip(Step.make("slow", slow, { timeout: "1 second" })))
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "WorkflowError")
      assert.isTrue(error._tag === "WorkflowError" && error.reason._tag === "StepTimeout")
      assert.strictEqual(error._tag === "WorkflowError" && error.message, 'Step "slow" took longer than 1s')
      assert.isTrue(error._tag === "WorkflowError" && error.isRetryable)
      assert.isTrue(interrupted)
      assert.isFalse(completed)
    })
  )

  it.effect("a timed-out attempt is retried when the policy says so", () =>
    Effect.gen(function* () {
      let attempts = 0
      const step = Step.make(
        "slow-then-fast",
        Effect.suspend(() =>
          ++attempts === 1 ? Effect.as(Effect.sleep("1 hour"), "late") : Effect.succeed("fast")
        ),
        { timeout: "1 second", retry: Schedule.recurs(1) }
      )
      const fiber = yield* Effect.forkChild(step)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(fiber), "fast")
      assert.strictEqual(attempts, 2)
    })
  )

  it.effect("interrupting a run cancels in-flight steps cleanly and records them as interrupted", () =>
    Effect.gen(function* () {
      const trace = yield* Trace.make()
      let released = 0
      const branch = Effect.acquireRelease(Effect.void, () => Effect.sync(() => void released++)).pipe(
        Effect.andThen(Effect.never),
        Effect.scoped
      )
      const fiber = yield* Effect.forkChild(
        Effect.provideService(
          Step.forEach("fan", [1, 2, 3], () => branch, { concurrency: 3 }),
          Trace.RunTrace,
          trace
        )
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(released, 3)
      const failures = trace.events().filter((e) => e.type === "failure")
      assert.strictEqual(failures.length, 3)
      assert.isTrue(failures.every((e) => e.type === "failure" && e.interrupted))
    })
  )

  it.effect("forEach runs at most `concurrency` items at once", () =>
    Effect.gen(function* () {
      let running = 0
      let peak = 0
      const results = yield* Step.forEach(
        "double",
        [1, 2, 3, 4, 5, 6, 7],
        (n) =>
          Effect.gen(function* () {
            running++
            peak = Math.max(peak, running)
            yield* Effect.yieldNow
            running--
            return n * 2
          }),
        { concurrency: 3 }
      )
      assert.deepStrictEqual(results, [2, 4, 6, 8, 10, 12, 14])
      assert.strictEqual(peak, 3)
    })
  )

  it.effect(
    "works in a pipe: effect.pipe(Step.make(name, policy)) retries and records like the data-first form",
    () =>
      Effect.gen(function* () {
        let attempts = 0
        const step = Effect.suspend(() =>
          ++attempts < 2 ? Effect.fail(new Flaky({ retryable: true })) : Effect.succeed("ok")
        ).pipe(Step.make("piped", { retry: Schedule.recurs(2) }))
        // Types as in the data-first form: the effect's error and the area's.
        const typed: Effect.Effect<string, Flaky | WorkflowError.WorkflowError> = step
        // A policy whose isRetryable takes Flaky accepts an effect failing with Flaky, not with another error.
        const judged = Effect.fail(new Flaky({ retryable: false })).pipe(
          Step.make("judged", { isRetryable: (error: Flaky) => error.retryable })
        )
        const misjudged = Effect.fail("oops").pipe(
          // @ts-expect-error the policy's isRetryable cannot judge a string error
          Step.make("judged", { isRetryable: (error: Flaky) => error.retryable })
        )
        void [judged, misjudged]
        const { exit, events } = yield* withTrace(typed)
        assert.deepStrictEqual(exit, Exit.succeed("ok"))
        assert.strictEqual(attempts, 2)
        assert.deepStrictEqual(
          events.map((e) => `${e.type}:${e.step}`),
          ["start:piped", "retry:piped", "end:piped"]
        )
      })
  )

  it.effect("a step timeout can be caught by reason with Effect.catchReason", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(
        Step.make("slow", Effect.as(Effect.sleep("1 minute"), "late"), { timeout: "2 seconds" }).pipe(
          // Type-level check as much as runtime: the handler gets the StepTimeout reason, typed.
          Effect.catchReason("WorkflowError", "StepTimeout", (reason) => {
            const timeout: Duration.Duration = reason.timeout
            return Effect.succeed(`${reason.step} gave up after ${Duration.toMillis(timeout)} ms`)
          })
        )
      )
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* Fiber.join(fiber), "slow gave up after 2000 ms")
      // And a reason the area does not have is a compile error, not a silent no-op.
      const failing = Step.make("slow", Effect.void, { timeout: "1 second" })
      // @ts-expect-error "Timeout" is not a WorkflowError reason (it is "StepTimeout")
      void Effect.catchReason(failing, "WorkflowError", "Timeout", () => Effect.void)
    })
  )

  it.effect(
    "a bad timeout is a typed InvalidOption naming the option and the value; the step never runs",
    () =>
      Effect.gen(function* () {
        let ran = 0
        const effect = Effect.sync(() => void ran++)
        for (const [timeout, shown] of [
          ["soon", '"soon"'],
          [-5, "-5"],
          ["-1 second", '"-1 second"'],
          [0, "0"],
          [Number.NaN, "NaN"]
        ] as const) {
          const error = yield* Effect.flip(
            Step.make("draft", effect, { timeout: timeout as Duration.Input, retry: Schedule.recurs(3) })
          )
          assert.strictEqual(error._tag, "WorkflowError")
          if (error._tag !== "WorkflowError" || error.reason._tag !== "InvalidOption") {
            assert.fail(`expected InvalidOption for ${shown}, got ${error.message}`)
            return
          }
          assert.strictEqual(error.reason.option, "timeout")
          assert.strictEqual(error.reason.value, shown)
          assert.strictEqual(error.step, "draft")
          // Not a timeout, so not retryable: a negative timeout is not an attempt that ran out of time.
          assert.isFalse(error.isRetryable)
          assert.include(error.message, `timeout must be a duration > 0`)
        }
        assert.strictEqual(ran, 0)
      })
  )

  it.effect("a bad concurrency is a typed InvalidOption for forEach and forEachSettled; no item runs", () =>
    Effect.gen(function* () {
      let ran = 0
      const f = (n: number) =>
        Effect.sync(() => {
          ran++
          return n
        })
      for (const [concurrency, shown] of [
        [0, "0"],
        [-2, "-2"],
        [Number.NaN, "NaN"],
        [1.5, "1.5"]
      ] as const) {
        const error = yield* Effect.flip(Step.forEach("fan", [1, 2, 3], f, { concurrency }))
        assert.isTrue(error._tag === "WorkflowError" && error.reason._tag === "InvalidOption")
        assert.strictEqual(error.reason._tag === "InvalidOption" && error.reason.option, "concurrency")
        assert.strictEqual(error.reason._tag === "InvalidOption" && error.reason.value, shown)
        const settled = yield* Step.forEachSettled("fan", [1, 2, 3], f, { concurrency })
        assert.isTrue(
          settled.stoppedBy?._tag === "WorkflowError" && settled.stoppedBy.reason._tag === "InvalidOption"
        )
        assert.deepStrictEqual(settled.done, [])
        assert.deepStrictEqual(settled.unfinished, [0, 1, 2])
      }
      assert.strictEqual(ran, 0)
      // "unbounded" and an integer are accepted.
      assert.deepStrictEqual(yield* Step.forEach("fan", [1, 2], f, { concurrency: "unbounded" }), [1, 2])
    })
  )

  it.effect("a custom isRetryable judges the step's own errors; a timed-out attempt is still retried", () =>
    Effect.gen(function* () {
      let attempts = 0
      const step = Step.make(
        "slow-then-fast",
        Effect.suspend(() =>
          ++attempts === 1 ? Effect.as(Effect.sleep("1 hour"), "late") : Effect.succeed("fast")
        ),
        { timeout: "1 second", retry: Schedule.recurs(1), isRetryable: (_: never) => false }
      )
      const fiber = yield* Effect.forkChild(step)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(fiber), "fast")
      assert.strictEqual(attempts, 2)
    })
  )
})

describe("Step inside Workflow.run", () => {
  const Question = Schema.String
  const answer = Workflow.make({
    name: "answer",
    input: Question,
    output: Schema.String,
    run: (question) =>
      Effect.map(
        Step.make("model", LanguageModel.generateText({ prompt: question }), { retry: Schedule.recurs(3) }),
        (response) => response.text
      )
  })

  it.effect("a non-retryable model error is not retried: one attempt, one call", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([
        { fail: new AiError.AuthenticationError({ kind: "InvalidKey" }) },
        "never reached"
      ])
      const outcome = yield* Workflow.runExit(answer, "Anyone there?").pipe(Effect.provide(scripted.layer))
      assert.isTrue(Exit.isFailure(outcome.exit))
      assert.strictEqual(yield* scripted.calls, 1)
      assert.strictEqual(outcome.trace.filter((e) => e.type === "retry").length, 0)
      const failure = outcome.trace.find((e) => e.type === "failure")
      assert.strictEqual(failure?.type === "failure" && failure.attempts, 1)
      assert.match(failure?.type === "failure" ? failure.error : "", /^AiError: Scripted\.generateText/)
    })
  )

  it.effect("a retryable model error is retried by the step's schedule, each attempt a metered call", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([
        { fail: new AiError.RateLimitError({}) },
        { fail: new AiError.RateLimitError({}) },
        "Here."
      ])
      const result = yield* Workflow.run(answer, "Anyone there?").pipe(Effect.provide(scripted.layer))
      assert.strictEqual(result.output, "Here.")
      assert.strictEqual(yield* scripted.calls, 3)
      assert.strictEqual(result.usage.modelCalls, 3)
      const end = result.trace.find((e) => e.type === "end")
      assert.strictEqual(end?.type === "end" && end.attempts, 3)
    })
  )

  it.effect(
    "a non-retryable error of the step's own effect is not retried inside a run; a retryable one is",
    () =>
      Effect.gen(function* () {
        let attempts = 0
        const flaky = (retryable: boolean) =>
          Workflow.make({
            name: "flaky",
            input: Schema.Number,
            output: Schema.Number,
            run: (failures) =>
              Step.make(
                "work",
                Effect.suspend(() =>
                  ++attempts <= failures ? Effect.fail(new Flaky({ retryable })) : Effect.succeed(attempts)
                ),
                { retry: Schedule.recurs(5) }
              )
          })
        const refused = yield* Workflow.runExit(flaky(false), 2)
        assert.isTrue(Exit.isFailure(refused.exit))
        assert.strictEqual(attempts, 1)
        attempts = 0
        const retried = yield* Workflow.run(flaky(true), 2)
        assert.strictEqual(retried.output, 3)
        assert.strictEqual(attempts, 3)
      })
  )

  it.effect(
    "a call the budget refused is not retried, and the trace names the limit, not a provider quota",
    () =>
      Effect.gen(function* () {
        const scripted = yield* Scripted.make([{ repeat: "An answer." }])
        const outcome = yield* Workflow.runExit(answer, "Anyone there?", { budget: { inputTokens: 1 } }).pipe(
          Effect.provide(scripted.layer)
        )
        assert.isTrue(Exit.isFailure(outcome.exit))
        assert.strictEqual(yield* scripted.calls, 0)
        const failure = outcome.trace.find((e) => e.type === "failure")
        assert.strictEqual(failure?.type === "failure" && failure.attempts, 1)
        assert.match(
          failure?.type === "failure" ? failure.error : "",
          /^BudgetError: Budget exceeded: inputTokens limit is 1 token/
        )
      })
  )

  it.effect("a run's trace is Schema data: it survives JSON and back unchanged", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([{ fail: new AiError.RateLimitError({}) }, "Here."])
      const result = yield* Workflow.run(answer, "Anyone there?").pipe(Effect.provide(scripted.layer))
      const codec = Schema.fromJsonString(Schema.Array(Trace.StepEvent))
      const json = Schema.encodeSync(codec)(result.trace)
      assert.deepStrictEqual(Schema.decodeSync(codec)(json), result.trace)
      assert.deepStrictEqual(
        result.trace.map((e) => e.type),
        ["start", "usage", "retry", "usage", "end"]
      )
    })
  )

  it("WorkflowError is an Error whose retryability comes from its reason", () => {
    const timeout = WorkflowError.stepTimeout("model", Duration.seconds(1))
    assert.isTrue(timeout instanceof Error && timeout.isRetryable)
    assert.isFalse(WorkflowError.invalidInput("w", "expected a string").isRetryable)
  })
})
