import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Stream } from "effect"
import { LanguageModel } from "effect/ai"
import { TestClock } from "effect/testing"
import { Budget, type BudgetError } from "../../src/budget/index.ts"
import { Scripted } from "../../src/model/index.ts"

/** Runs `use` with the scripted model metered against a fresh budget; returns its exit and the budget's report. */
const metered = <A, E>(
  script: ReadonlyArray<Scripted.Entry>,
  limits: Budget.BudgetLimits,
  use: Effect.Effect<A, E, LanguageModel.LanguageModel>
): Effect.Effect<
  {
    readonly exit: Exit.Exit<A, E>
    readonly report: Budget.UsageReport
    readonly calls: number
  },
  BudgetError
> =>
  Effect.gen(function* () {
    const scripted = yield* Scripted.make(script)
    const budget = yield* Budget.make(limits)
    const model = yield* Effect.provide(Effect.service(LanguageModel.LanguageModel), scripted.layer)
    const exit = yield* Effect.exit(
      Effect.provideService(use, LanguageModel.LanguageModel, Budget.meter(model, budget)).pipe(
        Effect.provide(scripted.layer)
      )
    )
    return { exit, report: yield* budget.report, calls: yield* scripted.calls }
  })

describe("Budget.meter", () => {
  it.effect("a streamed call is reserved before and settled from its finish part", () =>
    Effect.gen(function* () {
      const { exit, report } = yield* metered(
        [{ text: "streamed answer", usage: { inputTokens: 11, outputTokens: 3 } }],
        { modelCalls: 1 },
        Stream.runCollect(LanguageModel.streamText({ prompt: "q" }))
      )
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(report.modelCalls, 1)
      assert.strictEqual(report.inputTokens, 11)
      assert.strictEqual(report.outputTokens, 3)
      assert.strictEqual(report.charges[0]?.outcome, "ok")
    })
  )

  it.effect("a streamed call past the limit is refused before the model sees it", () =>
    Effect.gen(function* () {
      const { exit, calls } = yield* metered(
        ["one", "two"],
        { modelCalls: 1 },
        Effect.andThen(
          Stream.runCollect(LanguageModel.streamText({ prompt: "a" })),
          Stream.runCollect(LanguageModel.streamText({ prompt: "b" }))
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(calls, 1)
    })
  )

  it.effect("an interrupted call keeps its reservation and is recorded as interrupted", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([{ delay: "1 minute", reply: "late" }], { maxOutputTokens: 50 })
      const budget = yield* Budget.make({})
      const model = yield* Effect.provide(Effect.service(LanguageModel.LanguageModel), scripted.layer)
      const fiber = yield* Effect.forkChild(
        Effect.provideService(
          LanguageModel.generateText({ prompt: "q" }),
          LanguageModel.LanguageModel,
          Budget.meter(model, budget)
        ).pipe(Effect.provide(scripted.layer))
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      const report = yield* budget.report
      assert.strictEqual(report.modelCalls, 1)
      assert.strictEqual(report.outputTokens, 50)
      assert.strictEqual(report.charges[0]?.outcome, "interrupted")
    })
  )
})
