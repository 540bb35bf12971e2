/**
 * The Budget area's errors.
 *
 * `BudgetExceeded` is what a run fails with when a call would cross a limit: it
 * names the limit, the limit's value, what the run would have reached and by
 * how much that is over. `BudgetError` is a budget that cannot be built or
 * used as configured (a limit that is not positive, a model with no price).
 * Neither is retryable: asking again spends the same budget.
 */
import { Schema } from "effect"

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

export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>()("BudgetExceeded", {
  limit: LimitName,
  /** The limit's value. */
  max: Schema.Number,
  /** What the run would have reached had the refused work gone ahead. */
  attempted: Schema.Number,
  /** The model the refused call was for, when it was a model call. */
  model: Schema.optional(Schema.String),
  /** The step the refused work belonged to, when known. */
  step: Schema.optional(Schema.String)
}) {
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
      return `${rounded.toLocaleString("en-US")} ${rounded === 1 && unit !== "ms" ? unit.replace(/s$/, "") : unit}`
    }
    const where = this.step === undefined ? "" : ` in step "${this.step}"`
    return `Budget exceeded: ${this.limit} limit is ${amount(this.max)}; this would reach ${amount(this.attempted)} (over by ${amount(this.overBy)})${where}`
  }
}

export class BudgetError extends Schema.TaggedError<BudgetError>()("BudgetError", {
  reason: Schema.Literals(["InvalidLimit", "UnknownModel", "InvalidPrice"]),
  message: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
}
