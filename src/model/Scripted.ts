/**
 * A test double for `effect/ai` LanguageModel: it plays back a script of
 * responses in order and records every prompt it was given.
 *
 * A script entry is a text answer, a JSON object, tool calls, a typed
 * failure, a delay (on the Effect clock, so `TestClock` can drive timeouts)
 * before another entry, a function of the prompt that picks an entry, or a
 * repeat (one entry played for many calls, or for every call from there on).
 * When the script runs out the call fails with an `AiError` naming the call.
 * Usage defaults to what `Tokens` counts for the prompt and the answer.
 * Like every Weft provider its layer is metered.
 *
 * Kept lean for benches and long tests: a call does no tracing of its own
 * beyond what `LanguageModel` does, and prompt recording can be turned off
 * (`record: false`) so a long run keeps no prompts.
 */
import { type Duration, Effect, Layer } from "effect"
import { AiError, type LanguageModel, type Model, type Prompt, type Response } from "effect/ai"
import {
  checkIdentity,
  languageModel,
  providerLayer,
  type Reply,
  type ReplyToolCall
} from "./internal/parts.ts"
import type { Identity } from "../budget/Meter.ts"
import type { Usage } from "../budget/Usage.ts"
import { countPrompt, countText, warm } from "../text/Tokens.ts"

/** Token usage a script entry reports instead of the counted default: the Budget's own `Usage`. */
export type { Usage } from "../budget/Usage.ts"

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

/** Plays `entry` for `times` calls in a row (for every call from here on when `times` is left out). */
export interface RepeatEntry {
  readonly repeat: Entry
  readonly times?: number | undefined
}

export type Entry =
  | string
  | TextEntry
  | ObjectEntry
  | ToolCallsEntry
  | FailEntry
  | DelayEntry
  | RepeatEntry
  /** Picks the entry from the prompt; `call` counts calls from 1. */
  | ((prompt: Prompt.Prompt, call: number) => Entry)

export interface Options {
  /** The model name (`Model.ModelName`, the price table's key); default `"scripted"`. */
  readonly model?: string | undefined
  /** What a call reserves for its output; default 1024. Scripted answers are played back as written, never cut. */
  readonly maxOutputTokens?: number | undefined
  /** Keep every prompt for `prompts` (default `true`); `false` keeps none (benches, long tests). */
  readonly record?: boolean | undefined
}

export interface ScriptedModel {
  /** Provides the model as `LanguageModel.LanguageModel` (metered), with its `Model.ModelName`. */
  readonly layer: Layer.Layer<
    LanguageModel.LanguageModel | Model.ModelName | Model.ProviderName,
    AiError.AiError
  >
  /** The prompts of the calls made so far, in order (empty when recording is off). */
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
    outputTokens,
    ...(usage?.cachedInputTokens === undefined ? {} : { cachedInputTokens: usage.cachedInputTokens })
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
  if ("repeat" in entry) return play(entry.repeat, prompt, call, method)
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
    const identity: Identity = {
      provider: "scripted",
      model: options?.model ?? "scripted",
      maxOutputTokens: options?.maxOutputTokens ?? 1024
    }
    const record = options?.record ?? true
    const prompts: Array<Prompt.Prompt> = []
    let calls = 0
    // Where the script stands: the entry at `position`, played `played` times so far.
    let position = 0
    let played = 0
    const nextEntry = (): Entry | undefined => {
      for (;;) {
        const entry = script[position]
        if (entry === undefined) return undefined
        if (typeof entry === "object" && "repeat" in entry) {
          if (entry.times === undefined || played < entry.times) {
            played++
            return entry.repeat
          }
          position++
          played = 0
          continue
        }
        position++
        return entry
      }
    }

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
        if (record) prompts.push(provider.prompt)
        const call = ++calls
        const entry = nextEntry()
        return entry === undefined
          ? Effect.fail(exhausted(call, method))
          : play(entry, provider.prompt, call, method)
      })

    const invalid = checkIdentity(MODULE, identity)
    return {
      // The token table is built when the layer is (interruptibly), not inside the first metered call.
      layer: providerLayer(
        invalid === undefined ? Effect.andThen(warm, languageModel(next)) : Effect.fail(invalid),
        identity
      ),
      prompts: Effect.sync(() => prompts.slice()),
      calls: Effect.sync(() => calls)
    }
  })

/** A scripted model's layer alone, when the test does not need the recordings. */
export const layer = (
  script: ReadonlyArray<Entry>,
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel | Model.ModelName | Model.ProviderName, AiError.AiError> =>
  Layer.unwrap(Effect.map(make(script, options), (scripted) => scripted.layer))
