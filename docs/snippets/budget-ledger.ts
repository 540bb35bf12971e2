/**
 * The Budget on its own: reserve before a call, settle after it, release when
 * it failed; the price table; and `Budget.layerMetered`, which meters a
 * `LanguageModel` outside `Workflow.run`.
 *
 *   node --conditions=source docs/snippets/budget-ledger.ts
 */
import { Console, Effect, Layer } from "effect"
import { LanguageModel } from "effect/ai"
import { Budget, Local, Report } from "weft-ai"

const byHand = Effect.gen(function* () {
  // A budget of 1,000 input tokens and $0.01, priced from the default price table.
  const budget = yield* Budget.make({ inputTokens: 1_000, costUsd: 0.01 })

  // Before the call: reserve its worst case (prompt tokens + its maxOutputTokens).
  const reservation = yield* budget.reserve({ model: "gpt-4o-mini", inputTokens: 600, maxOutputTokens: 500 })
  yield* Console.log(`reserved $${reservation.costUsd.toFixed(6)} for gpt-4o-mini`)

  // A second call of the same size would cross the input-token limit: refused before it is made.
  const refused = yield* Effect.flip(
    budget.reserve({ model: "gpt-4o-mini", inputTokens: 600, maxOutputTokens: 500 })
  )
  yield* Console.log(refused.message)

  // After the call: settle with what the provider reported; the unused reservation is freed.
  yield* budget.settle(reservation, { inputTokens: 600, outputTokens: 120 })

  // A call that failed is released: it counts as a call, its tokens do not.
  const failing = yield* budget.reserve({ model: "gpt-4o-mini", inputTokens: 300, maxOutputTokens: 500 })
  yield* budget.release(failing)

  // A model missing from the price table is a typed BudgetError, never a zero price.
  const unknown = yield* Effect.flip(
    budget.reserve({ model: "my-model", inputTokens: 10, maxOutputTokens: 10 })
  )
  yield* Console.log(`${unknown._tag} (${unknown._tag === "BudgetError" ? unknown.reason : ""})`)

  yield* Console.log(`\n${Report.usage(yield* budget.report)}\n`)
})

// Outside a workflow: meter the model yourself. Every generateText through it is
// reserved and settled against the Budget in the same layer.
const metered = Budget.layerMetered.pipe(
  Layer.provideMerge(Layer.merge(Local.layer(), Budget.Budget.layer({ modelCalls: 1 })))
)

const outsideWorkflow = Effect.gen(function* () {
  const prompt = "[1] (source: a.md)\nCalls are metered.\n\nQuestion: Are calls metered?"
  const first = yield* LanguageModel.generateText({ prompt })
  yield* Console.log(`first call: ${first.text}`)
  const second = yield* Effect.flip(LanguageModel.generateText({ prompt }))
  yield* Console.log(`second call: ${second.message}`)
  const report = yield* Budget.report
  yield* Console.log(`model calls charged: ${report.modelCalls}`)
}).pipe(Effect.provide(metered))

Effect.runPromise(Effect.andThen(byHand, outsideWorkflow))
