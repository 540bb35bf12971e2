import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Schedule, Schema } from "effect"
import { AiError } from "effect/ai"
import { TestClock } from "effect/testing"
import { Step, Trace } from "../../src/workflow/index.ts"

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
})
