/**
 * The six-step pipeline every overhead variant runs, as plain functions each
 * library wraps in its own way: interpret the question, retrieve passages,
 * assemble the prompt, one model call, a grounding check of the answer's
 * citations, store the answer. The model replies with `reply` at once, so a
 * variant's time is its library's machinery, not the work.
 */
import { Result } from "effect"
import { Validator } from "../../src/validation/index.ts"

export const question = "  How are budgets checked?  "

export const passages: ReadonlyArray<string> = [
  "Budgets are reserved before each call.",
  "Steps retry on a Schedule."
]

/** What every mock model answers, and the usage it reports. */
export const reply = {
  text: "Budgets are reserved before each call [1].",
  usage: { inputTokens: 40, outputTokens: 10 }
} as const

export const interpret = (q: string): string => q.trim()

export const retrieve = (_q: string): ReadonlyArray<string> => passages

export const assemble = (q: string, ps: ReadonlyArray<string>): string =>
  `${ps.map((p, i) => `[${i + 1}] ${p}`).join("\n")}\n\nQuestion: ${q}`

/** The same check `Validator.validate` runs, for the peers that are not Effect programs. */
export const grounded = Validator.grounded(passages.length)

export const checkGrounded = (text: string): ReadonlyArray<number> => {
  const result = grounded(text)
  if (Result.isFailure(result)) throw new Error(result.failure.map((issue) => issue.message).join("; "))
  return result.success
}

let stored = 0
export const store = (_text: string): void => {
  stored++
}
export const storedCount = (): number => stored
