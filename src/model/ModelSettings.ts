/**
 * The settings of the model a call goes to: its name (the key of the price
 * table) and the most output tokens a call may produce.
 *
 * `effect/ai` leaves both to each provider's own config; Weft needs them in one
 * place so the Budget can reserve a call's worst case before it is made. Each
 * provider layer sets them; a caller can narrow `maxOutputTokens` around one
 * call with `Effect.provideService(ModelSettings, …)`.
 */
import { Context, Layer } from "effect"

export interface ModelSettingsShape {
  /** The model's name, as the price table knows it. */
  readonly model: string
  /** The most output tokens one call may produce; providers stop there. */
  readonly maxOutputTokens: number
}

/**
 * Sets the model settings, for a provider that does not set them itself (the
 * Budget prices calls by `model` and reserves `maxOutputTokens` per call).
 */
export const layer = (settings: ModelSettingsShape): Layer.Layer<never> =>
  Layer.succeed(ModelSettings, settings)

export const ModelSettings = Context.Reference<ModelSettingsShape>("weft/model/ModelSettings", {
  defaultValue: () => ({ model: "unknown", maxOutputTokens: 1024 })
})
