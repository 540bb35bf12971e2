/**
 * A test double for `effect/ai` LanguageModel: it plays back a script of
 * responses in order and records every prompt it was given.
 *
 * A script entry is a text answer, a JSON object, tool calls, a typed
 * failure, a delay (on the Effect clock, so `TestClock` can drive timeouts)
 * before another entry, or a function of the prompt that picks an entry.
 * When the script runs out the call fails with an `AiError` naming the call.
 * Usage defaults to what `Tokens` counts for the prompt and the answer.
 *
 * Kept lean: it runs in the per-run overhead benchmark, so a call does no
 * tracing of its own beyond what `LanguageModel` does.
 */
import { type Duration, Effect, Layer } from "effect"
import { AiError, type LanguageModel, type Prompt, type Response } from "effect/ai"
import { languageModel, providerLayer, type Reply, type ReplyToolCall } from "./internal/parts.ts"
import type { ModelSettingsShape } from "./ModelSettings.ts"
import { countPrompt, countText } from "../text/Tokens.ts"

/** Token usage a script entry reports instead of the counted default. */
export interface Usage {
  readonly inputTokens: number
  readonly outputTokens: number
}

export interface TextEntry {
  readonly text: string
  readonly usage?: Usage | undefined
  /** Default `"stop"`; e.g. `"length"` to play a cut-off answer. */
  readonly finishReason?: Response.FinishReason | undefined
}

/** A JSON answer, e.g. for `generateObject`: the object is sent as JSON text. */
export interface ObjectEntry {
  readonly object: unknown
  readonly usage?: Usage | undefined
}

export interface ToolCall {
  readonly name: string
  readonly params: unknown
  /** Default `call_<call number>_<index>`. */
  readonly id?: string | undefined
}

export interface ToolCallsEntry {
  readonly toolCalls: ReadonlyArray<ToolCall>
  /** Text the model says alongside the calls. */
  readonly text?: string | undefined
  readonly usage?: Usage | undefined
}

/** The call fails with this error (a bare reason is wrapped in an `AiError`). */
export interface FailEntry {
  readonly fail: AiError.AiError | AiError.AiErrorReason
}

/**
 * Sleeps on the Effect clock, then plays `reply`. (Not named `then`: an object
 * with a `then` function is a thenable, and a function entry would become one.)
 */
export interface DelayEntry {
  readonly delay: Duration.Input
  readonly reply: Entry
}

export type Entry =
  | string
  | TextEntry
  | ObjectEntry
  | ToolCallsEntry
  | FailEntry
  | DelayEntry
  /** Picks the entry from the prompt; `call` counts calls from 1. */
  | ((prompt: Prompt.Prompt, call: number) => Entry)

export interface Options {
  /** The model name set in `ModelSettings`; default `"scripted"`. */
  readonly model?: string | undefined
  /** Set in `ModelSettings`; default 1024. Scripted answers are played back as written, never cut. */
  readonly maxOutputTokens?: number | undefined
}

export interface ScriptedModel {
  /** Provides the model as `LanguageModel.LanguageModel` and sets `ModelSettings`. */
  readonly layer: Layer.Layer<LanguageModel.LanguageModel>
  /** The prompts of the calls made so far, in order. */
  readonly prompts: Effect.Effect<ReadonlyArray<Prompt.Prompt>>
  /** How many calls were made so far (including failed ones). */
  readonly calls: Effect.Effect<number>
}

const MODULE = "Scripted"

const failure = (error: AiError.AiError | AiError.AiErrorReason, method: string): AiError.AiError =>
  AiError.isAiError(error) ? error : AiError.make({ module: MODULE, method, reason: error })

const exhausted = (call: number, method: string): AiError.AiError =>
  AiError.make({
    module: MODULE,
    method,
    // Not retryable: another attempt would only find the script still empty.
    reason: new AiError.UnknownError({ description: `Scripted model has no response for call #${call}` })
  })

const reply = (
  prompt: Prompt.Prompt,
  text: string,
  toolCalls: ReadonlyArray<ReplyToolCall>,
  finishReason: Response.FinishReason,
  usage: Usage | undefined
): Reply => {
  let outputTokens = usage?.outputTokens
  if (outputTokens === undefined) {
    outputTokens = countText(text)
    for (const call of toolCalls) outputTokens += countText(call.name + JSON.stringify(call.params))
  }
  // No response-metadata part: decoding it would add to every call's cost.
  return {
    modelId: undefined,
    text,
    toolCalls,
    finishReason,
    inputTokens: usage?.inputTokens ?? countPrompt(prompt),
    outputTokens
  }
}

/** Plays one entry: a reply, a failure, or a sleep then another entry. */
const play = (
  entry: Entry,
  prompt: Prompt.Prompt,
  call: number,
  method: string
): Effect.Effect<Reply, AiError.AiError> => {
  if (typeof entry === "function") return play(entry(prompt, call), prompt, call, method)
  if (typeof entry === "string") return Effect.succeed(reply(prompt, entry, [], "stop", undefined))
  if ("fail" in entry) return Effect.fail(failure(entry.fail, method))
  if ("delay" in entry) {
    return Effect.andThen(Effect.sleep(entry.delay), play(entry.reply, prompt, call, method))
  }
  if ("toolCalls" in entry) {
    const toolCalls = entry.toolCalls.map((toolCall, i) => ({
      id: toolCall.id ?? `call_${call}_${i}`,
      name: toolCall.name,
      params: toolCall.params
    }))
    return Effect.succeed(reply(prompt, entry.text ?? "", toolCalls, "tool-calls", entry.usage))
  }
  if ("object" in entry) {
    const text = JSON.stringify(entry.object) ?? "null"
    return Effect.succeed(reply(prompt, text, [], "stop", entry.usage))
  }
  return Effect.succeed(reply(prompt, entry.text, [], entry.finishReason ?? "stop", entry.usage))
}

/**
 * Builds a scripted model. Each call (`generateText`, `generateObject` or
 * `streamText`) takes the next entry; the recordings are shared by every use
 * of the returned layer.
 */
export const make = (script: ReadonlyArray<Entry>, options?: Options): Effect.Effect<ScriptedModel> =>
  Effect.sync(() => {
    const settings: ModelSettingsShape = {
      model: options?.model ?? "scripted",
      maxOutputTokens: options?.maxOutputTokens ?? 1024
    }
    const prompts: Array<Prompt.Prompt> = []

    const next = (
      provider: LanguageModel.ProviderOptions,
      streaming: boolean
    ): Effect.Effect<Reply, AiError.AiError> =>
      Effect.suspend(() => {
        const method = streaming
          ? "streamText"
          : provider.responseFormat.type === "json"
            ? "generateObject"
            : "generateText"
        prompts.push(provider.prompt)
        const call = prompts.length
        const entry = script[call - 1]
        return entry === undefined
          ? Effect.fail(exhausted(call, method))
          : play(entry, provider.prompt, call, method)
      })

    return {
      layer: providerLayer(languageModel(next), settings),
      prompts: Effect.sync(() => prompts.slice()),
      calls: Effect.sync(() => prompts.length)
    }
  })

/** A scripted model's layer alone, when the test does not need the recordings. */
export const layer = (
  script: ReadonlyArray<Entry>,
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel> =>
  Layer.unwrap(Effect.map(make(script, options), (scripted) => scripted.layer))
