/**
 * The Budget area's one error, `BudgetError`, and its reasons.
 *
 * `BudgetExceeded` is the refusal: work that would cross a limit (or a limit
 * that usage reported after a call already crossed). It names the limit, its
 * value, what the run would reach and by how much that is over. The other
 * reasons say a budget cannot be built or used as configured: a model with no
 * price while a cost limit is set, a price that is not a number, an option
 * that is out of range. None is retryable: asking again spends the same budget.
 *
 * Inside a model call the refusal travels as an `effect/ai` `AiError` (so the
 * `LanguageModel` types stay honest): `toAiError` makes it, `refusalOf` gets
 * the `BudgetError` back out of it.
 */
import { Predicate, Schema } from "effect"
import { AiError } from "effect/ai"
import { InvalidOption } from "../core/InvalidOption.ts"
import { grouped } from "../core/Grouped.ts"

export const LimitName = Schema.Literals([
  "inputTokens",
  "outputTokens",
  "modelCalls",
  "toolCalls",
  "costUsd",
  "wallTime"
])
export type LimitName = typeof LimitName.Type

const unitOf = (limit: LimitName): string =>
  limit === "costUsd"
    ? "USD"
    : limit === "wallTime"
      ? "ms"
      : limit === "modelCalls" || limit === "toolCalls"
        ? "calls"
        : "tokens"

export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>("weft/BudgetExceeded")(
  "BudgetExceeded",
  {
    limit: LimitName,
    /** The limit's value. */
    max: Schema.Number,
    /** What the run would have reached had the refused work gone ahead (or has reached, when `afterCall`). */
    attempted: Schema.Number,
    /** The model the refused call was for, when it was a model call. */
    model: Schema.optional(Schema.String),
    /** The step the refused work belonged to, when known. */
    step: Schema.optional(Schema.String),
    /**
     * True when the limit was crossed by the usage a provider reported after a
     * call (above the call's estimate), not refused before one.
     */
    afterCall: Schema.optional(Schema.Boolean)
  }
) {
  /** How far past the limit the refused work would have gone. */
  get overBy(): number {
    return Math.max(0, this.attempted - this.max)
  }
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    const unit = unitOf(this.limit)
    const amount = (n: number) => {
      if (this.limit === "costUsd") return `$${n.toFixed(6)}`
      const rounded = Math.round(n)
      return `${grouped(rounded)} ${rounded === 1 && unit !== "ms" ? unit.replace(/s$/, "") : unit}`
    }
    const where = this.step === undefined ? "" : ` in step "${this.step}"`
    return this.afterCall === true
      ? `Budget exceeded: ${this.limit} limit is ${amount(this.max)}; a call reported usage reaching ${amount(this.attempted)} (over by ${amount(this.overBy)})${where}`
      : `Budget exceeded: ${this.limit} limit is ${amount(this.max)}; this would reach ${amount(this.attempted)} (over by ${amount(this.overBy)})${where}`
  }
}

/** A model has no price while the budget has a cost limit. */
export class UnknownModel extends Schema.TaggedError<UnknownModel>("weft/UnknownModel")("UnknownModel", {
  model: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `No price for model "${this.model}" and a cost limit is set: add it to the price table (the \`prices\` option of Workflow.run or Budget.layer)`
  }
}

/** A price in the price table that is not a finite number ≥ 0. */
export class InvalidPrice extends Schema.TaggedError<InvalidPrice>("weft/InvalidPrice")("InvalidPrice", {
  model: Schema.String,
  field: Schema.String,
  value: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `Price ${this.field} for model "${this.model}" must be a finite number ≥ 0, got ${this.value}`
  }
}

export const BudgetErrorReason = Schema.Union([BudgetExceeded, UnknownModel, InvalidPrice, InvalidOption])
export type BudgetErrorReason = typeof BudgetErrorReason.Type

export class BudgetError extends Schema.TaggedError<BudgetError>("weft/BudgetError")("BudgetError", {
  reason: BudgetErrorReason
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return this.reason.message
  }
}

/** Wraps a reason in a `BudgetError`. */
export const fail = (reason: BudgetErrorReason): BudgetError => new BudgetError({ reason })

const METADATA_KEY = "weft"
const encode = Schema.encodeSync(BudgetErrorReason)
const decode = Schema.decodeUnknownOption(BudgetErrorReason)

/**
 * The `AiError` a model call fails with when the budget refuses it: a
 * `QuotaExhaustedError` for a refusal, an `InvalidRequestError` for a budget
 * that cannot price the call. The `BudgetError` rides along in the reason's
 * metadata (as data, so it survives serialization).
 */
export const toAiError = (error: BudgetError, module: string, method: string): AiError.AiError => {
  const metadata = { [METADATA_KEY]: encode(error.reason) as any }
  return AiError.make({
    module,
    method,
    reason:
      error.reason._tag === "BudgetExceeded"
        ? new AiError.QuotaExhaustedError({ metadata })
        : new AiError.InvalidRequestError({ description: error.reason.message, metadata })
  })
}

/**
 * The budget's refusal behind an error, if that is what it is: a `BudgetError`
 * itself, or an `AiError` a metered call failed with because of the budget.
 */
export const refusalOf = (error: unknown): BudgetError | undefined => {
  if (error instanceof BudgetError) return error
  if (!AiError.isAiError(error)) return undefined
  const metadata = (error.reason as { readonly metadata?: Record<string, unknown> }).metadata
  if (!Predicate.isObject(metadata) || !(METADATA_KEY in metadata)) return undefined
  const reason = decode(metadata[METADATA_KEY])
  return reason._tag === "Some" ? new BudgetError({ reason: reason.value }) : undefined
}
