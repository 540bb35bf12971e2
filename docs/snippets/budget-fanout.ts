/**
 * A budget stopping a fan-out: twelve documents are summarised three at a
 * time under a cost limit of $0.008. The Budget reserves each call's worst case
 * before the call, so the call that would cross the limit is refused before it
 * reaches the model, the summaries in flight are interrupted, the ones not yet
 * started never start, and the run fails with a typed `BudgetError` (reason
 * `BudgetExceeded`).
 * `Workflow.runExit` still returns the trace and the usage report.
 *
 *   npm run snippet -- budget-fanout
 */
import { Console, Effect, Exit, Schema } from "effect"
import { LanguageModel } from "effect/ai"
import { Report, Scripted, Step, Tokens, Workflow } from "weft-ai"

const documents = Array.from({ length: 12 }, (_, i) =>
  `Report ${i + 1}: sales in region ${i + 1} grew while support tickets fell. `.repeat(20)
)

const summariseAll = Workflow.make({
  name: "summarise-all",
  input: Schema.Array(Schema.String),
  output: Schema.Array(Schema.String),
  run: (docs) =>
    Step.forEach(
      "summarise",
      docs,
      (doc) =>
        Effect.map(
          LanguageModel.generateText({ prompt: `Summarise in one sentence:\n\n${doc}` }),
          (response) => response.text
        ),
      { concurrency: 3 }
    )
})

// A scripted model named "acme-small", answering each call after 20 ms, at most
// 50 output tokens a call. The price table does not know "acme-small", so the
// run gives its price (USD per million tokens).
const model = Scripted.layer(
  documents.map((_, i) => ({ delay: "20 millis", reply: `Region ${i + 1}: sales up, tickets down.` })),
  { model: "acme-small", maxOutputTokens: 50 }
)

const program = Effect.gen(function* () {
  yield* Tokens.warm // load the tokenizer before the run, so the timeline shows the calls
  const outcome = yield* Workflow.runExit(summariseAll, documents, {
    budget: { costUsd: 0.008 },
    prices: { "acme-small": { inputPerMillion: 3, outputPerMillion: 15 } }
  })
  if (Exit.isSuccess(outcome.exit)) {
    yield* Console.log(`All ${outcome.exit.value.length} summaries done`)
  } else {
    const refused = outcome.usage.refused
    yield* Console.log(`Run stopped: ${refused?.message}`)
    yield* Console.log(
      `limit=${refused?.limit} max=${refused?.max} attempted=${refused?.attempted.toFixed(6)}`
    )
  }
  const started = outcome.trace.filter((event) => event.type === "start").length
  const finished = outcome.trace.filter((event) => event.type === "end").length
  yield* Console.log(`${started} of ${documents.length} summaries started, ${finished} finished\n`)
  yield* Console.log(`${Report.timeline(outcome.trace)}\n\n${Report.usage(outcome.usage)}`)
})

Effect.runPromise(Effect.provide(program, model))
