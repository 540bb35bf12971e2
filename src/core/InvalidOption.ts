/**
 * The error reason every Weft area uses for an option it cannot accept: it
 * names the option as the caller wrote it, the value given and what was
 * expected, so `Effect.catchReason(…, "InvalidOption", …)` works the same way on
 * `BudgetError`, `WorkflowError`, `ValidationError` and `RetrievalError`.
 */
import { Schema } from "effect"

export class InvalidOption extends Schema.TaggedError<InvalidOption>("weft/InvalidOption")("InvalidOption", {
  /** The option's name as the caller wrote it, e.g. `"maxAttempts"` or `"--max-calls"`. */
  option: Schema.String,
  /** The value given, as text. */
  value: Schema.String,
  /** What the option accepts, e.g. `"an integer ≥ 1"`. */
  expected: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `${this.option} must be ${this.expected}, got ${this.value}`
  }
}

/** `value` as an option error shows it (`NaN`, `Infinity`, `"soon"`). */
export const show = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value) : String(value)

/** `undefined` when `value` is an integer ≥ `min`, else the reason saying so. */
export const checkInteger = (option: string, value: unknown, min: number): InvalidOption | undefined =>
  typeof value === "number" && Number.isInteger(value) && value >= min
    ? undefined
    : new InvalidOption({ option, value: show(value), expected: `an integer ≥ ${min}` })

/** `undefined` when `value` is a finite number > 0, else the reason saying so. */
export const checkPositive = (option: string, value: unknown): InvalidOption | undefined =>
  typeof value === "number" && Number.isFinite(value) && value > 0
    ? undefined
    : new InvalidOption({ option, value: show(value), expected: "a finite number > 0" })
