/**
 * Budgets: per-run limits reserved before each call and settled after, the
 * metering every provider applies, and usage reports.
 */
export * as Budget from "./Budget.ts"
export {
  BudgetError,
  BudgetExceeded,
  InvalidPrice,
  LimitName,
  refusalOf,
  toAiError,
  UnknownModel
} from "./BudgetError.ts"
export * as Meter from "./Meter.ts"
export * as Prices from "./Prices.ts"
export * as Usage from "./Usage.ts"
