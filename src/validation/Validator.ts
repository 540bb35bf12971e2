/**
 * The Validator: checks a model's output before anything downstream trusts it,
 * and the repair loop that re-asks the model when a check fails.
 *
 * A `Check<A>` reads an output text and returns either the value it stands for
 * or the issues found. Checks compose with `all`; the ready-made ones are
 * `json(schema)` (the text is JSON that decodes with a Schema), `grounded`
 * (every `[n]` citation names a passage the model was given, and there is at
 * least one), and rules (`nonEmpty`, `maxLength`, `banned`, `noEmails`).
 * The `Validator` service adds the rules every output must pass (a product's
 * banned content, say); its default has none.
 *
 * `generateValidated` asks the model, checks the answer, and on failure asks
 * again with the issues spelled out, up to `maxAttempts`; then it fails with
 * `ValidationFailed` carrying every attempt's text and issues.
 */
import { Context, Effect, Layer, Result, Schema, SchemaIssue } from "effect"
import { AiError, LanguageModel, Prompt } from "effect/ai"
import { isUnanswered, parseCitations } from "../model/PassageFormat.ts"

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

/** Every attempt failed its checks. */
export class ValidationFailed extends Schema.TaggedError<ValidationFailed>()("ValidationFailed", {
  attempts: Schema.Array(Attempt)
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    const last = this.attempts[this.attempts.length - 1]
    const issues = last === undefined ? "" : last.issues.map((i) => `${i.check}: ${i.message}`).join("; ")
    return `Output failed validation after ${this.attempts.length} attempt(s): ${issues}`
  }
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
  (passageCount: number, options?: { readonly requireCitation?: boolean }): Check<ReadonlyArray<number>> =>
  (text) => {
    const cited = parseCitations(text)
    const unknown = cited.filter((n) => n < 1 || n > passageCount)
    if (unknown.length > 0) {
      return issue(
        "grounding",
        `Cites ${unknown.map((n) => `[${n}]`).join(", ")}, but only passages [1]–[${passageCount}] were retrieved; cite only those`
      )
    }
    if (cited.length === 0 && (options?.requireCitation ?? true) && !isUnanswered(text)) {
      return issue("grounding", "The answer cites no passage; support each claim with a citation like [1]")
    }
    return Result.succeed(cited)
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

/** Checks a text with `check` and the Validator's rules. */
export const validate = <A>(text: string, check: Check<A>): Effect.Effect<A, ValidationFailed> =>
  Effect.flatMap(Effect.service(Validator), (validator) => {
    const result = all(check, ...validator.rules)(text)
    return Result.isSuccess(result)
      ? Effect.succeed(result.success)
      : Effect.fail(new ValidationFailed({ attempts: [{ attempt: 1, text, issues: result.failure }] }))
  })

// ---- the repair loop --------------------------------------------------------

export interface GenerateValidatedOptions<A> {
  readonly prompt: Prompt.RawInput
  readonly check: Check<A>
  /** How many times to ask in all (the first answer included). Default 3. */
  readonly maxAttempts?: number | undefined
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

/**
 * The repair loop both `generateValidated` and `generateObjectValidated` run:
 * ask, and while the answer has issues and attempts remain, ask again with the
 * rejected answer and its issues added to the conversation.
 */
const repair = <A, E, R>(
  prompt: Prompt.RawInput,
  maxAttempts: number,
  ask: (prompt: Prompt.Prompt) => Effect.Effect<Answered<A>, E, R>
): Effect.Effect<Validated<A>, ValidationFailed | E, R> =>
  Effect.gen(function* () {
    let conversation = Prompt.make(prompt)
    const attempts: Array<Attempt> = []
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const { text, result } = yield* ask(conversation)
      if (Result.isSuccess(result)) {
        attempts.push({ attempt, text, issues: [] })
        return { value: result.success, text, attempts }
      }
      attempts.push({ attempt, text, issues: result.failure })
      conversation = withRepairRequest(conversation, text, result.failure)
    }
    return yield* new ValidationFailed({ attempts })
  })

/**
 * Asks the model, checks the answer, and re-asks with the issues until an
 * answer passes or `maxAttempts` answers have failed.
 */
export const generateValidated = <A>(
  options: GenerateValidatedOptions<A>
): Effect.Effect<Validated<A>, ValidationFailed | AiError.AiError, LanguageModel.LanguageModel> =>
  Effect.flatMap(Effect.service(Validator), (validator) => {
    const check = all(options.check, ...validator.rules)
    return repair(options.prompt, options.maxAttempts ?? 3, (prompt) =>
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
  /** How many times to ask in all. Default 3. */
  readonly maxAttempts?: number | undefined
}

/**
 * The repair loop for structured output: asks for an object of `schema`, and
 * when the answer does not decode (or `refine` or the Validator's rules find
 * issues) asks again with every problem listed, up to `maxAttempts`.
 */
export const generateObjectValidated = <A, I extends Record<string, any>>(
  options: GenerateObjectValidatedOptions<A, I>
): Effect.Effect<Validated<A>, ValidationFailed | AiError.AiError, LanguageModel.LanguageModel> =>
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
        // A reply that is not the requested object is a validation issue to repair; any
        // other failure (network, auth, rate limit, a budget refusal) is the caller's.
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
    return repair(options.prompt, options.maxAttempts ?? 3, ask)
  })
