/**
 * The embedded offline model: an `effect/ai` LanguageModel that needs no
 * network, no weights and no API key, so every Weft pipeline runs anywhere.
 *
 * It is extractive and deterministic, not generative. In text mode it reads
 * the numbered passages in its prompt (the `PassageFormat` convention, with
 * each passage's section title) and quotes the passage sentence that best
 * covers the question's content words — weighted by rarity, matching a
 * word's family and everyday synonyms — each cited `[n]`. A further sentence
 * joins only when it answers a part of the question the first leaves open,
 * continues it, or carries the number or span asked for. It replies exactly
 * `PassageFormat.UNANSWERED`, citing nothing, when the best sentence holds too
 * little of the question, lacks the kind of answer asked for, or misses what
 * the question is about (a topic word no passage names, or a phrase such as
 * "sick days" that its passage does not hold). In JSON mode (`generateObject`) it
 * fills the requested object from "Label: value" text in the prompt and
 * leaves out what it cannot find, so the Schema decode fails with a typed
 * `AiError`. Offered tools, it calls those the request clearly asks for whose
 * required parameters it can fill from the request (several at once for a
 * request of several parts), honouring the tool choice, and answers from the
 * tool results once the prompt holds them, quoting each and naming its tool
 * (`internal/tools.ts`); otherwise it answers as above. The same prompt always
 * gets the same answer; a repair turn (feedback after an earlier answer) gets
 * the answer to the original question again.
 *
 * Output stops at `maxOutputTokens` (finish reason `"length"` when cut): the
 * lower of the layer's setting and `Meter.MaxOutputTokens` for the call.
 * The layer is metered: inside a run every call is reserved and charged.
 * Usage is counted, not guessed: input is `Tokens.countPrompt` of the prompt,
 * output `Tokens.countText` of the answer.
 */
import { Effect, type Layer, type Schema } from "effect"
import { AiError, LanguageModel, type Model, type Prompt } from "effect/ai"
import { type Identity, maxOutputTokensOf } from "../budget/Meter.ts"
import { fillObject } from "./internal/fill.ts"
import { answerInSlices, readRequest, truncate } from "./internal/extractive.ts"
import { checkIdentity, languageModel, providerLayer, type Reply } from "./internal/parts.ts"
import { decideTools } from "./internal/tools.ts"
import { countPrompt, countText, messageText, warm } from "../text/Tokens.ts"

export interface Options {
  /** The model name reported in responses and as `Model.ModelName`; default `"weft-local"`. */
  readonly model?: string | undefined
  /** The most output tokens a call may produce (an integer ≥ 1); default 512. */
  readonly maxOutputTokens?: number | undefined
}

export const DEFAULT_MODEL = "weft-local"
export const DEFAULT_MAX_OUTPUT_TOKENS = 512

const identityOf = (options: Options | undefined): Identity => ({
  provider: "weft",
  model: options?.model ?? DEFAULT_MODEL,
  maxOutputTokens: options?.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS
})

/** The user messages' text, latest first, then the system messages': where JSON mode looks for values. */
const extractionText = (prompt: Prompt.Prompt): string => {
  const user: Array<string> = []
  const system: Array<string> = []
  for (const message of prompt.content) {
    if (message.role === "user") user.unshift(messageText(message))
    else if (message.role === "system") system.push(message.content)
  }
  return [...user, ...system].join("\n\n")
}

const jsonSchemaOf = (schema: Schema.Top) =>
  Effect.try({
    try: () => LanguageModel.defaultCodecTransformer(schema as Schema.Codec<unknown, unknown>).jsonSchema,
    catch: (error) =>
      AiError.make({
        module: "Local",
        method: "generateObject",
        reason: new AiError.UnsupportedSchemaError({
          description: error instanceof Error ? error.message : String(error)
        })
      })
  })

/**
 * Builds the Local `LanguageModel` service, unmetered (see `layer`); a
 * `maxOutputTokens` that is not an integer ≥ 1 fails with an `AiError` naming it.
 */
export const make = (options?: Options): Effect.Effect<LanguageModel.LanguageModel, AiError.AiError> => {
  const own = identityOf(options)
  const invalid = checkIdentity("Local", own)
  if (invalid !== undefined) return Effect.fail(invalid)

  const respond = Effect.fnUntraced(function* (provider: LanguageModel.ProviderOptions) {
    const limit = yield* Effect.withFiber((fiber) =>
      Effect.succeed(maxOutputTokensOf(fiber, own.maxOutputTokens))
    )
    const format = provider.responseFormat
    const tools = format.type === "text" ? decideTools(provider, limit) : undefined
    if (tools?._tag === "Refuse") {
      return yield* AiError.make({
        module: "Local",
        method: "generateText",
        reason: new AiError.InvalidRequestError({ parameter: "toolChoice", description: tools.description })
      })
    }
    if (tools?._tag === "Call") {
      const calls: Reply = {
        modelId: own.model,
        text: "",
        toolCalls: tools.calls,
        finishReason: "tool-calls",
        inputTokens: countPrompt(provider.prompt),
        outputTokens: countText(tools.calls.map((call) => call.name + JSON.stringify(call.params)).join(""))
      }
      return calls
    }
    let full: string
    if (tools?._tag === "Answer") full = tools.text
    else if (format.type === "json") {
      const jsonSchema = yield* jsonSchemaOf(format.schema)
      full = JSON.stringify(fillObject(jsonSchema, extractionText(provider.prompt)))
    } else {
      // In slices, yielding to the scheduler: a Ctrl-C lands while a thousand passages are read.
      full = yield* answerInSlices(readRequest(provider.prompt), limit)
    }
    const { text, truncated } = truncate(full, limit)
    const reply: Reply = {
      modelId: own.model,
      text,
      toolCalls: [],
      finishReason: truncated ? "length" : "stop",
      inputTokens: countPrompt(provider.prompt),
      outputTokens: countText(text)
    }
    return reply
  })

  return Effect.andThen(warm, languageModel(respond))
}

/**
 * Provides the Local model as `LanguageModel.LanguageModel`, metered, with its
 * `Model.ModelName` and `Model.ProviderName` ("weft").
 */
export const layer = (
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel | Model.ModelName | Model.ProviderName, AiError.AiError> =>
  providerLayer(make(options), identityOf(options))
