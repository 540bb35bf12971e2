/**
 * Encodes a finished reply as the `effect/ai` Response parts a provider hands
 * to `LanguageModel.make`: whole parts for `generateText`, and
 * text-start / text-delta / text-end parts for `streamText`; and the
 * `LanguageModel` and layer shell around a function that produces replies.
 */
import { Effect, Layer, Stream } from "effect"
import { AiError, LanguageModel, Model, type Response } from "effect/ai"
import { checkInteger } from "../../core/InvalidOption.ts"
import { type Identity, metered } from "../../budget/Meter.ts"

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
  /** Of `inputTokens`, those read from a prompt cache (reported as `cacheRead`). */
  readonly cachedInputTokens?: number | undefined
}

const finish = (reply: Reply): Response.FinishPartEncoded => ({
  type: "finish",
  reason: reply.finishReason,
  usage: {
    inputTokens:
      reply.cachedInputTokens === undefined
        ? { total: reply.inputTokens }
        : { total: reply.inputTokens, cacheRead: reply.cachedInputTokens },
    outputTokens: { total: reply.outputTokens }
  }
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

/**
 * Provides a provider's model, metered (every call reserved and settled
 * against the calling fiber's budget under `identity`), with the effect/ai
 * `Model.ModelName` and `Model.ProviderName` it answers under.
 */
export const providerLayer = <E>(
  model: Effect.Effect<LanguageModel.LanguageModel, E>,
  identity: Identity
): Layer.Layer<LanguageModel.LanguageModel | Model.ModelName | Model.ProviderName, E> =>
  Layer.mergeAll(
    Layer.effect(
      LanguageModel.LanguageModel,
      Effect.map(model, (service) => metered(service, identity))
    ),
    Layer.succeed(Model.ModelName, identity.model),
    Layer.succeed(Model.ProviderName, identity.provider)
  )

/** An `AiError` naming `maxOutputTokens` when it is not an integer ≥ 1. */
export const checkIdentity = (module: string, identity: Identity): AiError.AiError | undefined => {
  const invalid = checkInteger("maxOutputTokens", identity.maxOutputTokens, 1)
  return invalid === undefined
    ? undefined
    : AiError.make({
        module,
        method: "layer",
        reason: new AiError.InvalidUserInputError({ description: invalid.message })
      })
}
