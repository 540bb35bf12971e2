/**
 * Step policies: a timeout per attempt, retries on a Schedule for retryable
 * errors only, and a fan-out with a concurrency limit, all visible in the run
 * trace; and an option Weft cannot accept, rejected as a typed error.
 *
 *   npm run snippet -- steps
 */
import { Console, type Duration, Effect, Exit, Schedule, Schema } from "effect"
import { AiError, LanguageModel } from "effect/ai"
import { Report, Scripted, Step, Tokens, Workflow } from "weft-ai"

// A timeout per attempt and at most 2 retries, 50 ms then 100 ms apart.
const policy: Step.StepPolicy<AiError.AiError> = {
  timeout: "100 millis",
  retry: Schedule.max([Schedule.exponential("50 millis"), Schedule.recurs(2)])
}

const answer = Workflow.make({
  name: "answer",
  input: Schema.String,
  output: Schema.String,
  run: (question) =>
    Effect.map(
      Step.make("model", LanguageModel.generateText({ prompt: question }), policy),
      (response) => response.text
    )
})

const program = Effect.gen(function* () {
  yield* Tokens.warm

  // 1. The first attempt takes 2 s and times out after 100 ms (WorkflowError
  //    reason StepTimeout, retryable); the second attempt answers at once.
  const slow = Scripted.layer([{ delay: "2 seconds", reply: "too late" }, "Here in time."])
  const timedOut = yield* Workflow.run(answer, "Anyone there?").pipe(Effect.provide(slow))
  yield* Console.log(`1. ${timedOut.output}\n${Report.timeline(timedOut.trace)}\n`)

  // 2. A wrong API key is not retryable: the step fails at once, one attempt.
  const badKey = Scripted.layer([
    { fail: new AiError.AuthenticationError({ kind: "InvalidKey" }) },
    "never reached"
  ])
  const failed = yield* Workflow.runExit(answer, "Anyone there?").pipe(Effect.provide(badKey))
  yield* Console.log(`2. failed: ${Exit.isFailure(failed.exit)}\n${Report.timeline(failed.trace)}\n`)

  // 3. A fan-out: four items, two at a time; each item is a step named "lookup[i]".
  const lookups = yield* Step.forEach(
    "lookup",
    ["a", "b", "c", "d"],
    (item) => Effect.as(Effect.sleep("30 millis"), item.toUpperCase()),
    { concurrency: 2 }
  )
  yield* Console.log(`3. ${lookups.join(" ")}\n`)

  // 4. Step.make also works in a pipe; a timeout that is no duration is a typed
  //    InvalidOption when the step is built, and the effect never runs.
  const typo = yield* Effect.succeed("never run").pipe(
    Step.make("typo", { timeout: "soon" as Duration.Input }),
    Effect.catchReason("WorkflowError", "InvalidOption", (reason) =>
      Effect.succeed(`rejected ${reason.option} = ${reason.value}: ${reason.message}`)
    )
  )
  yield* Console.log(`4. ${typo}`)
})

Effect.runPromise(program)
