/**
 * The repair loop: `Validator.generateValidated` asks the model, checks the
 * answer, and when a check fails asks again with the issues spelled out.
 * `Validator.generateObjectValidated` does the same for structured output.
 *
 * The Scripted model plays a first answer that cites a passage it was never
 * given ([4]) and a second, grounded answer; then an object with a missing
 * field, then a complete one; then a rate limit on the second answer, which
 * the per-call policy retries on its own (the first answer is not asked for
 * again); then a loop that gives up, caught by its reason.
 *
 *   npm run snippet -- repair-loop
 */
import { Console, Effect, Schedule, Schema } from "effect"
import { AiError } from "effect/ai"
import { PassageFormat, Scripted, Tokens, Validator } from "weft-ai"

const passages = [
  { sourceId: "budget.md", text: "The Budget reserves a call's worst case before the call is made." },
  { sourceId: "workflows.md", text: "A Step retries only errors whose isRetryable is true." }
]

const grounded = Effect.gen(function* () {
  const scripted = yield* Scripted.make([
    "The budget is checked before each call [4].",
    "The Budget reserves a call's worst case before the call is made [1]."
  ])
  const result = yield* Validator.generateValidated({
    prompt: `Passages:\n\n${PassageFormat.formatPassages(passages)}\n\nQuestion: When is the budget checked?`,
    // `all` gathers every check's issues; the value is the first check's (the cited passage numbers).
    check: Validator.all(Validator.grounded(passages.length), Validator.nonEmpty),
    maxAttempts: 3
  }).pipe(Effect.provide(scripted.layer))

  for (const attempt of result.attempts) {
    const verdict =
      attempt.issues.length === 0
        ? "accepted"
        : attempt.issues.map((i) => `${i.check}: ${i.message}`).join("; ")
    yield* Console.log(`attempt ${attempt.attempt}: ${attempt.text}\n  -> ${verdict}`)
  }
  yield* Console.log(`cited passages: ${result.value.join(", ")}`)

  // The second call saw the rejected answer and the repair request.
  const prompts = yield* scripted.prompts
  const repair = prompts[1]!.content.at(-1)!
  yield* Console.log(`\nWhat the model was told before attempt 2:\n${Tokens.messageText(repair)}\n`)
})

const Contact = Schema.Struct({ name: Schema.String, email: Schema.String, age: Schema.Number })

const structured = Effect.gen(function* () {
  const result = yield* Validator.generateObjectValidated({
    prompt: "Name: Ada Lovelace\nEmail: ada@example.com\nAge: 36",
    schema: Contact,
    // A check on the decoded value, beyond what the Schema says.
    refine: (contact) => (contact.age < 0 ? [{ check: "age", message: "age must not be negative" }] : [])
  }).pipe(
    Effect.provide(
      Scripted.layer([
        { object: { name: "Ada Lovelace", email: "ada@example.com" } },
        { object: { name: "Ada Lovelace", email: "ada@example.com", age: 36 } }
      ])
    )
  )
  for (const attempt of result.attempts) {
    const issues = attempt.issues.map((i) => `\n  -> ${i.check}: ${i.message}`).join("")
    yield* Console.log(`attempt ${attempt.attempt}: ${attempt.text}${issues}`)
  }
  yield* Console.log("value:", result.value)
})

const rateLimited = Effect.gen(function* () {
  const scripted = yield* Scripted.make([
    "The budget is checked before each call.",
    { fail: new AiError.RateLimitError({}) },
    "The Budget reserves a call's worst case before the call is made [1]."
  ])
  const result = yield* Validator.generateValidated({
    prompt: `Passages:\n\n${PassageFormat.formatPassages(passages)}\n\nQuestion: When is the budget checked?`,
    check: Validator.grounded(passages.length),
    // Retry and timeout for each model call on its own.
    callPolicy: {
      retry: Schedule.recurs(2),
      timeout: "30 seconds",
      onRetry: (retry) =>
        Console.log(`  retrying the call for attempt ${retry.attempt} after: ${retry.error.message}`)
    }
  }).pipe(Effect.provide(scripted.layer))
  yield* Console.log(
    `\n${result.attempts.length} attempts, ${yield* scripted.calls} model calls: ${result.text}`
  )
})

const givingUp = Effect.gen(function* () {
  const message = yield* Validator.generateValidated({
    prompt: "Question: anything?",
    check: Validator.grounded(2),
    maxAttempts: 2
  }).pipe(
    Effect.provide(Scripted.layer(["No citation.", "Still none."])),
    Effect.map((result) => result.text),
    // Every attempt failed: the reason carries each attempt's text and issues.
    Effect.catchReason("ValidationError", "RepairExhausted", (reason) =>
      Effect.succeed(
        `ValidationError (${reason._tag}, ${reason.attempts.length} attempts): ${reason.message}`
      )
    )
  )
  yield* Console.log(`\n${message}`)
})

Effect.runPromise(Effect.andThen(Effect.andThen(Effect.andThen(grounded, structured), rateLimited), givingUp))
