/** Budgets: per-run limits reserved before each call and settled after, with usage reports. */
export * as Budget from "./Budget.ts"
export { BudgetError, BudgetExceeded, LimitName } from "./BudgetError.ts"
export * as Prices from "./Prices.ts"
