/**
 * Which model the examples run on: the OpenAI provider when the environment
 * asks for it (`OPENAI_API_KEY` or `OPENAI_BASE_URL` set; the model from
 * `WEFT_MODEL`, default `gpt-4.1-mini`), else the offline Local model. The
 * OpenAI provider (and its SDK) is imported only when asked for, so an
 * offline run starts as fast as before.
 *
 *   OPENAI_API_KEY=sk-… npm start
 *   OPENAI_BASE_URL=http://127.0.0.1:11434/v1 WEFT_MODEL=llama3.2 npm start
 */
import { Effect, type Layer } from "effect"
import type { AiError, LanguageModel, Model } from "effect/ai"
import type { Identity } from "../src/budget/Meter.ts"
import { Local } from "../src/model/index.ts"
import { DEFAULT_MODEL, isConfigured } from "../src/model/openai/Config.ts"

export interface ExampleModel {
  /** `"openai"` or `"weft"` (Local). */
  readonly provider: string
  readonly model: string
  /** What the example prints after "Model:", e.g. `gpt-4.1-mini (openai, https://api.openai.com/v1)`. */
  readonly description: string
  /** Whether the model runs on this machine with no network. */
  readonly offline: boolean
  /** The model, metered, with its name. */
  readonly layer: Layer.Layer<
    LanguageModel.LanguageModel | Model.ModelName | Model.ProviderName,
    AiError.AiError
  >
  /** The model unmetered (for an example that meters it itself), and the identity to meter it under. */
  readonly unmetered: Effect.Effect<LanguageModel.LanguageModel, AiError.AiError>
  readonly identity: Identity
}

export interface ChooseOptions {
  /** What the Local model says of itself, e.g. "offline, extractive". */
  readonly localNote?: string | undefined
  readonly maxOutputTokens?: number | undefined
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

/** Where an OpenAI-compatible server is, as the examples show it (scheme, host and path; never a key). */
const shownUrl = (url: string | undefined): string => {
  if (url === undefined || url === "") return "https://api.openai.com/v1"
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/$/, "")}`
  } catch {
    return "(unreadable OPENAI_BASE_URL)"
  }
}

/** The model the environment asks for. */
export const chooseModel = (options: ChooseOptions = {}): Effect.Effect<ExampleModel> => {
  const env = options.env ?? process.env
  if (!isConfigured(env)) {
    const local = { maxOutputTokens: options.maxOutputTokens }
    const model = Local.DEFAULT_MODEL
    return Effect.succeed({
      provider: "weft",
      model,
      description: `${model} (${options.localNote ?? "offline, extractive"})`,
      offline: true,
      layer: Local.layer(local),
      unmetered: Local.make(local),
      identity: {
        provider: "weft",
        model,
        maxOutputTokens: options.maxOutputTokens ?? Local.DEFAULT_MAX_OUTPUT_TOKENS
      }
    })
  }
  const model = env.WEFT_MODEL !== undefined && env.WEFT_MODEL !== "" ? env.WEFT_MODEL : DEFAULT_MODEL
  return Effect.map(
    Effect.promise(() => import("../src/model/OpenAi.ts")),
    (OpenAi): ExampleModel => {
      const modelOptions = { model, maxOutputTokens: options.maxOutputTokens }
      return {
        provider: OpenAi.PROVIDER,
        model,
        description: `${model} (${OpenAi.PROVIDER}, ${shownUrl(env.OPENAI_BASE_URL)})`,
        offline: false,
        layer: OpenAi.layerFromEnv(modelOptions),
        unmetered: Effect.provide(OpenAi.make(modelOptions), OpenAi.layerClientFromEnv()),
        identity: {
          provider: OpenAi.PROVIDER,
          model,
          maxOutputTokens: options.maxOutputTokens ?? OpenAi.DEFAULT_MAX_OUTPUT_TOKENS
        }
      }
    }
  )
}
