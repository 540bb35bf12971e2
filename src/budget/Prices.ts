/**
 * The price table: USD per million input and output tokens, by model name.
 *
 * The Budget prices every call from it, before the call (the reservation) and
 * after (the settlement). A model missing from the table is an error, never a
 * silent zero when a cost limit is set: add it with
 * `Budget.layer(limits, { prices: { … } })`. Without a cost limit an unpriced
 * model is charged no cost and its tokens are still counted.
 * The OpenAI figures are list prices (standard tier) as published in late
 * 2025, with the cached-input price where OpenAI gives one; override them
 * when yours differ. A model served by an OpenAI-compatible server (Ollama,
 * vLLM) is usually free: price it `{ inputPerMillion: 0, outputPerMillion: 0 }`
 * if you set a cost limit.
 */
import { type BudgetError, fail, InvalidPrice } from "./BudgetError.ts"

export interface Price {
  /** USD per million input (prompt) tokens. */
  readonly inputPerMillion: number
  /** USD per million output (completion) tokens. */
  readonly outputPerMillion: number
  /** USD per million input tokens read from the provider's prompt cache (default: the input price). */
  readonly cachedInputPerMillion?: number | undefined
}

export type PriceTable = Readonly<Record<string, Price>>

const openai = (input: number, cached: number | undefined, output: number): Price =>
  cached === undefined
    ? { inputPerMillion: input, outputPerMillion: output }
    : { inputPerMillion: input, cachedInputPerMillion: cached, outputPerMillion: output }

export const defaultPrices: PriceTable = {
  "weft-local": { inputPerMillion: 0, outputPerMillion: 0 },
  scripted: { inputPerMillion: 0, outputPerMillion: 0 },
  // OpenAI: input, cached input, output (USD per 1M tokens).
  "gpt-5.1": openai(1.25, 0.125, 10),
  "gpt-5": openai(1.25, 0.125, 10),
  "gpt-5-mini": openai(0.25, 0.025, 2),
  "gpt-5-nano": openai(0.05, 0.005, 0.4),
  "gpt-5-chat-latest": openai(1.25, 0.125, 10),
  "gpt-5-pro": openai(15, undefined, 120),
  "gpt-4.1": openai(2, 0.5, 8),
  "gpt-4.1-mini": openai(0.4, 0.1, 1.6),
  "gpt-4.1-nano": openai(0.1, 0.025, 0.4),
  "gpt-4o": openai(2.5, 1.25, 10),
  "gpt-4o-mini": openai(0.15, 0.075, 0.6),
  o3: openai(2, 0.5, 8),
  "o3-pro": openai(20, undefined, 80),
  "o3-mini": openai(1.1, 0.55, 4.4),
  "o4-mini": openai(1.1, 0.275, 4.4),
  o1: openai(15, 7.5, 60),
  "text-embedding-3-small": openai(0.02, undefined, 0),
  "text-embedding-3-large": openai(0.13, undefined, 0),
  "text-embedding-ada-002": openai(0.1, undefined, 0)
}

/**
 * The cost in USD of a number of input and output tokens at a price;
 * `cachedInputTokens` (part of `inputTokens`) are charged the cached price.
 */
export const costOf = (
  price: Price,
  inputTokens: number,
  outputTokens: number,
  cachedInputTokens = 0
): number => {
  const cached = Math.min(Math.max(0, cachedInputTokens), inputTokens)
  const cachedPrice = price.cachedInputPerMillion ?? price.inputPerMillion
  return (
    ((inputTokens - cached) * price.inputPerMillion +
      cached * cachedPrice +
      outputTokens * price.outputPerMillion) /
    1_000_000
  )
}

/** Merges overrides over the defaults, refusing negative or non-finite prices. */
export const resolvePrices = (overrides: PriceTable | undefined): PriceTable | BudgetError => {
  if (overrides === undefined) return defaultPrices
  for (const [model, price] of Object.entries(overrides)) {
    for (const [field, value] of Object.entries(price)) {
      if (field === "cachedInputPerMillion" && value === undefined) continue
      if (!Number.isFinite(value) || value < 0) {
        return fail(new InvalidPrice({ model, field, value: String(value) }))
      }
    }
  }
  return { ...defaultPrices, ...overrides }
}
