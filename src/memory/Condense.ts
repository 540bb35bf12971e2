/**
 * Condensation: keeping a long session's history under a token budget by
 * having the model summarise its older turns.
 *
 * When a session's history passes `maxTokens`, every message before its last
 * `keepLastTurns` turns is summarised (by the effect/ai `LanguageModel` in
 * context — Weft's Local model offline — or by the caller's `summarize`) and
 * replaced, through the store's atomic `replaceOldest`, by one system message
 * holding the summary. A turn starts at a user message and runs to the next
 * one, so a tool call and its result always stay on the same side of the cut.
 * The summary is given only the tokens the budget leaves after the kept turns
 * (also as the call's output limit, `Meter.MaxOutputTokens`) and cut to them
 * if it says more, so the condensed history always fits. A model failure
 * leaves the history as it was; messages appended while the model writes stay
 * after the summary.
 *
 * `Memory.condense` (in `Memory.ts`) is the entry point; this module holds the
 * work, over a `MemoryService` value, so it needs nothing of Memory at load.
 */
import { Effect, Schema } from "effect"
import { AiError, LanguageModel, Prompt } from "effect/ai"
import { MaxOutputTokens } from "../budget/Meter.ts"
import { checkInteger, InvalidOption, show } from "../core/InvalidOption.ts"
import { countMessage, countText, cutToTokens } from "../text/Tokens.ts"
import type { MemoryService, OPTIONS_KEY } from "./Memory.ts"
import { MemoryError } from "./MemoryError.ts"

/** What a summariser is asked to summarise. */
export interface SummaryRequest {
  readonly sessionId: string
  /** The messages being replaced, oldest first (an earlier summary among them). */
  readonly messages: ReadonlyArray<Prompt.Message>
  /** The most tokens the summary's text may take; a longer one is cut to this. */
  readonly maxTokens: number
}

/** Writes the summary text of older messages. */
export type Summarize<R = never> = (request: SummaryRequest) => Effect.Effect<string, AiError.AiError, R>

export interface CondenseOptions<R = LanguageModel.LanguageModel> {
  /**
   * The history's budget in tokens, as `Memory.history({ maxTokens })` counts
   * them (text plus `Tokens.MESSAGE_OVERHEAD_TOKENS` a message): an integer ≥ 1.
   * Nothing happens while the history fits.
   */
  readonly maxTokens: number
  /** The newest turns kept verbatim: an integer ≥ 0; default 2. A turn is a user message and what answers it. */
  readonly keepLastTurns?: number | undefined
  /** Writes the summary; default `summarizeWithModel` (the `LanguageModel` in context). */
  readonly summarize?: Summarize<R> | undefined
}

/** What `condense` did; `condensed: 0` when the history already fitted. */
export const CondenseReport = Schema.Struct({
  /** Messages replaced by the summary (0: nothing was done). */
  condensed: Schema.Number,
  /** Messages kept verbatim after the summary (the last turns). */
  kept: Schema.Number,
  /** The history's tokens before. */
  tokensBefore: Schema.Number,
  /**
   * The tokens of the history condensation wrote: the summary message plus the
   * kept turns, at most `maxTokens`. Messages appended while the summary was
   * being written come on top.
   */
  tokensAfter: Schema.Number,
  /** The summary message's tokens (0 when nothing was done). */
  summaryTokens: Schema.Number,
  /** Whether the summary said more than its share of the budget and was cut. */
  truncated: Schema.Boolean
})
export type CondenseReport = typeof CondenseReport.Type

/** Turns kept when `keepLastTurns` is left out. */
export const DEFAULT_KEEP_LAST_TURNS = 2

const SUMMARY_HEADING = "Summary of the earlier conversation:"
// Memory.OPTIONS_KEY, written out so this module needs nothing of Memory.ts at load (it imports this one).
const WEFT_KEY: typeof OPTIONS_KEY = "weft"

const SUMMARY_INSTRUCTIONS =
  "You condense conversations. Summarise the conversation you are given so that it can stand in for it: " +
  "keep the facts, decisions, names, numbers, tool results and open questions a later turn may need. " +
  "Reply with the summary only, in plain sentences."

/** The summary message that stands in for `condensed` older messages. */
export const summaryMessage = (summary: string, condensed: number): Prompt.SystemMessage =>
  Prompt.systemMessage({
    content: `${SUMMARY_HEADING}\n${summary}`,
    options: { [WEFT_KEY]: { summaryOf: condensed } }
  })

/** Whether a message is a summary `condense` wrote. */
export const isSummary = (message: Prompt.Message): boolean => {
  const own = message.options[WEFT_KEY] as { readonly summaryOf?: unknown } | undefined
  return message.role === "system" && typeof own?.summaryOf === "number"
}

/** One message as a line of a transcript, its blank lines folded so it stays one paragraph. */
const transcriptLine = (message: Prompt.Message): string => {
  const fold = (text: string) => text.replace(/\s*\n\s*\n\s*/g, "\n").trim()
  if (message.role === "system") {
    return isSummary(message)
      ? `Earlier summary: ${fold(message.content.slice(SUMMARY_HEADING.length))}`
      : `System: ${fold(message.content)}`
  }
  const said: Array<string> = []
  for (const part of message.content) {
    switch (part.type) {
      case "text":
        said.push(fold(part.text))
        break
      case "tool-call":
        said.push(`(called the tool ${part.name} with ${JSON.stringify(part.params) ?? "nothing"})`)
        break
      case "tool-result":
        said.push(
          `The tool ${part.name} ${part.isFailure ? "failed with" : "returned"} ${JSON.stringify(part.result) ?? "nothing"}.`
        )
        break
      case "file":
        said.push(`(a file, ${part.mediaType})`)
        break
      default:
        break
    }
  }
  const who = message.role === "user" ? "User" : message.role === "assistant" ? "Assistant" : "Tool"
  return `${who}: ${said.join(" ")}`
}

/**
 * The default summariser: one `LanguageModel.generateText` call (metered like
 * any other, so a run's Budget reserves and charges it). The prompt is a
 * system instruction and a user message whose first paragraph asks for the
 * summary and whose next paragraphs are the transcript, one message each —
 * the shape the Local model summarises offline.
 */
export const summarizeWithModel: Summarize<LanguageModel.LanguageModel> = (request) =>
  Effect.map(
    LanguageModel.generateText({
      prompt: Prompt.fromMessages([
        Prompt.systemMessage({ content: SUMMARY_INSTRUCTIONS }),
        Prompt.userMessage({
          content: [
            Prompt.textPart({
              text: [
                `Summarise this conversation in at most ${request.maxTokens} tokens:`,
                ...request.messages.map(transcriptLine)
              ].join("\n\n")
            })
          ]
        })
      ])
    }),
    (response) => response.text
  )

const invalid = (reason: InvalidOption) => new MemoryError({ reason })

const sumTokens = (messages: ReadonlyArray<Prompt.Message>, from: number, to: number): number => {
  let total = 0
  for (let i = from; i < to; i++) total += countMessage(messages[i]!)
  return total
}

/**
 * Where the last `turns` turns start: the index of the `turns`-th user message
 * from the end (the history's length for 0 turns, 0 when it has fewer).
 */
const keptFrom = (messages: ReadonlyArray<Prompt.Message>, turns: number): number => {
  if (turns === 0) return messages.length
  let seen = 0
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === "user" && ++seen === turns) return i
  }
  return 0
}

/**
 * Condenses the session's history to `maxTokens` (see the module comment).
 * Fails with `MemoryError` reason `InvalidOption` for a bad option, or naming
 * `maxTokens` when the kept turns leave no room for a summary (the history is
 * then left as it was); with the summariser's `AiError` when it fails (the
 * history likewise unchanged), or an `AiError` when it writes nothing.
 */
export const condense = <R = LanguageModel.LanguageModel>(
  memory: MemoryService,
  sessionId: string,
  options: CondenseOptions<R>
): Effect.Effect<CondenseReport, MemoryError | AiError.AiError, R> =>
  Effect.gen(function* () {
    const { maxTokens } = options
    const keepLastTurns = options.keepLastTurns ?? DEFAULT_KEEP_LAST_TURNS
    const bad =
      checkInteger("maxTokens", maxTokens, 1) ??
      checkInteger("keepLastTurns", keepLastTurns, 0) ??
      (options.summarize === undefined || typeof options.summarize === "function"
        ? undefined
        : new InvalidOption({ option: "summarize", value: show(options.summarize), expected: "a function" }))
    if (bad !== undefined) return yield* invalid(bad)

    const messages = yield* memory.history(sessionId)
    const tokensBefore = sumTokens(messages, 0, messages.length)
    if (tokensBefore <= maxTokens) {
      return {
        condensed: 0,
        kept: messages.length,
        tokensBefore,
        tokensAfter: tokensBefore,
        summaryTokens: 0,
        truncated: false
      }
    }

    const cut = keptFrom(messages, keepLastTurns)
    const keptTokens = sumTokens(messages, cut, messages.length)
    // What the summary's text may take: the budget less the kept turns and the summary message's own cost.
    const room = maxTokens - keptTokens - countMessage(summaryMessage("", cut))
    if (cut === 0 || room < 1) {
      const needs = keptTokens + countMessage(summaryMessage("", cut)) + 1
      return yield* invalid(
        new InvalidOption({
          option: "maxTokens",
          value: String(maxTokens),
          expected:
            cut === 0
              ? `at least ${tokensBefore} for session ${JSON.stringify(sessionId)}: it has no more than ` +
                `${keepLastTurns} turns (keepLastTurns), so nothing can be condensed`
              : `at least ${needs} for session ${JSON.stringify(sessionId)}: its last ${keepLastTurns} turns ` +
                `(keepLastTurns), kept verbatim, take ${keptTokens} tokens, leaving no room for a summary`
        })
      )
    }

    const summarize = (options.summarize ?? summarizeWithModel) as Summarize<R>
    const written = yield* summarize({ sessionId, messages: messages.slice(0, cut), maxTokens: room }).pipe(
      Effect.provideService(MaxOutputTokens, room)
    )
    const text = written.trim()
    if (text.length === 0) {
      return yield* AiError.make({
        module: "Memory",
        method: "condense",
        reason: new AiError.InvalidOutputError({
          description: `The summary of session ${JSON.stringify(sessionId)}'s ${cut} oldest messages is empty`
        })
      })
    }
    let said = countText(text) > room ? cutToTokens(text, room) : text
    let summary = summaryMessage(said, cut)
    // Tokens need not add up across the heading's seam: cut further until the whole message fits.
    for (let share = room - 1; share >= 0 && countMessage(summary) + keptTokens > maxTokens; share--) {
      said = cutToTokens(text, share)
      summary = summaryMessage(said, cut)
    }
    const truncated = said !== text
    yield* memory.replaceOldest(sessionId, cut, [summary])
    const summaryTokens = countMessage(summary)
    return {
      condensed: cut,
      kept: messages.length - cut,
      tokensBefore,
      tokensAfter: summaryTokens + keptTokens,
      summaryTokens,
      truncated
    }
  })
