/**
 * The Budget on its own: reserve before a call, settle after it (once: a
 * second settle does nothing), `withReservation` so a hold can never leak;
 * the price table; and a budget in context outside `Workflow.run` — every
 * Weft provider meters its calls against it.
 *
 *   npm run snippet -- budget-ledger
 */
import { Console, Effect, Layer } from "effect"
import { LanguageModel } from "effect/ai"
import { Budget, Local, Report, refusalOf } from "weft-ai"

const byHand = Effect.gen(function* () {
  // A budget of 1,000 input tokens and $0.01, priced from the default price table.
  const budget = yield* Budget.make({ inputTokens: 1_000, costUsd: 0.01 })

  // Before the call: reserve its estimate (prompt tokens + its maxOutputTokens).
  const reservation = yield* budget.reserve({ model: "gpt-4o-mini", inputTokens: 600, maxOutputTokens: 500 })
  yield* Console.log(`reserved $${reservation.costUsd.toFixed(6)} for gpt-4o-mini`)

  // A second call of the same size would cross the input-token limit: refused before it is made.
  const refused = yield* Effect.flip(
    budget.reserve({ model: "gpt-4o-mini", inputTokens: 600, maxOutputTokens: 500 })
  )
  yield* Console.log(refused.message)

  // After the call: settle with what the provider reported; the unused reservation is freed.
  yield* budget.settle(reservation, { usage: { inputTokens: 600, outputTokens: 120 }, outcome: "ok" })

  // withReservation settles however the work ends, interruption included.
  yield* Budget.withReservation(
    budget,
    { model: "gpt-4o-mini", inputTokens: 300, maxOutputTokens: 500 },
    () => Effect.fail("provider down"),
    () => ({ usage: { inputTokens: 0, outputTokens: 0 }, outcome: "failed" })
  ).pipe(Effect.ignore)

  // With a cost limit, a model missing from the price table is a typed error, never a zero price.
  const unknown = yield* Effect.flip(
    budget.reserve({ model: "my-model", inputTokens: 10, maxOutputTokens: 10 })
  )
  yield* Console.log(`${unknown._tag} (${unknown.reason._tag})`)

  yield* Console.log(`\n${Report.usage(yield* budget.report)}\n`)
})

// Outside a workflow: put a budget in context. Every call through a Weft
// provider is reserved and settled against it; a refusal is an AiError whose
// BudgetError `refusalOf` reads back.
const outsideWorkflow = Effect.gen(function* () {
  const prompt = "[1] (source: a.md)\nCalls are metered.\n\nQuestion: Are calls metered?"
  const first = yield* LanguageModel.generateText({ prompt })
  yield* Console.log(`first call: ${first.text}`)
  const second = yield* Effect.flip(LanguageModel.generateText({ prompt }))
  yield* Console.log(`second call: ${refusalOf(second)?.message ?? second.message}`)
  const report = yield* Budget.report
  yield* Console.log(`model calls charged: ${report.modelCalls}`)
}).pipe(Effect.provide(Layer.merge(Local.layer(), Budget.layer({ modelCalls: 1 }))))

Effect.runPromise(Effect.andThen(byHand, outsideWorkflow))
