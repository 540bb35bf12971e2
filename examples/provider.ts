/**
 * Which model the examples run on: the OpenAI provider when the environment
 * asks for it (`OPENAI_API_KEY` or `OPENAI_BASE_URL` set; the model from
 * `WEFT_MODEL`, default `gpt-4.1-mini`), else the offline Local model. The
 * OpenAI provider (and its SDK) is imported only when asked for, so an
 * offline run starts as fast as before.
 *
 *   OPENAI_API_KEY=sk-… npm start
 *   OPENAI_BASE_URL=http://127.0.0.1:11434/v1 WEFT_MODEL=llama3.2 npm start
 *
 * Run on its own it shows the production pieces around a provider: a
 * fallback chain (the chosen model — offline, a stand-in that is rate
 * limited — then the Local model), which model answered and why the other
 * did not, and the answer recorded to a journal and replayed offline.
 *
 *   node examples/provider.ts
 *   node examples/provider.ts --journal ./answers.jsonl "When are refunds paid?"
 */
import { rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Console, Duration, Effect, Layer, Option, Schedule } from "effect"
import { AiError, LanguageModel, type Model, Prompt } from "effect/ai"
import { Argument, Command, Flag } from "effect/cli"
import * as Budget from "../src/budget/Budget.ts"
import type { Identity } from "../src/budget/Meter.ts"
import type { Charge } from "../src/budget/Usage.ts"
import { Fallback, Journal, Local, PassageFormat, Scripted } from "../src/model/index.ts"
import { DEFAULT_MODEL, isConfigured } from "../src/model/openai/Config.ts"
import { Rag } from "../src/rag/index.ts"
import { runCommand, userPath } from "./cli.ts"

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
    // Imported only when asked for. npm start's bundle holds the provider and the SDK as
    // code that runs on this import (not at start), sharing one copy of Weft's modules.
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

// ---- the demonstration ---------------------------------------------------------------

const PASSAGES = [
  {
    sourceId: "returns.md#1",
    title: "Refunds",
    text: "Refunds are paid to the original payment method within 5 working days of the return arriving."
  },
  {
    sourceId: "shipping.md#2",
    title: "Delivery",
    text: "Standard delivery takes 2 to 4 working days; express delivery arrives the next working day."
  }
]

const promptFor = (question: string) =>
  Prompt.make([
    { role: "system", content: Rag.defaultInstructions },
    { role: "user", content: `${PassageFormat.formatPassages(PASSAGES)}\n\nQuestion: ${question}` }
  ])

/** Offline, the primary is a stand-in that is always rate limited, so the chain has something to fall back from. */
const rateLimited = Scripted.layer(
  [{ repeat: { fail: new AiError.RateLimitError({ retryAfter: Duration.millis(20) }) } }],
  { model: "flaky-primary" }
)

export const command = Command.make(
  "provider",
  {
    question: Argument.String("question").pipe(
      Argument.withDescription('What to ask (default: "When are refunds paid?")'),
      Argument.optional
    ),
    journal: Flag.String("journal").pipe(
      Flag.withDescription("Where to record the journal (default: a temporary file, removed after)"),
      Flag.optional
    )
  },
  (flags) =>
    Effect.gen(function* () {
      const question = Option.getOrElse(flags.question, () => "When are refunds paid?")
      const chosen = yield* chooseModel()
      const primary = chosen.offline ? rateLimited : chosen.layer
      const primaryName = chosen.offline
        ? "flaky-primary (a stand-in, always rate limited)"
        : chosen.description
      yield* Console.log(
        `Weft · a model chain: ${primaryName}, then ${Local.DEFAULT_MODEL}\n\nQ: ${question}\n`
      )

      const attempts: Array<Fallback.Attempt> = []
      const charges: Array<Charge> = []
      const chain = Fallback.layer(
        [{ model: primary, attempts: 2, schedule: Schedule.spaced("10 millis") }, { model: Local.layer() }],
        { onAttempt: (attempt) => attempts.push(attempt) }
      )
      const path = Option.match(flags.journal, {
        onNone: () => join(tmpdir(), `weft-provider-${process.pid}.jsonl`),
        onSome: userPath
      })
      const ask = LanguageModel.generateText({ prompt: promptFor(question) })

      // 1. Ask through the chain, recording the exchange.
      const answered = yield* ask.pipe(
        Effect.provide(Budget.layer({ modelCalls: 5 }, { onCharge: (charge) => charges.push(charge) })),
        Effect.provide(Journal.record(path).pipe(Layer.provideMerge(chain)))
      )
      yield* Console.log(`A: ${answered.text}\n`)
      yield* Console.log("Attempts")
      for (const a of attempts) {
        yield* Console.log(
          `  ${a.model} (attempt ${a.attempt}): ${a.outcome === "ok" ? "answered" : `failed — ${a.error}`}`
        )
      }
      yield* Console.log("Charges (each attempt metered under the model that made it)")
      for (const c of charges) {
        yield* Console.log(
          `  ${c.model.padEnd(14)} ${c.outcome.padEnd(7)} ${c.inputTokens} in / ${c.outputTokens} out, $${c.costUsd.toFixed(6)}`
        )
      }

      // 2. Ask again from the journal alone: no model, no network.
      const replayed = yield* Effect.provide(ask, Journal.replay(path))
      yield* Console.log(
        `\nJournal: ${Option.isSome(flags.journal) ? path : "a temporary file"}; replayed offline: ` +
          (replayed.text === answered.text ? "the same answer" : `a different answer (${replayed.text})`)
      )
      if (Option.isNone(flags.journal)) rmSync(path, { force: true })
    })
).pipe(Command.withDescription("A fallback chain, and an answer recorded to a journal and replayed offline"))

if (import.meta.main) runCommand(command)
