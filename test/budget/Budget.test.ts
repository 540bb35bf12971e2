import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Budget } from "../../src/budget/index.ts"

const local = { model: "weft-local", inputTokens: 100, maxOutputTokens: 50 }

describe("Budget", () => {
  it.effect("refuses a reservation that would cross a limit and names the limit and the overshoot", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ inputTokens: 250 })
      yield* budget.reserve(local)
      yield* budget.reserve(local)
      const error = yield* Effect.flip(budget.reserve(local))
      assert.strictEqual(error._tag, "BudgetExceeded")
      if (error._tag !== "BudgetExceeded") return
      assert.strictEqual(error.limit, "inputTokens")
      assert.strictEqual(error.max, 250)
      assert.strictEqual(error.attempted, 300)
      assert.strictEqual(error.overBy, 50)
      assert.match(
        error.message,
        /inputTokens limit is 250 tokens; this would reach 300 tokens \(over by 50 tokens\)/
      )
    })
  )

  it.effect("reserves the worst case, then settles to what was used, freeing the difference", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ outputTokens: 100 })
      const first = yield* budget.reserve(local) // holds 50 output tokens
      const second = yield* budget.reserve(local) // holds 100
      const refused = yield* Effect.flip(budget.reserve(local))
      assert.strictEqual(refused._tag, "BudgetExceeded")
      yield* budget.settle(first, { inputTokens: 100, outputTokens: 10 })
      yield* budget.settle(second, { inputTokens: 100, outputTokens: 10 })
      yield* budget.reserve(local) // 20 spent + 50 held <= 100
      const report = yield* budget.report
      assert.strictEqual(report.outputTokens, 20)
      assert.strictEqual(report.modelCalls, 2)
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
              Effect.andThen(Effect.yieldNow, budget.settle(r, { inputTokens: 1, outputTokens: 1 }))
            )
          ),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(results.filter(Exit.isSuccess).length, 5)
      assert.strictEqual((yield* budget.report).modelCalls, 5)
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
      const error = yield* Effect.flip(budget.reserve(request))
      assert.strictEqual(error._tag === "BudgetExceeded" && error.limit, "costUsd")
    })
  )

  it.effect("an unknown model is a typed error, never a zero price", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({})
      const error = yield* Effect.flip(budget.reserve({ ...local, model: "gpt-9-ultra" }))
      assert.strictEqual(error._tag, "BudgetError")
      assert.strictEqual(error._tag === "BudgetError" && error.reason, "UnknownModel")
      assert.match(error.message, /gpt-9-ultra/)
      const priced = yield* Budget.make(
        {},
        { prices: { "gpt-9-ultra": { inputPerMillion: 1, outputPerMillion: 2 } } }
      )
      yield* priced.reserve({ ...local, model: "gpt-9-ultra" })
    })
  )

  it.effect("zero, negative and NaN limits and negative prices are refused when the budget is made", () =>
    Effect.gen(function* () {
      for (const limits of [
        { costUsd: 0 },
        { modelCalls: -1 },
        { inputTokens: Number.NaN },
        { wallTime: "0 millis" as const }
      ]) {
        const error = yield* Effect.flip(Budget.make(limits))
        assert.strictEqual(error.reason, "InvalidLimit")
      }
      const error = yield* Effect.flip(
        Budget.make({}, { prices: { x: { inputPerMillion: -1, outputPerMillion: 0 } } })
      )
      assert.strictEqual(error.reason, "InvalidPrice")
    })
  )

  it.effect("tool calls are counted and refused past their limit", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ toolCalls: 2 })
      yield* budget.chargeToolCall("search")
      yield* budget.chargeToolCall("search")
      const error = yield* Effect.flip(budget.chargeToolCall("search"))
      assert.strictEqual(error.limit, "toolCalls")
      assert.strictEqual((yield* budget.report).toolCalls, 2)
    })
  )

  it.effect("the wall-time limit interrupts work in flight and refuses later calls", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ wallTime: "10 seconds" })
      let finished = false
      const fiber = yield* Effect.forkChild(
        budget.run(
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
      const error = yield* Effect.flip(budget.reserve(local))
      assert.strictEqual(error._tag === "BudgetExceeded" && error.limit, "wallTime")
      assert.strictEqual((yield* budget.report).refused?.limit, "wallTime")
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
})

const between = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))
const Call = Schema.Struct({ input: between(1, 400), maxOutput: between(1, 200), usedShare: between(0, 100) })

describe("Budget under concurrency (property)", () => {
  it.effect.prop(
    "however calls interleave, spending never passes a limit and every accepted call is charged once",
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
        yield* Effect.forEach(
          calls,
          (call) =>
            Effect.exit(
              Effect.flatMap(
                budget.reserve({
                  model: "weft-local",
                  inputTokens: call.input,
                  maxOutputTokens: call.maxOutput
                }),
                (r) => {
                  accepted++
                  return Effect.andThen(
                    Effect.yieldNow,
                    budget.settle(r, {
                      inputTokens: call.input,
                      outputTokens: Math.floor((call.maxOutput * call.usedShare) / 100)
                    })
                  )
                }
              )
            ),
          { concurrency: "unbounded" }
        )
        const report = yield* budget.report
        assert.isAtMost(report.inputTokens, limits.inputTokens)
        assert.isAtMost(report.outputTokens, limits.outputTokens)
        assert.isAtMost(report.modelCalls, limits.modelCalls)
        assert.strictEqual(report.modelCalls, accepted)
        assert.strictEqual(report.charges.length, accepted)
      })
  )
})
