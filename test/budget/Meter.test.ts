import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, ExecutionPlan, Fiber, Schema, Stream } from "effect"
import { AiError, LanguageModel, Tool, Toolkit } from "effect/ai"
import { TestClock } from "effect/testing"
import { Budget, Meter, refusalOf } from "../../src/budget/index.ts"
import { Scripted } from "../../src/model/index.ts"

/** Runs `use` against a fresh budget in context with the scripted provider; returns its exit, the report and the calls the model saw. */
const withBudget = <A, E>(
  script: ReadonlyArray<Scripted.Entry>,
  limits: Budget.BudgetLimits,
  use: Effect.Effect<A, E, LanguageModel.LanguageModel>,
  options?: Scripted.Options
) =>
  Effect.gen(function* () {
    const scripted = yield* Scripted.make(script, options)
    const budget = yield* Budget.make(limits)
    const exit = yield* Effect.exit(
      use.pipe(Effect.provide(scripted.layer), Effect.provideService(Budget.Budget, budget))
    )
    return { exit, report: yield* budget.report, calls: yield* scripted.calls }
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert.isTrue(Exit.isFailure(exit))
  if (Exit.isSuccess(exit)) throw new Error("unreachable")
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (error === undefined || error._tag !== "Fail") throw new Error("no typed failure")
  return error.error
}

describe("Meter (applied by every provider layer)", () => {
  it.effect("outside a run there is no budget and calls go straight through", () =>
    Effect.gen(function* () {
      const response = yield* LanguageModel.generateText({ prompt: "q" }).pipe(
        Effect.provide(Scripted.layer(["free"]))
      )
      assert.strictEqual(response.text, "free")
    })
  )

  it.effect("a refused call fails with an AiError the budget's refusal can be read back from", () =>
    Effect.gen(function* () {
      const { exit, calls, report } = yield* withBudget(
        ["one", "two"],
        { modelCalls: 1 },
        Effect.andThen(
          LanguageModel.generateText({ prompt: "a" }),
          LanguageModel.generateText({ prompt: "b" })
        )
      )
      const error = failureOf(exit)
      assert.isTrue(AiError.isAiError(error))
      assert.strictEqual(error.reason._tag, "QuotaExhaustedError")
      assert.isFalse(error.isRetryable)
      const refusal = refusalOf(error)
      assert.strictEqual(refusal?.reason._tag, "BudgetExceeded")
      assert.strictEqual(refusal?.reason._tag === "BudgetExceeded" && refusal.reason.limit, "modelCalls")
      assert.strictEqual(calls, 1)
      assert.strictEqual(report.refused?.limit, "modelCalls")
    })
  )

  it.effect("an agent loop can catch a refusal by its AiError reason", () =>
    Effect.gen(function* () {
      const { exit } = yield* withBudget(
        ["one"],
        { modelCalls: 1 },
        Effect.andThen(
          LanguageModel.generateText({ prompt: "a" }),
          LanguageModel.generateText({ prompt: "b" })
        ).pipe(
          Effect.as("answered"),
          Effect.catchReason("AiError", "QuotaExhaustedError", () => Effect.succeed("stopped by budget"))
        )
      )
      assert.deepStrictEqual(exit, Exit.succeed("stopped by budget"))
    })
  )

  it.effect("concurrent calls against a token limit: exactly those that fit reach the model", () =>
    Effect.gen(function* () {
      const prompt = "How many days of annual leave do full-time staff get each year?"
      const probe = yield* withBudget(["x"], {}, LanguageModel.generateText({ prompt }), {
        maxOutputTokens: 10
      })
      const perCall = probe.report.charges[0]!.inputTokens
      assert.isAbove(perCall, 5)
      // Room for three calls' estimates (input) and no more.
      const { report, calls } = yield* withBudget(
        [{ repeat: { text: "ok", usage: { inputTokens: perCall, outputTokens: 1 } } }],
        { inputTokens: perCall * 3 + 1 },
        Effect.forEach(
          Array.from({ length: 8 }, () => 0),
          () => Effect.exit(LanguageModel.generateText({ prompt })),
          { concurrency: "unbounded" }
        ),
        { maxOutputTokens: 10 }
      )
      assert.strictEqual(calls, 3)
      assert.strictEqual(report.modelCalls, 3)
      assert.isAtMost(report.inputTokens, perCall * 3 + 1)
    })
  )

  it.effect("concurrent calls against a cost limit are priced before they start", () =>
    Effect.gen(function* () {
      // 1,000 output tokens per call at gpt-4o-mini's $0.60/M = $0.0006 + input: three fit in $0.002.
      const { report, calls } = yield* withBudget(
        [{ repeat: { text: "ok", usage: { inputTokens: 10, outputTokens: 1000 } } }],
        { costUsd: 0.002 },
        Effect.forEach(
          Array.from({ length: 10 }, () => 0),
          () => Effect.exit(LanguageModel.generateText({ prompt: "q" })),
          { concurrency: "unbounded" }
        ),
        { model: "gpt-4o-mini", maxOutputTokens: 1000 }
      )
      assert.strictEqual(calls, 3)
      assert.strictEqual(report.refused?.limit, "costUsd")
    })
  )

  it.effect("input read from the provider's prompt cache is charged at the cached price", () =>
    Effect.gen(function* () {
      // gpt-4o-mini: $0.15/M input, $0.075/M cached input, $0.60/M output.
      const { report } = yield* withBudget(
        [
          { text: "a", usage: { inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 600_000 } },
          { text: "b", usage: { inputTokens: 1_000_000, outputTokens: 0 } }
        ],
        { costUsd: 10 },
        Effect.andThen(
          LanguageModel.generateText({ prompt: "q" }),
          LanguageModel.generateText({ prompt: "q" })
        ),
        { model: "gpt-4o-mini", maxOutputTokens: 10 }
      )
      const [cached, plain] = report.charges
      assert.strictEqual(cached?.cachedInputTokens, 600_000)
      assert.closeTo(cached!.costUsd, 0.4 * 0.15 + 0.6 * 0.075, 1e-12)
      assert.isUndefined(plain?.cachedInputTokens)
      assert.closeTo(plain!.costUsd, 0.15, 1e-12)
      assert.closeTo(report.costUsd, 0.06 + 0.045 + 0.15, 1e-12)
    })
  )

  it.effect("the estimate counts tool definitions and the response schema", () =>
    Effect.sync(() => {
      const Lookup = Tool.make("lookup_order", {
        description: "Find an order by its number and return its status, items and delivery date",
        parameters: Schema.Struct({ orderNumber: Schema.String, includeItems: Schema.Boolean })
      })
      const toolkit = Toolkit.make(Lookup)
      const plain = Meter.estimateInput({ prompt: "where is my order?" })
      const withTools = Meter.estimateInput({ prompt: "where is my order?", toolkit })
      const withSchema = Meter.estimateInput({
        prompt: "where is my order?",
        schema: Schema.Struct({ status: Schema.String, deliveredOn: Schema.String })
      })
      assert.isAbove(withTools, plain + 15)
      assert.isAbove(withSchema, plain + 5)
    })
  )

  it.effect("a streamed call is reserved before and settled from its finish part", () =>
    Effect.gen(function* () {
      const { exit, report } = yield* withBudget(
        [{ text: "streamed answer", usage: { inputTokens: 11, outputTokens: 3 } }],
        { modelCalls: 1 },
        Stream.runCollect(LanguageModel.streamText({ prompt: "q" }))
      )
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(report.inputTokens, 11)
      assert.strictEqual(report.outputTokens, 3)
      assert.strictEqual(report.charges[0]?.outcome, "ok")
    })
  )

  it.effect("a stream the caller stops before its finish part is charged its reservation", () =>
    Effect.gen(function* () {
      const { exit, report } = yield* withBudget(
        [
          {
            text: "a long streamed answer with many words in it",
            usage: { inputTokens: 11, outputTokens: 9 }
          }
        ],
        {},
        Stream.runCollect(Stream.take(LanguageModel.streamText({ prompt: "q" }), 2)),
        { maxOutputTokens: 77 }
      )
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(report.charges[0]?.outcome, "interrupted")
      assert.strictEqual(report.outputTokens, 77)
    })
  )

  it.effect("a streamed call past the limit is refused before the model sees it", () =>
    Effect.gen(function* () {
      const { exit, calls } = yield* withBudget(
        ["one", "two"],
        { modelCalls: 1 },
        Effect.andThen(
          Stream.runCollect(LanguageModel.streamText({ prompt: "a" })),
          Stream.runCollect(LanguageModel.streamText({ prompt: "b" }))
        )
      )
      assert.strictEqual(refusalOf(failureOf(exit))?.reason._tag, "BudgetExceeded")
      assert.strictEqual(calls, 1)
    })
  )

  it.effect("an error that carries usage is charged that usage", () =>
    Effect.gen(function* () {
      const { report } = yield* withBudget(
        [
          {
            fail: new AiError.InvalidOutputError({
              description: "not JSON",
              usage: { promptTokens: 40, completionTokens: 12 }
            })
          }
        ],
        {},
        LanguageModel.generateText({ prompt: "q" })
      )
      assert.strictEqual(report.inputTokens, 40)
      assert.strictEqual(report.outputTokens, 12)
      assert.strictEqual(report.charges[0]?.outcome, "invalid")
    })
  )

  it.effect("an interrupted call keeps its reservation and is recorded as interrupted", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([{ delay: "1 minute", reply: "late" }], { maxOutputTokens: 50 })
      const budget = yield* Budget.make({})
      const fiber = yield* Effect.forkChild(
        LanguageModel.generateText({ prompt: "q" }).pipe(
          Effect.provide(scripted.layer),
          Effect.provideService(Budget.Budget, budget)
        )
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      const report = yield* budget.report
      assert.strictEqual(report.modelCalls, 1)
      assert.strictEqual(report.outputTokens, 50)
      assert.strictEqual(report.charges[0]?.outcome, "interrupted")
    })
  )

  it.effect("MaxOutputTokens narrows what a call reserves, never widens it", () =>
    Effect.gen(function* () {
      const call = (narrowTo: number) =>
        withBudget(
          ["a"],
          { outputTokens: 50 },
          Effect.provideService(LanguageModel.generateText({ prompt: "q" }), Meter.MaxOutputTokens, narrowTo),
          { maxOutputTokens: 100 }
        )
      // The provider's 100 would not fit in 50; narrowed to 7 it does.
      assert.isTrue(Exit.isSuccess((yield* call(7)).exit))
      assert.isTrue(Exit.isFailure((yield* call(5000)).exit))
      const roomy = yield* withBudget(
        ["a"],
        { outputTokens: 150 },
        Effect.provideService(LanguageModel.generateText({ prompt: "q" }), Meter.MaxOutputTokens, 5000),
        { maxOutputTokens: 100 }
      )
      // Widened to 5,000 it would be refused; the provider's 100 is what is reserved.
      assert.isTrue(Exit.isSuccess(roomy.exit))
    })
  )

  it.effect("each step of an ExecutionPlan fallback is metered under its own model", () =>
    Effect.gen(function* () {
      const primary = yield* Scripted.make(
        [{ fail: new AiError.InternalProviderError({ description: "down" }) }],
        {
          model: "gpt-4o"
        }
      )
      const fallback = yield* Scripted.make(["from the fallback"], { model: "gpt-4o-mini" })
      const plan = ExecutionPlan.make({ provide: primary.layer }, { provide: fallback.layer })
      const budget = yield* Budget.make({ modelCalls: 5 })
      const response = yield* LanguageModel.generateText({ prompt: "q" }).pipe(
        Effect.withExecutionPlan(plan),
        Effect.provideService(Budget.Budget, budget)
      )
      assert.strictEqual(response.text, "from the fallback")
      const report = yield* budget.report
      assert.deepStrictEqual(Object.keys(report.byModel).sort(), ["gpt-4o", "gpt-4o-mini"])
      assert.strictEqual(report.charges.find((c) => c.model === "gpt-4o")?.outcome, "failed")
      assert.strictEqual(report.charges.find((c) => c.model === "gpt-4o-mini")?.outcome, "ok")
    })
  )
})
