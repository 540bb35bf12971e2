/**
 * The README's typed-workflow sample, kept here so `npm run typecheck` compiles it.
 *
 *   npm run snippet -- readme-sample
 */
import { Effect, Schedule, Schema } from "effect"
import { LanguageModel } from "effect/ai"
import { Local, Report, Step, Workflow } from "weft-ai"

const triage = Workflow.make({
  name: "triage",
  input: Schema.Struct({ subject: Schema.String, body: Schema.String }),
  output: Schema.Struct({ summary: Schema.String }),
  run: (ticket) =>
    Effect.gen(function* () {
      const response = yield* Step.make(
        "model",
        LanguageModel.generateText({ prompt: `Summarise this ticket.\n\n${ticket.subject}. ${ticket.body}` }),
        {
          retry: Schedule.max([Schedule.exponential("100 millis"), Schedule.recurs(3)]),
          timeout: "30 seconds"
        }
      )
      return { summary: response.text }
    })
})

const program = Effect.gen(function* () {
  const result = yield* Workflow.run(
    triage,
    { subject: "Login broken", body: "Since the password reset I cannot sign in." },
    { budget: { modelCalls: 5, costUsd: 0.05, wallTime: "1 minute" } }
  )
  console.log(result.output, "\n" + Report.timeline(result.trace) + "\n" + Report.usage(result.usage))
})

Effect.runPromise(Effect.provide(program, Local.layer()))
