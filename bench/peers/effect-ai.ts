/**
 * The effect/ai peer: a bare `LanguageModel.make` model that answers at once
 * with the same reply (a text part and a finish part with usage), with no
 * Weft provider, metering, budget or trace around it. The pipeline over it is
 * the plain `Effect.gen` one in overhead.ts, so this variant is what effect/ai
 * itself costs, the floor Weft builds on.
 */
import { Effect, Layer, Stream } from "effect"
import { LanguageModel, type Response } from "effect/ai"
import { reply } from "./operations.ts"

const parts: Array<Response.PartEncoded> = [
  { type: "text", text: reply.text },
  {
    type: "finish",
    reason: "stop",
    usage: {
      inputTokens: { total: reply.usage.inputTokens },
      outputTokens: { total: reply.usage.outputTokens }
    }
  }
]

/** The mock model, as effect/ai's own tests build one. */
export const layer: Layer.Layer<LanguageModel.LanguageModel> = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: () => Effect.succeed(parts),
    streamText: () => Stream.fromArray(parts as Array<Response.StreamPartEncoded>)
  })
)
