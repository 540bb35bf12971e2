/**
 * The example tools' one error, `ToolError`, in the shape of effect/ai's
 * `AiError`: a `reason` that says what went wrong, one tagged class each, so
 * `Effect.catchReason("ToolError", "DivisionByZero", …)` type-checks. A tool
 * returns it as its failure result (`failureMode: "return"`), so the model is
 * told what was wrong and can answer or try again.
 *
 * - `UnknownUnit`: a unit the converter does not know.
 * - `IncompatibleUnits`: a conversion between kinds of quantity (metres to kilograms).
 * - `InvalidExpression`: a calculator expression that does not parse, or names an unknown function.
 * - `DivisionByZero`: a calculator expression that divides by zero.
 * - `OutOfDomain`: a function given a value it is not defined for (`sqrt(-1)`), or a result too large.
 * - `SearchFailed`: the docs search could not run the query (a blank one, say).
 * - `SaveFailed`: the note could not be written to its file.
 */
import { Schema } from "effect"

export class UnknownUnit extends Schema.TaggedError<UnknownUnit>("weft/examples/UnknownUnit")("UnknownUnit", {
  unit: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `unknown unit "${this.unit}"`
  }
}

export class IncompatibleUnits extends Schema.TaggedError<IncompatibleUnits>(
  "weft/examples/IncompatibleUnits"
)("IncompatibleUnits", {
  from: Schema.String,
  fromKind: Schema.String,
  to: Schema.String,
  toKind: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `cannot convert ${this.fromKind} (${this.from}) to ${this.toKind} (${this.to})`
  }
}

export class InvalidExpression extends Schema.TaggedError<InvalidExpression>(
  "weft/examples/InvalidExpression"
)("InvalidExpression", {
  expression: Schema.String,
  /** Where in the expression it went wrong, from 0. */
  position: Schema.Number,
  description: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `${this.description} at position ${this.position + 1} of "${this.expression}"`
  }
}

export class DivisionByZero extends Schema.TaggedError<DivisionByZero>("weft/examples/DivisionByZero")(
  "DivisionByZero",
  { expression: Schema.String }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `division by zero in "${this.expression}"`
  }
}

export class OutOfDomain extends Schema.TaggedError<OutOfDomain>("weft/examples/OutOfDomain")("OutOfDomain", {
  expression: Schema.String,
  description: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `${this.description} in "${this.expression}"`
  }
}

export class SearchFailed extends Schema.TaggedError<SearchFailed>("weft/examples/SearchFailed")(
  "SearchFailed",
  {
    query: Schema.String,
    description: Schema.String
  }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `the docs search for "${this.query}" failed: ${this.description}`
  }
}

export class SaveFailed extends Schema.TaggedError<SaveFailed>("weft/examples/SaveFailed")("SaveFailed", {
  file: Schema.String,
  description: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `the note could not be saved to ${this.file}: ${this.description}`
  }
}

export const ToolErrorReason = Schema.Union([
  UnknownUnit,
  IncompatibleUnits,
  InvalidExpression,
  DivisionByZero,
  OutOfDomain,
  SearchFailed,
  SaveFailed
])
export type ToolErrorReason = typeof ToolErrorReason.Type

export class ToolError extends Schema.TaggedError<ToolError>("weft/examples/ToolError")("ToolError", {
  reason: ToolErrorReason
}) {
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
  override get message(): string {
    return this.reason.message
  }
}

/** Wraps a reason in a `ToolError`. */
export const toolError = (reason: ToolErrorReason): ToolError => new ToolError({ reason })
