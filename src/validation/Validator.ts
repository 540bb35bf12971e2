/**
 * The Validator: checks a model's output before anything downstream trusts it,
 * and the repair loop that re-asks the model when a check fails.
 *
 * A `Check<A>` reads an output text and returns either the value it stands for
 * or the issues found. Checks compose with `all`; the ready-made ones are
 * `json(schema)` (the text is JSON that decodes with a Schema), `grounded`
 * (every `[n]` citation names a passage the model was given, and there is at
 * least one), `citeEverySentence` (no sentence goes without a citation), and
 * rules (`nonEmpty`, `maxLength`, `banned`, `noEmails`). Citations are read
 * with `PassageFormat`'s grammar, the one the Local model writes.
 * The `Validator` service adds the rules every output must pass (a product's
 * banned content, say); its default has none.
 *
 * `generateValidated` asks the model, checks the answer, and on failure asks
 * again with every rejected answer and its issues in the conversation, up to
 * `maxAttempts`; then it fails with `ValidationError` (reason
 * `RepairExhausted`) carrying every attempt's text and issues. A `callPolicy`
 * retries and times out each model call on its own, so a rate limit on the
 * second answer retries that call, not the loop from its first answer. A
 * failure that is not retryable (a budget refusal, an authentication error)
 * passes straight through: it is never repaired and never retried.
 */
import { Context, Duration, Effect, Layer, Result, type Schedule, Schema, SchemaIssue } from "effect"
import { AiError, LanguageModel, Prompt } from "effect/ai"
import { checkInteger, InvalidOption, show } from "../core/InvalidOption.ts"
import { isUnanswered, parseCitations, uncitedSentences } from "../model/PassageFormat.ts"
import { honourRetryAfter, isRetryable } from "../core/Retry.ts"

/** One thing wrong with an output. */
export interface Issue {
  /** Which check found it, e.g. `schema`, `grounding`, `maxLength`. */
  readonly check: string
  readonly message: string
}

/** Reads an output text: the value it stands for, or what is wrong with it. */
export type Check<A> = (text: string) => Result.Result<A, ReadonlyArray<Issue>>

export const Issue = Schema.Struct({ check: Schema.String, message: Schema.String })

export const Attempt = Schema.Struct({
  attempt: Schema.Number,
  text: Schema.String,
  issues: Schema.Array(Issue)
})
export type Attempt = typeof Attempt.Type

const listIssues = (issues: ReadonlyArray<Issue>): string =>
  issues.map((i) => `${i.check}: ${i.message}`).join("; ")

// ---- errors -----------------------------------------------------------------

/** A text failed its checks (`validate`, which does not re-ask). */
export class Rejected extends Schema.TaggedError<Rejected>("weft/validation/Rejected")("Rejected", {
  text: Schema.String,
  issues: Schema.Array(Issue)
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `Output failed validation: ${listIssues(this.issues)}`
  }
}

/** Every attempt of the repair loop failed its checks; `attempts` holds each text and its issues. */
export class RepairExhausted extends Schema.TaggedError<RepairExhausted>("weft/validation/RepairExhausted")(
  "RepairExhausted",
  { attempts: Schema.Array(Attempt) }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    const last = this.attempts[this.attempts.length - 1]
    return `Output failed validation after ${this.attempts.length} attempt(s): ${last === undefined ? "" : listIssues(last.issues)}`
  }
}

/** One model call of the repair loop took longer than its `callPolicy.timeout` (retryable, like a Step timeout). */
export class CallTimeout extends Schema.TaggedError<CallTimeout>("weft/validation/CallTimeout")(
  "CallTimeout",
  {
    /** The repair loop's attempt the call was for, from 1. */
    attempt: Schema.Number,
    timeout: Schema.Duration
  }
) {
  get isRetryable(): boolean {
    return true
  }
  override get message(): string {
    return `Model call for attempt ${this.attempt} took longer than ${Duration.format(this.timeout)}`
  }
}

export const ValidationErrorReason = Schema.Union([Rejected, RepairExhausted, CallTimeout, InvalidOption])
export type ValidationErrorReason = typeof ValidationErrorReason.Type

/** The validation area's one error; `reason` says what happened. */
export class ValidationError extends Schema.TaggedError<ValidationError>("weft/validation/ValidationError")(
  "ValidationError",
  { reason: ValidationErrorReason }
) {
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
  override get message(): string {
    return this.reason.message
  }
}

const fail = (reason: ValidationErrorReason): Effect.Effect<never, ValidationError> =>
  Effect.fail(new ValidationError({ reason }))

/**
 * `undefined` when `value` reads as a duration > 0 (`"30 seconds"`, a number
 * of ms, `Duration.infinity` for none), else the reason saying so.
 */
export const checkDuration = (option: string, value: unknown): InvalidOption | undefined => {
  const duration = Duration.fromInput(value as Duration.Input)
  return duration._tag === "Some" && Duration.isPositive(duration.value)
    ? undefined
    : new InvalidOption({ option, value: show(value), expected: 'a duration > 0, e.g. "30 seconds"' })
}

// ---- checks -----------------------------------------------------------------

const issue = (check: string, message: string): Result.Result<never, ReadonlyArray<Issue>> =>
  Result.fail([{ check, message }])

/** A check from a predicate on the text. */
export const rule =
  (
    check: string,
    isValid: (text: string) => boolean,
    message: string | ((text: string) => string)
  ): Check<string> =>
  (text) =>
    isValid(text) ? Result.succeed(text) : issue(check, typeof message === "string" ? message : message(text))

export const nonEmpty: Check<string> = rule("nonEmpty", (t) => t.trim().length > 0, "The answer is empty")

export const maxLength = (max: number): Check<string> =>
  rule(
    "maxLength",
    (t) => t.length <= max,
    (t) => `The answer is ${t.length} characters; the most allowed is ${max}`
  )

/** Fails when any of the words or patterns appear (words match whole words, case-insensitively). */
export const banned = (terms: ReadonlyArray<string | RegExp>): Check<string> => {
  const patterns = terms.map((t) =>
    typeof t === "string" ? new RegExp(`\\b${t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`, "i") : t
  )
  return (text) => {
    const found = patterns.filter((p) => p.test(text)).map((p) => p.source)
    return found.length === 0
      ? Result.succeed(text)
      : issue("banned", `The answer contains banned content: ${found.join(", ")}`)
  }
}

const EMAIL = /[\w.+-]+@[\w-]+\.[\w.-]+/
export const noEmails: Check<string> = rule(
  "noEmails",
  (t) => !EMAIL.test(t),
  "The answer contains an email address"
)

/**
 * Every `[n]` citation must name one of the `passageCount` passages the model
 * was given (numbered from 1), and (unless `requireCitation` is false) the
 * answer must cite at least one, except an answer that is only the
 * `UNANSWERED` sentence, which claims nothing. Returns the cited passage numbers.
 */
export const grounded =
  (
    passageCount: number,
    options?: { readonly requireCitation?: boolean | undefined }
  ): Check<ReadonlyArray<number>> =>
  (text) => {
    const cited = parseCitations(text)
    const unknown = cited.filter((n) => n < 1 || n > passageCount)
    if (unknown.length > 0) {
      return issue(
        "grounding",
        passageCount < 1
          ? `Cites ${unknown.map((n) => `[${n}]`).join(", ")}, but no passages were retrieved; cite none`
          : `Cites ${unknown.map((n) => `[${n}]`).join(", ")}, but only passages [1]–[${passageCount}] were retrieved; cite only those`
      )
    }
    if (cited.length === 0 && (options?.requireCitation ?? true) && !isUnanswered(text)) {
      return issue("grounding", "The answer cites no passage; support each claim with a citation like [1]")
    }
    return Result.succeed(cited)
  }

const clip = (text: string, max = 80): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

/**
 * Every sentence of the answer cites a passage (`PassageFormat.uncitedSentences`
 * says what counts as a sentence: a line introducing a list, a heading, code
 * and the `UNANSWERED` sentence are not claims). Stricter than `grounded`, which
 * asks for one citation in the whole answer; use the two together.
 */
export const citeEverySentence: Check<string> = (text) => {
  const uncited = uncitedSentences(text)
  if (uncited.length === 0) return Result.succeed(text)
  const shown = uncited
    .slice(0, 3)
    .map((sentence) => `"${clip(sentence)}"`)
    .join(", ")
  const more = uncited.length > 3 ? ` and ${uncited.length - 3} more` : ""
  return issue(
    "citeEverySentence",
    `${uncited.length} sentence(s) cite no passage: ${shown}${more}; end each sentence with the passage it comes from, like [1]`
  )
}

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** Every problem a Schema decode found, one issue each, with where it is (`at ["order"]`). */
export const schemaIssues = (error: Schema.SchemaError): ReadonlyArray<Issue> =>
  formatIssues(error.issue).issues.map((found) => ({
    check: "schema",
    message:
      found.path === undefined || found.path.length === 0
        ? found.message
        : `${found.message} at ${JSON.stringify(found.path.map((key) => (typeof key === "object" ? key.key : key)))}`
  }))

/** The text is JSON that decodes with `schema`; a failure lists every problem, not just the first. */
export const json =
  <A, I>(schema: Schema.Codec<A, I>): Check<A> =>
  (text) => {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      return issue("schema", "The answer is not valid JSON")
    }
    const decoded = Schema.decodeUnknownResult(schema)(value, { errors: "all" })
    return Result.isSuccess(decoded)
      ? Result.succeed(decoded.success)
      : Result.fail(schemaIssues(decoded.failure))
  }

/** What the checks find wrong with a text, all of them. */
const issuesOf = (checks: ReadonlyArray<Check<unknown>>, text: string): Array<Issue> => {
  const issues: Array<Issue> = []
  for (const check of checks) {
    const result = check(text)
    if (Result.isFailure(result)) issues.push(...result.failure)
  }
  return issues
}

/** Runs every check on the text, gathering all the issues; the value is the first check's. */
export const all =
  <A>(first: Check<A>, ...rest: ReadonlyArray<Check<unknown>>): Check<A> =>
  (text) => {
    const head = first(text)
    const issues = [...(Result.isFailure(head) ? head.failure : []), ...issuesOf(rest, text)]
    return issues.length > 0 ? Result.fail(issues) : head
  }

// ---- the service ------------------------------------------------------------

export interface ValidatorService {
  /** Rules every output must pass, whatever the call's own checks. */
  readonly rules: ReadonlyArray<Check<unknown>>
}

/** The Validator in context; by default it adds no rules. */
export const Validator = Context.Reference<ValidatorService>("weft/validation/Validator", {
  defaultValue: () => ({ rules: [] })
})

/** A Validator that holds every output to `rules`. */
export const layer = (rules: ReadonlyArray<Check<unknown>>): Layer.Layer<never> =>
  Layer.succeed(Validator, { rules })

/** Checks a text with `check` and the Validator's rules; fails with reason `Rejected`. */
export const validate = <A>(text: string, check: Check<A>): Effect.Effect<A, ValidationError> =>
  Effect.flatMap(Effect.service(Validator), (validator) => {
    const result = all(check, ...validator.rules)(text)
    return Result.isSuccess(result)
      ? Effect.succeed(result.success)
      : fail(new Rejected({ text, issues: result.failure }))
  })

// ---- the per-call policy ----------------------------------------------------

/** A retry of one model call, as `CallPolicy.onRetry` is told of it. */
export interface CallRetry {
  /** The repair loop's attempt the call is for, from 1. */
  readonly attempt: number
  /** The try of this call that is starting: 2 for the first retry. */
  readonly call: number
  /** What the previous try failed with. */
  readonly error: AiError.AiError | ValidationError
}

/**
 * How each model call of the repair loop is retried and timed out, on its own:
 * a failed call is tried again with the same conversation, so the answers
 * already rejected are neither asked for nor paid for again. The semantics are
 * a Step's, applied per call.
 */
export interface CallPolicy {
  /**
   * When to try a call again after a retryable failure, e.g.
   * `Schedule.max([Schedule.exponential("200 millis"), Schedule.recurs(3)])`.
   * A delay is stretched to a rate limit's `retryAfter` when that is longer.
   */
  readonly retry?: Schedule.Schedule<unknown, AiError.AiError | ValidationError, never, never> | undefined
  /** Which failures may be retried. Default: those whose `isRetryable` is true. */
  readonly isRetryable?: ((error: AiError.AiError | ValidationError) => boolean) | undefined
  /** The most one call may take; a call that takes longer fails with reason `CallTimeout` (retryable). */
  readonly timeout?: Duration.Input | undefined
  /** Told before each retry (to record it in a trace, say). */
  readonly onRetry?: ((retry: CallRetry) => Effect.Effect<void>) | undefined
}

type CallError = AiError.AiError | ValidationError

/** Wraps one model call of attempt `attempt` in the policy: a timeout per try, retries on the schedule. */
type PerCall = <A, E extends CallError, R>(
  call: Effect.Effect<A, E, R>,
  attempt: number
) => Effect.Effect<A, E | ValidationError, R>

const asIs: PerCall = (call) => call

/** The policy as a call wrapper, or the option it cannot accept. */
const perCall = (policy: CallPolicy | undefined): Result.Result<PerCall, InvalidOption> => {
  if (policy === undefined) return Result.succeed(asIs)
  const timeoutInput = policy.timeout
  if (timeoutInput !== undefined) {
    const invalid = checkDuration("callPolicy.timeout", timeoutInput)
    if (invalid !== undefined) return Result.fail(invalid)
  }
  const timeout =
    timeoutInput === undefined ? undefined : Duration.fromInputUnsafe(timeoutInput as Duration.Input)
  const schedule = policy.retry === undefined ? undefined : honourRetryAfter(policy.retry)
  const retryable = policy.isRetryable ?? isRetryable
  const onRetry = policy.onRetry
  return Result.succeed(<A, E extends CallError, R>(call: Effect.Effect<A, E, R>, attempt: number) => {
    let once: Effect.Effect<A, E | ValidationError, R> = call
    if (timeout !== undefined && Duration.isFinite(timeout)) {
      once = Effect.timeoutOrElse(call, {
        duration: timeout,
        orElse: () => fail(new CallTimeout({ attempt, timeout }))
      })
    }
    if (schedule === undefined) return once
    // Fresh counters each time the wrapped call runs.
    return Effect.suspend(() => {
      let tries = 0
      let lastError: E | ValidationError | undefined
      const tried = Effect.suspend(() => {
        tries++
        return tries > 1 && onRetry !== undefined
          ? Effect.andThen(onRetry({ attempt, call: tries, error: lastError! }), once)
          : once
      }).pipe(
        Effect.tapError((error) => {
          lastError = error
          return Effect.void
        })
      )
      return Effect.retry(tried, { schedule, while: retryable } as Effect.Retry.Options<E | ValidationError>)
    })
  })
}

// ---- the repair loop --------------------------------------------------------

export interface GenerateValidatedOptions<A> {
  readonly prompt: Prompt.RawInput
  readonly check: Check<A>
  /** How many times to ask in all (the first answer included): an integer ≥ 1. Default 3. */
  readonly maxAttempts?: number | undefined
  /** Retry and timeout for each model call on its own. Default: none. */
  readonly callPolicy?: CallPolicy | undefined
}

export interface Validated<A> {
  readonly value: A
  readonly text: string
  /** Every attempt, the accepted one last (with no issues). */
  readonly attempts: ReadonlyArray<Attempt>
}

/** The message that asks the model to fix its answer. */
export const repairRequest = (issues: ReadonlyArray<Issue>): string =>
  [
    "Your previous answer did not pass validation:",
    ...issues.map((i) => `- ${i.check}: ${i.message}`),
    "Answer the original request again, fixing these problems."
  ].join("\n")

/** The conversation so far, plus the rejected answer and the request to fix it. */
const withRepairRequest = (
  prompt: Prompt.Prompt,
  text: string,
  issues: ReadonlyArray<Issue>
): Prompt.Prompt =>
  Prompt.concat(
    prompt,
    Prompt.fromMessages([
      Prompt.assistantMessage({ content: [Prompt.makePart("text", { text })] }),
      Prompt.userMessage({ content: [Prompt.makePart("text", { text: repairRequest(issues) })] })
    ])
  )

/** One answer from the model: its text, and the value it stands for or what is wrong with it. */
interface Answered<A> {
  readonly text: string
  readonly result: Result.Result<A, ReadonlyArray<Issue>>
}

interface LoopOptions {
  readonly prompt: Prompt.RawInput
  readonly maxAttempts?: number | undefined
  readonly callPolicy?: CallPolicy | undefined
}

/**
 * The repair loop both `generateValidated` and `generateObjectValidated` run:
 * ask, and while the answer has issues and attempts remain, ask again with the
 * rejected answer and its issues added to the conversation. Each ask is one
 * model call under the call policy; a failure the policy does not retry ends
 * the loop as it is.
 */
const repair = <A, E extends CallError, R>(
  options: LoopOptions,
  ask: (prompt: Prompt.Prompt) => Effect.Effect<Answered<A>, E, R>
): Effect.Effect<Validated<A>, ValidationError | E, R> =>
  Effect.suspend(() => {
    const maxAttempts = options.maxAttempts ?? 3
    const invalid = checkInteger("maxAttempts", maxAttempts, 1)
    if (invalid !== undefined) return fail(invalid)
    const policy = perCall(options.callPolicy)
    if (Result.isFailure(policy)) return fail(policy.failure)
    const call = policy.success
    return Effect.gen(function* () {
      let conversation = Prompt.make(options.prompt)
      const attempts: Array<Attempt> = []
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const { text, result } = yield* call(ask(conversation), attempt)
        if (Result.isSuccess(result)) {
          attempts.push({ attempt, text, issues: [] })
          return { value: result.success, text, attempts }
        }
        attempts.push({ attempt, text, issues: result.failure })
        conversation = withRepairRequest(conversation, text, result.failure)
      }
      return yield* fail(new RepairExhausted({ attempts }))
    })
  })

/**
 * Asks the model, checks the answer, and re-asks with the issues until an
 * answer passes or `maxAttempts` answers have failed.
 */
export const generateValidated = <A>(
  options: GenerateValidatedOptions<A>
): Effect.Effect<Validated<A>, ValidationError | AiError.AiError, LanguageModel.LanguageModel> =>
  Effect.flatMap(Effect.service(Validator), (validator) => {
    const check = all(options.check, ...validator.rules)
    return repair(options, (prompt) =>
      Effect.map(LanguageModel.generateText({ prompt }), (response) => ({
        text: response.text,
        result: check(response.text)
      }))
    )
  })

export interface GenerateObjectValidatedOptions<A, I> {
  readonly prompt: Prompt.RawInput
  /** The object to fill; the model is asked for JSON of this shape (its JSON mode where it has one). */
  readonly schema: Schema.Codec<A, I>
  /** Further checks on the decoded value (cross-field rules and the like). */
  readonly refine?: ((value: A) => ReadonlyArray<Issue>) | undefined
  readonly objectName?: string | undefined
  /** How many times to ask in all: an integer ≥ 1. Default 3. */
  readonly maxAttempts?: number | undefined
  /** Retry and timeout for each model call on its own. Default: none. */
  readonly callPolicy?: CallPolicy | undefined
}

/**
 * The repair loop for structured output: asks for an object of `schema`, and
 * when the answer does not decode (or `refine` or the Validator's rules find
 * issues) asks again with every problem listed, up to `maxAttempts`.
 */
export const generateObjectValidated = <A, I extends Record<string, any>>(
  options: GenerateObjectValidatedOptions<A, I>
): Effect.Effect<Validated<A>, ValidationError | AiError.AiError, LanguageModel.LanguageModel> =>
  Effect.flatMap(Effect.service(Validator), (validator) => {
    const decode = json(options.schema)
    const ask = (prompt: Prompt.Prompt) =>
      LanguageModel.generateObject({
        prompt,
        schema: options.schema as any as Schema.Codec<A, Record<string, any>>,
        ...(options.objectName === undefined ? {} : { objectName: options.objectName })
      }).pipe(
        Effect.map((response): Answered<A> => {
          const issues = [
            ...(options.refine?.(response.value) ?? []),
            ...issuesOf(validator.rules, response.text)
          ]
          return {
            text: response.text,
            result: issues.length === 0 ? Result.succeed(response.value) : Result.fail(issues)
          }
        }),
        // A reply that is not the requested object is a validation issue to repair
        // (here, inside the call, so the call policy does not retry it as a failure);
        // any other failure (network, auth, rate limit, a budget refusal) is the caller's.
        Effect.catchIf(
          (error: unknown) => AiError.isAiError(error) && error.reason._tag === "StructuredOutputError",
          (error) => {
            const reason = (error as AiError.AiError).reason as AiError.StructuredOutputError
            const decoded = decode(reason.responseText)
            return Effect.succeed<Answered<A>>({
              text: reason.responseText,
              result: Result.isFailure(decoded)
                ? decoded
                : Result.fail([{ check: "schema", message: reason.description.replace(/\s+/g, " ").trim() }])
            })
          }
        )
      )
    return repair(options, ask)
  })
