/**
 * A first typed workflow: a Schema for the input and the output, two steps,
 * a retry policy on the model step and a budget for the run.
 *
 * The Scripted model plays back a rate-limit error and then an answer, so the
 * timeline shows the model step retried once and the usage report shows two
 * model calls (one failed, charged no tokens).
 *
 *   npm run snippet -- first-workflow
 */
import { Console, Effect, Schedule, Schema } from "effect"
import { AiError, LanguageModel } from "effect/ai"
import { Report, Scripted, Step, Tokens, Workflow } from "weft-ai"

const Ticket = Schema.Struct({ subject: Schema.String, body: Schema.String })
const Triage = Schema.Struct({ summary: Schema.String, words: Schema.Number })

const triage = Workflow.make({
  name: "triage",
  input: Ticket,
  output: Triage,
  run: (ticket) =>
    Effect.gen(function* () {
      const prompt = yield* Step.make(
        "assemble",
        Effect.sync(
          () => `Summarise this support ticket in one sentence.\n\n${ticket.subject}\n${ticket.body}`
        )
      )
      const response = yield* Step.make("model", LanguageModel.generateText({ prompt }), {
        // Retry only errors whose `isRetryable` is true (a rate limit is), at most 3 times.
        retry: Schedule.max([Schedule.exponential("100 millis"), Schedule.recurs(3)]),
        // The most one attempt may take.
        timeout: "30 seconds"
      })
      return { summary: response.text, words: response.text.split(/\s+/).length }
    })
})

const model = Scripted.layer([
  { fail: new AiError.RateLimitError({ retryAfter: undefined }) },
  "The customer cannot log in after resetting their password."
])

const program = Effect.gen(function* () {
  // Load the tokenizer's tables once (≈0.4 s) so the timeline shows the steps, not the loading.
  yield* Tokens.warm
  const result = yield* Workflow.run(
    triage,
    { subject: "Login broken", body: "Since the password reset I cannot sign in." },
    { budget: { modelCalls: 5, inputTokens: 2_000, wallTime: "1 minute" } }
  )
  yield* Console.log("Output:", result.output)
  yield* Console.log(`\n${Report.timeline(result.trace)}\n\n${Report.usage(result.usage)}`)
})

Effect.runPromise(Effect.provide(program, model))
