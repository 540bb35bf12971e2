import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Budget, type BudgetError } from "../../src/budget/index.ts"

const local = { model: "weft-local", inputTokens: 100, maxOutputTokens: 50 }
const ok = (inputTokens: number, outputTokens: number) =>
  ({ usage: { inputTokens, outputTokens }, outcome: "ok" }) as const

/** The refusal's details, failing the test when the error is another reason. */
const exceeded = (error: BudgetError) => {
  assert.strictEqual(error.reason._tag, "BudgetExceeded")
  if (error.reason._tag !== "BudgetExceeded") throw new Error("unreachable")
  return error.reason
}

describe("Budget", () => {
  it.effect("refuses a reservation that would cross a limit and names the limit and the overshoot", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ inputTokens: 250 })
      yield* budget.reserve(local)
      yield* budget.reserve(local)
      const error = yield* Effect.flip(budget.reserve(local))
      const reason = exceeded(error)
      assert.strictEqual(reason.limit, "inputTokens")
      assert.strictEqual(reason.max, 250)
      assert.strictEqual(reason.attempted, 300)
      assert.strictEqual(reason.overBy, 50)
      assert.isFalse(error.isRetryable)
      assert.match(
        error.message,
        /inputTokens limit is 250 tokens; this would reach 300 tokens \(over by 50 tokens\)/
      )
    })
  )

  it.effect("a refusal can be caught by its reason", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ modelCalls: 1 })
      yield* budget.reserve(local)
      const limit = yield* budget.reserve(local).pipe(
        Effect.as("none"),
        Effect.catchReason("BudgetError", "BudgetExceeded", (r) => Effect.succeed(r.limit))
      )
      assert.strictEqual(limit, "modelCalls")
    })
  )

  it.effect("reserves the estimate, then settles to what was used, freeing the difference", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ outputTokens: 100 })
      const first = yield* budget.reserve(local) // holds 50 output tokens
      const second = yield* budget.reserve(local) // holds 100
      exceeded(yield* Effect.flip(budget.reserve(local)))
      yield* budget.settle(first, ok(100, 10))
      yield* budget.settle(second, ok(100, 10))
      yield* budget.reserve(local) // 20 spent + 50 held <= 100
      const report = yield* budget.report
      assert.strictEqual(report.outputTokens, 20)
      assert.strictEqual(report.modelCalls, 2)
    })
  )

  it.effect("usage reported above the estimate that crosses a limit marks the budget exhausted", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ inputTokens: 50 })
      const r = yield* budget.reserve({ model: "weft-local", inputTokens: 10, maxOutputTokens: 5 })
      yield* budget.settle(r, ok(5000, 3))
      const report = yield* budget.report
      assert.strictEqual(report.inputTokens, 5000)
      assert.strictEqual(report.exceeded?.limit, "inputTokens")
      assert.strictEqual(report.exceeded?.overBy, 4950)
      assert.isTrue(report.exceeded?.afterCall)
      // Every later call is refused, however small.
      const error = yield* Effect.flip(
        budget.reserve({ model: "weft-local", inputTokens: 0, maxOutputTokens: 1 })
      )
      assert.strictEqual(exceeded(error).limit, "inputTokens")
    })
  )

  it.effect("settling or releasing a reservation twice changes nothing the second time", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ inputTokens: 200 })
      const r = yield* budget.reserve(local)
      yield* budget.settle(r, ok(105, 1))
      yield* budget.settle(r, ok(105, 1))
      yield* budget.release(r)
      const other = yield* budget.reserve({ ...local, inputTokens: 95 })
      yield* budget.release(other)
      yield* budget.release(other)
      const report = yield* budget.report
      assert.strictEqual(report.inputTokens, 105)
      assert.strictEqual(report.modelCalls, 2)
      assert.strictEqual(report.charges.length, 2)
      // Nothing is still held: the rest of the limit can be reserved.
      yield* budget.reserve({ ...local, inputTokens: 95 })
    })
  )

  it.effect("withReservation settles even when the work is interrupted, so no hold leaks", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ inputTokens: 100 })
      const fiber = yield* Effect.forkChild(
        Budget.withReservation(
          budget,
          local,
          () => Effect.sleep("1 minute"),
          () => ok(1, 1)
        )
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      const report = yield* budget.report
      assert.strictEqual(report.charges.length, 1)
      assert.strictEqual(report.charges[0]?.outcome, "ok")
      assert.strictEqual(report.inputTokens, 1)
      yield* budget.reserve({ ...local, inputTokens: 99 })
    })
  )

  it.effect("prices calls from the table and refuses on cost before the call", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ costUsd: 0.001 })
      const request = { model: "gpt-4o-mini", inputTokens: 1000, maxOutputTokens: 500 }
      // 1000 * 0.15/1e6 + 500 * 0.6/1e6 = 0.00045
      const r = yield* budget.reserve(request)
      assert.closeTo(r.costUsd, 0.00045, 1e-12)
      yield* budget.reserve(request)
      assert.strictEqual(exceeded(yield* Effect.flip(budget.reserve(request))).limit, "costUsd")
    })
  )

  it.effect("an unpriced model is an error only when a cost limit is set", () =>
    Effect.gen(function* () {
      const free = yield* Budget.make({ inputTokens: 1000 })
      const r = yield* free.reserve({ ...local, model: "gpt-9-ultra" })
      yield* free.settle(r, ok(10, 10))
      assert.strictEqual((yield* free.report).costUsd, 0)
      const costed = yield* Budget.make({ costUsd: 1 })
      const error = yield* Effect.flip(costed.reserve({ ...local, model: "gpt-9-ultra" }))
      assert.strictEqual(error.reason._tag, "UnknownModel")
      assert.match(error.message, /gpt-9-ultra/)
      const priced = yield* Budget.make(
        { costUsd: 1 },
        { prices: { "gpt-9-ultra": { inputPerMillion: 1, outputPerMillion: 2 } } }
      )
      yield* priced.reserve({ ...local, model: "gpt-9-ultra" })
    })
  )

  it.effect("limits out of range are refused when the budget is made, naming the option and the value", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [Budget.BudgetLimits, string, string]> = [
        [{ costUsd: 0 }, "costUsd", "0"],
        [{ modelCalls: -1 }, "modelCalls", "-1"],
        [{ modelCalls: 1.5 }, "modelCalls", "1.5"],
        [{ toolCalls: Number.NaN }, "toolCalls", "NaN"],
        [{ inputTokens: Number.NaN }, "inputTokens", "NaN"],
        [{ outputTokens: Number.POSITIVE_INFINITY }, "outputTokens", "Infinity"],
        [{ wallTime: "0 millis" }, "wallTime", '"0 millis"']
      ]
      for (const [limits, option, value] of cases) {
        const error = yield* Effect.flip(Budget.make(limits))
        assert.strictEqual(error.reason._tag, "InvalidOption", option)
        if (error.reason._tag !== "InvalidOption") continue
        assert.strictEqual(error.reason.option, option)
        assert.strictEqual(error.reason.value, value)
      }
      const error = yield* Effect.flip(
        Budget.make({}, { prices: { x: { inputPerMillion: -1, outputPerMillion: 0 } } })
      )
      assert.strictEqual(error.reason._tag, "InvalidPrice")
    })
  )

  it.effect("a reservation with negative or non-finite token counts is refused as invalid", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ inputTokens: 100 })
      for (const request of [
        { ...local, inputTokens: -50 },
        { ...local, maxOutputTokens: Number.NaN }
      ]) {
        const error = yield* Effect.flip(budget.reserve(request))
        assert.strictEqual(error.reason._tag, "InvalidOption")
      }
      assert.strictEqual((yield* budget.report).modelCalls, 0)
    })
  )

  it.effect("tool calls are counted and refused past their limit", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ toolCalls: 2 })
      yield* budget.chargeToolCall("search")
      yield* budget.chargeToolCall("search")
      const error = yield* Effect.flip(budget.chargeToolCall("search"))
      assert.strictEqual(exceeded(error).limit, "toolCalls")
      assert.strictEqual((yield* budget.report).toolCalls, 2)
    })
  )

  it.effect("the wall-time limit interrupts work in flight and refuses later calls", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ wallTime: "10 seconds" })
      let finished = false
      const fiber = yield* Effect.forkChild(
        Budget.enforceDeadline(
          budget,
          Effect.andThen(
            Effect.sleep("1 minute"),
            Effect.sync(() => void (finished = true))
          )
        )
      )
      yield* TestClock.adjust("10 seconds")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
      assert.isFalse(finished)
      assert.isNumber(budget.deadline)
      assert.strictEqual(exceeded(yield* Effect.flip(budget.reserve(local))).limit, "wallTime")
      assert.strictEqual((yield* budget.report).refused?.limit, "wallTime")
    })
  )

  it.effect("concurrent branches can never both take the last of a budget", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ modelCalls: 5 })
      const results = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        () =>
          Effect.exit(
            Effect.flatMap(budget.reserve(local), (r) =>
              Effect.andThen(Effect.yieldNow, budget.settle(r, ok(1, 1)))
            )
          ),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(results.filter(Exit.isSuccess).length, 5)
      assert.strictEqual((yield* budget.report).modelCalls, 5)
    })
  )

  it.effect("a failed call counts as a call but charges no tokens", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({})
      const r = yield* budget.reserve(local)
      yield* budget.release(r)
      const report = yield* budget.report
      assert.strictEqual(report.modelCalls, 1)
      assert.strictEqual(report.failedCalls, 1)
      assert.strictEqual(report.inputTokens, 0)
    })
  )

  it.effect("the usage report is data: it encodes to JSON and decodes back", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ inputTokens: 50 })
      const r = yield* budget.reserve({ ...local, inputTokens: 10 })
      yield* budget.settle(r, ok(80, 2))
      const report = yield* budget.report
      const { Usage } = yield* Effect.promise(() => import("../../src/budget/index.ts"))
      const json = JSON.parse(JSON.stringify(Schema.encodeSync(Usage.UsageReport)(report)))
      const back = Schema.decodeUnknownSync(Usage.UsageReport)(json)
      assert.strictEqual(back.inputTokens, 80)
      assert.strictEqual(back.exceeded?.limit, "inputTokens")
      assert.strictEqual(back.exceeded?.overBy, 30)
    })
  )
})

const between = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))
// usedShare up to 300%: providers may report more than was estimated.
const Call = Schema.Struct({ input: between(0, 400), maxOutput: between(1, 200), usedShare: between(0, 300) })

describe("Budget under concurrency (property)", () => {
  it.effect.prop(
    "spending passes a limit only by what calls in flight reported above their estimates, and no call starts once exhausted",
    {
      calls: Schema.Array(Call).check(Schema.isMaxLength(40)),
      limits: Schema.Struct({
        inputTokens: between(1, 5000),
        outputTokens: between(1, 2000),
        modelCalls: between(1, 30)
      })
    },
    ({ calls, limits }) =>
      Effect.gen(function* () {
        const budget = yield* Budget.make(limits)
        let accepted = 0
        let overshootInput = 0
        let overshootOutput = 0
        let startedAfterExhaustion = 0
        yield* Effect.forEach(
          calls,
          (call) =>
            Effect.exit(
              Effect.gen(function* () {
                const before = yield* budget.report
                const r = yield* budget.reserve({
                  model: "weft-local",
                  inputTokens: call.input,
                  maxOutputTokens: call.maxOutput
                })
                accepted++
                if (before.exceeded !== undefined) startedAfterExhaustion++
                yield* Effect.yieldNow
                const usedInput = Math.floor((call.input * call.usedShare) / 100)
                const usedOutput = Math.floor((call.maxOutput * call.usedShare) / 100)
                overshootInput += Math.max(0, usedInput - call.input)
                overshootOutput += Math.max(0, usedOutput - call.maxOutput)
                yield* budget.settle(r, ok(usedInput, usedOutput))
              })
            ),
          { concurrency: "unbounded" }
        )
        const report = yield* budget.report
        assert.strictEqual(startedAfterExhaustion, 0)
        assert.isAtMost(report.inputTokens, limits.inputTokens + overshootInput)
        assert.isAtMost(report.outputTokens, limits.outputTokens + overshootOutput)
        assert.isAtMost(report.modelCalls, limits.modelCalls)
        assert.strictEqual(report.modelCalls, accepted)
        assert.strictEqual(report.charges.length, accepted)
        const crossed = report.inputTokens > limits.inputTokens || report.outputTokens > limits.outputTokens
        assert.strictEqual(report.exceeded !== undefined, crossed)
      })
  )
})
