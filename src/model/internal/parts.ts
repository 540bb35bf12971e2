/**
 * Encodes a finished reply as the `effect/ai` Response parts a provider hands
 * to `LanguageModel.make`: whole parts for `generateText`, and
 * text-start / text-delta / text-end parts for `streamText`; and the
 * `LanguageModel` and layer shell around a function that produces replies.
 */
import { Effect, Layer, Stream } from "effect"
import { type AiError, LanguageModel, type Response } from "effect/ai"
import { ModelSettings, type ModelSettingsShape } from "../ModelSettings.ts"

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

/**
 * A `LanguageModel` that answers every call (whole or streamed) with the reply
 * `respond` gives: the shell both Weft providers share.
 */
export const languageModel = (
  respond: (
    provider: LanguageModel.ProviderOptions,
    streaming: boolean
  ) => Effect.Effect<Reply, AiError.AiError>
): Effect.Effect<LanguageModel.LanguageModel> =>
  LanguageModel.make({
    generateText: (provider) => Effect.map(respond(provider, false), toParts),
    streamText: (provider) =>
      Stream.unwrap(Effect.map(respond(provider, true), (reply) => Stream.fromArray(toStreamParts(reply))))
  })

/** Provides a provider's model and the `ModelSettings` it answers under. */
export const providerLayer = (
  model: Effect.Effect<LanguageModel.LanguageModel>,
  settings: ModelSettingsShape
): Layer.Layer<LanguageModel.LanguageModel> =>
  Layer.merge(Layer.effect(LanguageModel.LanguageModel, model), Layer.succeed(ModelSettings, settings))
