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
import { Context, Effect, Layer, Result, Schema } from "effect"
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

/** The text is JSON that decodes with `schema`. */
export const json =
  <A, I>(schema: Schema.Codec<A, I>): Check<A> =>
  (text) => {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      return issue("schema", "The answer is not valid JSON")
    }
    const decoded = Schema.decodeUnknownResult(schema)(value)
    return Result.isSuccess(decoded)
      ? Result.succeed(decoded.success)
      : issue("schema", decoded.failure.message.replace(/\s+/g, " ").trim())
  }

/** Runs every check on the text, gathering all the issues; the value is the first check's. */
export const all =
  <A>(first: Check<A>, ...rest: ReadonlyArray<Check<unknown>>): Check<A> =>
  (text) => {
    const issues: Array<Issue> = []
    const head = first(text)
    if (Result.isFailure(head)) issues.push(...head.failure)
    for (const check of rest) {
      const r = check(text)
      if (Result.isFailure(r)) issues.push(...r.failure)
    }
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

/**
 * Asks the model, checks the answer, and re-asks with the issues until an
 * answer passes or `maxAttempts` answers have failed.
 */
export const generateValidated = <A>(
  options: GenerateValidatedOptions<A>
): Effect.Effect<Validated<A>, ValidationFailed | AiError.AiError, LanguageModel.LanguageModel> =>
  Effect.gen(function* () {
    const maxAttempts = options.maxAttempts ?? 3
    const validator = yield* Effect.service(Validator)
    const check = validator.rules.length === 0 ? options.check : all(options.check, ...validator.rules)
    let prompt = Prompt.make(options.prompt)
    const attempts: Array<Attempt> = []
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const response = yield* LanguageModel.generateText({ prompt })
      const text = response.text
      const result = check(text)
      if (Result.isSuccess(result)) {
        attempts.push({ attempt, text, issues: [] })
        return { value: result.success, text, attempts }
      }
      attempts.push({ attempt, text, issues: result.failure })
      prompt = withRepairRequest(prompt, text, result.failure)
    }
    return yield* new ValidationFailed({ attempts })
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

/** What the Validator's own rules find wrong with a text. */
const ruleIssues = (rules: ReadonlyArray<Check<unknown>>, text: string): ReadonlyArray<Issue> => {
  const issues: Array<Issue> = []
  for (const rule of rules) {
    const result = rule(text)
    if (Result.isFailure(result)) issues.push(...result.failure)
  }
  return issues
}

/**
 * Every issue that keeps `text` from decoding with `schema` (the model's own
 * decode stops at the first), so one repair round can fix them all.
 */
const decodeIssues = <A, I>(schema: Schema.Codec<A, I>, text: string): ReadonlyArray<Issue> | undefined => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  const decoded = Schema.decodeUnknownResult(schema)(value, { errors: "all" })
  if (Result.isSuccess(decoded)) return undefined
  // The formatter writes each issue as its message, then its path on a line "at [...]".
  const issues: Array<Issue> = []
  for (const line of decoded.failure.message.split("\n")) {
    const trimmed = line.trim()
    const last = issues[issues.length - 1]
    if (trimmed.length === 0) continue
    if (trimmed.startsWith("at ") && last !== undefined)
      issues[issues.length - 1] = { ...last, message: `${last.message} ${trimmed}` }
    else issues.push({ check: "schema", message: trimmed })
  }
  return issues
}

/**
 * The repair loop for structured output: asks for an object of `schema`, and
 * when the answer does not decode (or `refine` finds issues) asks again with
 * the decode errors, up to `maxAttempts`.
 */
export const generateObjectValidated = <A, I extends Record<string, any>>(
  options: GenerateObjectValidatedOptions<A, I>
): Effect.Effect<Validated<A>, ValidationFailed | AiError.AiError, LanguageModel.LanguageModel> =>
  Effect.gen(function* () {
    const maxAttempts = options.maxAttempts ?? 3
    const validator = yield* Effect.service(Validator)
    let prompt = Prompt.make(options.prompt)
    const attempts: Array<Attempt> = []
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const result = yield* Effect.result(
        LanguageModel.generateObject({
          prompt,
          schema: options.schema as any as Schema.Codec<A, Record<string, any>>,
          ...(options.objectName === undefined ? {} : { objectName: options.objectName })
        })
      )
      let text: string
      let issues: ReadonlyArray<Issue>
      if (Result.isSuccess(result)) {
        text = result.success.text
        issues = [...(options.refine?.(result.success.value) ?? []), ...ruleIssues(validator.rules, text)]
        if (issues.length === 0) {
          attempts.push({ attempt, text, issues })
          return { value: result.success.value, text, attempts }
        }
      } else {
        const error: unknown = result.failure
        // A reply that is not the requested object is a validation issue to repair;
        // any other failure (network, auth, rate limit, a budget refusal) is the caller's.
        if (!AiError.isAiError(error) || error.reason._tag !== "StructuredOutputError") {
          return yield* Effect.fail(result.failure)
        }
        text = error.reason.responseText
        issues = decodeIssues(options.schema, text) ?? [
          { check: "schema", message: error.reason.description.replace(/\s+/g, " ").trim() }
        ]
      }
      attempts.push({ attempt, text, issues })
      prompt = withRepairRequest(prompt, text, issues)
    }
    return yield* new ValidationFailed({ attempts })
  })
