/**
 * The Budget's data, as Schemas: the limits, a reservation, a charge and the
 * usage report. Everything a budget keeps or hands out is plain data, so a
 * budget can be persisted, sent as JSON and shared across processes (an SQL-
 * or entity-backed budget implements the same service on the same shapes).
 */
import { Schema } from "effect"
import { BudgetExceeded, LimitName } from "./BudgetError.ts"

/** The limits as numbers (`wallTime` in ms); a missing limit means no limit. */
export const ResolvedLimits = Schema.Struct({
  inputTokens: Schema.optional(Schema.Number),
  outputTokens: Schema.optional(Schema.Number),
  modelCalls: Schema.optional(Schema.Number),
  toolCalls: Schema.optional(Schema.Number),
  costUsd: Schema.optional(Schema.Number),
  wallTime: Schema.optional(Schema.Number)
})
export type ResolvedLimits = { readonly [K in LimitName]?: number | undefined }

export { LimitName }

/** What a model call asks to reserve. */
export const ReservationRequest = Schema.Struct({
  model: Schema.String,
  inputTokens: Schema.Number,
  maxOutputTokens: Schema.Number,
  step: Schema.optional(Schema.String)
})
export interface ReservationRequest {
  readonly model: string
  readonly inputTokens: number
  readonly maxOutputTokens: number
  readonly step?: string | undefined
}

/** An accepted reservation: settled or released once, by `id` (a second time does nothing). */
export const Reservation = Schema.Struct({
  id: Schema.Number,
  model: Schema.String,
  step: Schema.optional(Schema.String),
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  costUsd: Schema.Number
})
export interface Reservation {
  readonly id: number
  readonly model: string
  readonly step?: string | undefined
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
}

/** Tokens a call used, as the provider reported them (or as counted when it reported none). */
export const Usage = Schema.Struct({
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  cachedInputTokens: Schema.optional(Schema.Number)
})
export interface Usage {
  readonly inputTokens: number
  readonly outputTokens: number
  /** Of `inputTokens`, those the provider read from its prompt cache (charged at the cached price). */
  readonly cachedInputTokens?: number | undefined
}

/**
 * How a call ended, which decides what it is charged:
 * `ok` its reported usage; `invalid` it answered but the answer did not decode
 * (charged all the same); `failed` it failed (charged what its error reports,
 * else nothing); `interrupted` it was stopped before it finished (charged its
 * reservation: the provider may have billed it and we cannot know how much).
 */
export const Outcome = Schema.Literals(["ok", "invalid", "failed", "interrupted"])
export type Outcome = typeof Outcome.Type

/** What settling a reservation records. */
export interface Settlement {
  readonly usage: Usage
  readonly outcome: Outcome
}

/** What one model call was charged, as the run's ledger records it. */
export const Charge = Schema.Struct({
  model: Schema.String,
  step: Schema.optional(Schema.String),
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  cachedInputTokens: Schema.optional(Schema.Number),
  costUsd: Schema.Number,
  /** ms since the budget was made. */
  at: Schema.Number,
  outcome: Outcome
})
export interface Charge {
  readonly model: string
  readonly step?: string | undefined
  readonly inputTokens: number
  readonly outputTokens: number
  /** Of `inputTokens`, those read from the provider's prompt cache, when it reported any. */
  readonly cachedInputTokens?: number | undefined
  readonly costUsd: number
  readonly at: number
  readonly outcome: Outcome
}

export const UsageTotals = Schema.Struct({
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  modelCalls: Schema.Number,
  costUsd: Schema.Number
})
export interface UsageTotals {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly modelCalls: number
  readonly costUsd: number
}

/** A run's usage: totals, per model and per step, and what stopped or overshot it. */
export const UsageReport = Schema.Struct({
  ...UsageTotals.fields,
  toolCalls: Schema.Number,
  /** Calls that failed with no answer. */
  failedCalls: Schema.Number,
  /** Calls whose answer did not decode into the requested shape (charged). */
  invalidAnswers: Schema.Number,
  elapsedMs: Schema.Number,
  limits: ResolvedLimits,
  byModel: Schema.Record(Schema.String, UsageTotals),
  byStep: Schema.Record(Schema.String, UsageTotals),
  charges: Schema.Array(Charge),
  /** The first refusal: work the budget would not start. */
  refused: Schema.optional(BudgetExceeded),
  /**
   * The first limit crossed by usage reported after a call (above its
   * estimate). From then on the budget is exhausted: every later call is refused.
   */
  exceeded: Schema.optional(BudgetExceeded)
})
export interface UsageReport extends UsageTotals {
  readonly toolCalls: number
  readonly failedCalls: number
  readonly invalidAnswers: number
  readonly elapsedMs: number
  readonly limits: ResolvedLimits
  readonly byModel: Readonly<Record<string, UsageTotals>>
  readonly byStep: Readonly<Record<string, UsageTotals>>
  readonly charges: ReadonlyArray<Charge>
  readonly refused?: BudgetExceeded | undefined
  readonly exceeded?: BudgetExceeded | undefined
}
