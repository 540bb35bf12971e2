/**
 * Encodes a finished reply as the `effect/ai` Response parts a provider hands
 * to `LanguageModel.make`: whole parts for `generateText`, and
 * text-start / text-delta / text-end parts for `streamText`.
 */
import type { Response } from "effect/ai"

export interface ReplyToolCall {
  readonly id: string
  readonly name: string
  readonly params: unknown
}

export interface Reply {
  /** Reported in a `response-metadata` part when set (it costs a part to decode per call). */
  readonly modelId: string | undefined
  readonly text: string
  readonly toolCalls: ReadonlyArray<ReplyToolCall>
  readonly finishReason: Response.FinishReason
  readonly inputTokens: number
  readonly outputTokens: number
}

const finish = (reply: Reply): Response.FinishPartEncoded => ({
  type: "finish",
  reason: reply.finishReason,
  usage: { inputTokens: { total: reply.inputTokens }, outputTokens: { total: reply.outputTokens } }
})

const toolCallParts = (reply: Reply): Array<Response.ToolCallPartEncoded> =>
  reply.toolCalls.map((call) => ({ type: "tool-call", id: call.id, name: call.name, params: call.params }))

/** The parts of a reply, for `generateText`. */
export const toParts = (reply: Reply): Array<Response.PartEncoded> => {
  const parts: Array<Response.PartEncoded> = []
  if (reply.modelId !== undefined) parts.push({ type: "response-metadata", modelId: reply.modelId })
  if (reply.text.length > 0) parts.push({ type: "text", text: reply.text })
  parts.push(...toolCallParts(reply), finish(reply))
  return parts
}

/** A text cut into word-sized deltas (each word with the whitespace after it). */
export const deltas = (text: string): Array<string> => text.split(/(?<=\s)(?=\S)/)

/** The parts of a reply, for `streamText`. */
export const toStreamParts = (reply: Reply): Array<Response.StreamPartEncoded> => {
  const parts: Array<Response.StreamPartEncoded> = []
  if (reply.modelId !== undefined) parts.push({ type: "response-metadata", modelId: reply.modelId })
  if (reply.text.length > 0) {
    const id = "text-0"
    parts.push({ type: "text-start", id })
    for (const delta of deltas(reply.text)) parts.push({ type: "text-delta", id, delta })
    parts.push({ type: "text-end", id })
  }
  parts.push(...toolCallParts(reply), finish(reply))
  return parts
}
