/**
 * The price table: USD per million input and output tokens, by model name.
 *
 * The Budget prices every call from it, before the call (the reservation) and
 * after (the settlement). A model missing from the table is an error, never a
 * silent zero when a cost limit is set: add it with
 * `Budget.layer(limits, { prices: { … } })`. Without a cost limit an unpriced
 * model is charged no cost and its tokens are still counted.
 * The OpenAI figures are list prices as published in 2025; override them when
 * yours differ.
 */
import { type BudgetError, fail, InvalidPrice } from "./BudgetError.ts"

export interface Price {
  /** USD per million input (prompt) tokens. */
  readonly inputPerMillion: number
  /** USD per million output (completion) tokens. */
  readonly outputPerMillion: number
}

export type PriceTable = Readonly<Record<string, Price>>

export const defaultPrices: PriceTable = {
  "weft-local": { inputPerMillion: 0, outputPerMillion: 0 },
  scripted: { inputPerMillion: 0, outputPerMillion: 0 },
  "gpt-4o": { inputPerMillion: 2.5, outputPerMillion: 10 },
  "gpt-4o-mini": { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  "gpt-4.1": { inputPerMillion: 2, outputPerMillion: 8 },
  "gpt-4.1-mini": { inputPerMillion: 0.4, outputPerMillion: 1.6 },
  "gpt-4.1-nano": { inputPerMillion: 0.1, outputPerMillion: 0.4 },
  "gpt-5": { inputPerMillion: 1.25, outputPerMillion: 10 },
  "gpt-5-mini": { inputPerMillion: 0.25, outputPerMillion: 2 },
  "gpt-5-nano": { inputPerMillion: 0.05, outputPerMillion: 0.4 },
  "o4-mini": { inputPerMillion: 1.1, outputPerMillion: 4.4 }
}

/** The cost in USD of a number of input and output tokens at a price. */
export const costOf = (price: Price, inputTokens: number, outputTokens: number): number =>
  (inputTokens * price.inputPerMillion + outputTokens * price.outputPerMillion) / 1_000_000

/** Merges overrides over the defaults, refusing negative or non-finite prices. */
export const resolvePrices = (overrides: PriceTable | undefined): PriceTable | BudgetError => {
  if (overrides === undefined) return defaultPrices
  for (const [model, price] of Object.entries(overrides)) {
    for (const [field, value] of Object.entries(price)) {
      if (!Number.isFinite(value) || value < 0) {
        return fail(new InvalidPrice({ model, field, value: String(value) }))
      }
    }
  }
  return { ...defaultPrices, ...overrides }
}
