/**
 * The task every agent bench variant performs, so only the framework differs:
 * a model that asks for one `add` tool call per step until it has seen three
 * tool results, then answers; the tool adds two numbers. Each model decides
 * from the conversation it is given (how many tool results it holds), as a
 * real model does, so many runs at once never share a position in a script.
 */

export const QUESTION = "Add 1 and 2, then add 3, then add 4."
export const TOOL_CALLS = 3
export const ANSWER = "The total is 10."

/** The arguments of the n-th call (from 0). */
export const argsOf = (n: number): { readonly a: number; readonly b: number } => ({ a: n + 1, b: n + 2 })

export const add = (args: { readonly a: number; readonly b: number }): number => args.a + args.b

/** Tokens each variant's model reports per call. */
export const USAGE = { inputTokens: 40, outputTokens: 12 } as const
