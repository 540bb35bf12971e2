/**
 * A fan-out stopped by its budget: summarise every section of a folder of
 * documents, a few at a time, under a limit on model calls — and see that
 * nothing past the limit ran.
 *
 * `Step.forEach` runs one `summarise[n]` step per section with a concurrency
 * limit; every branch shares the run's budget. The Budget reserves each call
 * before it is made, so the call that would cross the limit is refused before
 * it reaches the model, the summaries in flight are interrupted, and the
 * sections not yet started never start. A counter between the budget and the
 * model counts the calls the model really received, to set beside the budget's
 * own report. The Local model answers at once; `--latency` holds each answer
 * back a little, as a network would, so the concurrency shows. With
 * `OPENAI_API_KEY` or `OPENAI_BASE_URL` set the summaries come from the
 * OpenAI provider instead (`WEFT_MODEL` names the model; no latency is added
 * to a real network).
 *
 * The budget stop is the point of the example, so it exits 0 when the budget
 * stops the run; any other failure exits 1.
 *
 *   npm run example -- fanout
 *   npm run example -- fanout --concurrency 5 --max-calls 12
 *   node examples/fanout.ts --docs ./docs --max-output-tokens 2000
 */
import { fileURLToPath } from "node:url"
import { Console, Effect, Option, Schema, Stream } from "effect"
import { LanguageModel } from "effect/ai"
import { Command, Flag } from "effect/cli"
import { refusalOf } from "../src/budget/BudgetError.ts"
import { Meter } from "../src/budget/index.ts"
import { Chunking, Ingest } from "../src/retrieval/index.ts"
import { Step, type Trace, Workflow } from "../src/workflow/index.ts"
import {
  displayPath,
  during,
  integer,
  maxCallsFlag,
  plural,
  printRun,
  runCommand,
  userPath,
  withDefault
} from "./cli.ts"
import { chooseModel } from "./provider.ts"
import { grouped } from "../src/core/Grouped.ts"

const DEFAULT_DOCS = fileURLToPath(new URL("./data/handbook", import.meta.url))
/** Each summary stops here; it is also what the budget reserves per call. */
const MAX_OUTPUT_TOKENS = 120

const Section = Schema.Struct({ id: Schema.String, title: Schema.String, text: Schema.String })
type Section = typeof Section.Type

const Summary = Schema.Struct({ id: Schema.String, summary: Schema.String })

const Summaries = Schema.Struct({
  summaries: Schema.Array(Summary),
  /** Why the fan-out stopped early, when the budget stopped it. */
  stoppedBy: Schema.optional(Schema.String)
})

/**
 * `Step.forEachSettled` keeps the summaries finished before a stop: a budget
 * stop ends the fan-out but not the run, which returns what it has. Any other
 * failure fails the run.
 */
const summariseSections = (concurrency: number) =>
  Workflow.make({
    name: "summarise-sections",
    input: Schema.Array(Section),
    output: Summaries,
    run: (sections) =>
      Effect.gen(function* () {
        const settled = yield* Step.forEachSettled(
          "summarise",
          sections,
          (section) =>
            Effect.map(
              LanguageModel.generateText({
                // An instruction, then the material: a summary, not a question to answer from
                // passages (the Local model keeps the section's most central sentences).
                prompt: `Summarise this section of the support handbook, "${section.title}", in one or two sentences.\n\n${section.text}`
              }),
              (response) => ({ id: section.id, summary: response.text })
            ),
          { concurrency }
        )
        const summaries = settled.done.map((d) => d.value)
        if (settled.stoppedBy === undefined) return { summaries }
        const refusal = refusalOf(settled.stoppedBy)
        if (refusal !== undefined) return { summaries, stoppedBy: refusal.message }
        return yield* Effect.fail(settled.stoppedBy)
      })
  })

/** Every section of every document in the folder, one item per heading. */
const loadSections = (folder: string) =>
  Effect.gen(function* () {
    const documents = yield* Ingest.loadFolder(folder)
    // Chunks never cross a heading; with a large size each section is one chunk.
    const chunks = yield* Chunking.chunkDocuments(documents, { size: 2000, overlap: 0 })
    return chunks.map(
      (chunk): Section => ({ id: chunk.id, title: chunk.title ?? chunk.sourceId, text: chunk.text })
    )
  })

/**
 * The model behind a counter: every call that gets past the budget is counted
 * as it arrives, answered by `model`, and held back `latencyMs` before the
 * answer returns.
 */
const counted = (model: LanguageModel.LanguageModel, latencyMs: number) => {
  let received = 0
  const arrive = () => {
    received += 1
  }
  const delayed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.suspend(() => {
      arrive()
      return Effect.tap(effect, () => Effect.sleep(latencyMs))
    })
  const wrapped: LanguageModel.LanguageModel = {
    ...model,
    generateText: ((options: any) =>
      delayed(model.generateText(options))) as LanguageModel.LanguageModel["generateText"],
    generateObject: ((options: any) =>
      delayed(model.generateObject(options))) as LanguageModel.LanguageModel["generateObject"],
    streamText: ((options: any) =>
      Stream.suspend(() => {
        arrive()
        return model.streamText(options)
      })) as LanguageModel.LanguageModel["streamText"]
  }
  return { model: wrapped, received: () => received }
}

// ---- printing -------------------------------------------------------------------

const int = (n: number): string => grouped(n)
const clip = (text: string, max: number): string => (text.length <= max ? text : text.slice(0, max - 1) + "…")

/** A trace event's error that is the budget's refusal (`BudgetError: Budget exceeded: …`). */
const REFUSED = /^\w+: Budget exceeded: /

interface ItemState {
  status: "running" | "done" | "refused by budget" | "interrupted" | "failed" | "never started"
  inputTokens: number
  outputTokens: number
}

/** What became of each item, read from the run's trace. */
const itemStates = (sections: ReadonlyArray<Section>, trace: ReadonlyArray<Trace.StepEvent>) => {
  const states = sections.map((): ItemState => ({ status: "never started", inputTokens: 0, outputTokens: 0 }))
  for (const event of trace) {
    const n = /^summarise\[(\d+)\]$/.exec(event.step)?.[1]
    const state = n === undefined ? undefined : states[Number(n) - 1]
    if (state === undefined) continue
    switch (event.type) {
      case "start":
        state.status = "running"
        break
      case "end":
        state.status = "done"
        break
      case "failure":
        state.status = event.interrupted
          ? "interrupted"
          : REFUSED.test(event.error)
            ? "refused by budget"
            : "failed"
        break
      case "usage":
        state.inputTokens += event.inputTokens
        state.outputTokens += event.outputTokens
        break
      default:
        break
    }
  }
  return states
}

/** One line per start and finish, as they happen. */
const progress = (sections: ReadonlyArray<Section>) => {
  const tokens = new Map<string, number>()
  return (event: Trace.StepEvent): void => {
    const n = Number(/^summarise\[(\d+)\]$/.exec(event.step)?.[1])
    const title = sections[n - 1]?.title ?? ""
    const at = `${int(event.at)} ms`.padStart(8)
    const step = event.step.padEnd(14)
    switch (event.type) {
      case "usage":
        tokens.set(event.step, (tokens.get(event.step) ?? 0) + event.inputTokens + event.outputTokens)
        break
      case "start":
        console.log(`  ${at}  ▶ ${step} started      ${title}`)
        break
      case "end":
        console.log(`  ${at}  ✓ ${step} done         ${int(tokens.get(event.step) ?? 0)} tokens`)
        break
      case "failure":
        console.log(
          event.interrupted
            ? `  ${at}  ■ ${step} interrupted`
            : `  ${at}  ✗ ${step} ${clip(event.error.replace(/^\w+: Budget exceeded: (.*?)(?: in step "[^"]*")?$/, "refused by budget: $1"), 110)}`
        )
        break
      default:
        break
    }
  }
}

const table = (sections: ReadonlyArray<Section>, states: ReadonlyArray<ItemState>): string => {
  const idWidth = Math.max(4, ...sections.map((s) => s.id.length))
  const titleWidth = Math.min(28, Math.max(...sections.map((s) => s.title.length)))
  const rows = sections.map((section, i) => {
    const state = states[i]!
    const tokens =
      state.inputTokens + state.outputTokens === 0
        ? "–"
        : `${int(state.inputTokens)} in / ${int(state.outputTokens)} out` +
          (state.status === "interrupted" ? " (its reservation, charged)" : "")
    return `  ${String(i + 1).padStart(3)}  ${section.id.padEnd(idWidth)}  ${clip(section.title, titleWidth).padEnd(titleWidth)}  ${state.status.padEnd(17)}  ${tokens}`
  })
  return [
    `  ${"#".padStart(3)}  ${"item".padEnd(idWidth)}  ${"section".padEnd(titleWidth)}  ${"status".padEnd(17)}  tokens`,
    ...rows
  ].join("\n")
}

export const command = Command.make(
  "fanout",
  {
    docs: Flag.String("docs").pipe(
      withDefault(
        "A folder of .md/.txt files; each section is one item",
        DEFAULT_DOCS,
        "a support handbook, examples/data/handbook"
      )
    ),
    concurrency: integer("concurrency", 1).pipe(withDefault("Summaries running at once", 3)),
    maxCalls: maxCallsFlag(8),
    maxOutputTokens: integer("max-output-tokens", 1).pipe(
      Flag.withDescription(
        `Output-token limit for the run; each call reserves ${MAX_OUTPUT_TOKENS} (default: none)`
      ),
      Flag.optional
    ),
    latency: integer("latency", 0).pipe(withDefault("Simulated latency of each model call, ms", 40))
  },
  (flags) =>
    Effect.gen(function* () {
      const folder = userPath(flags.docs)
      const sections = yield* loadSections(folder).pipe(during(`reading ${displayPath(folder)}`))
      const chosen = yield* chooseModel({ maxOutputTokens: MAX_OUTPUT_TOKENS })
      const latency = chosen.offline ? flags.latency : 0
      const wire = counted(yield* chosen.unmetered, latency)
      const maxOutputTokens = Option.getOrUndefined(flags.maxOutputTokens)
      yield* Console.log(
        `Weft · summarising ${plural(sections.length, "section")} of ${displayPath(folder)}, ${flags.concurrency} at a time\n` +
          `Model: ${chosen.description}${chosen.offline ? ` with ${latency} ms simulated latency per call` : ""}\n` +
          `Budget: ${flags.maxCalls} model calls` +
          (maxOutputTokens === undefined ? "" : `, ${int(maxOutputTokens)} output tokens`) +
          ` (each call reserves ${MAX_OUTPUT_TOKENS} output tokens)\n`
      )

      const outcome = yield* Workflow.runExit(summariseSections(flags.concurrency), sections, {
        budget: { modelCalls: flags.maxCalls, outputTokens: maxOutputTokens, wallTime: "60 seconds" },
        onEvent: progress(sections)
      }).pipe(Effect.provideService(LanguageModel.LanguageModel, Meter.metered(wire.model, chosen.identity)))

      if (outcome.exit._tag === "Failure") {
        yield* printRun(outcome.trace, outcome.usage)
        return yield* outcome.exit
      }
      const { summaries: finished, stoppedBy } = outcome.exit.value
      const states = itemStates(sections, outcome.trace)
      const count = (status: ItemState["status"]) => states.filter((s) => s.status === status).length
      yield* Console.log(
        `\nSummaries finished (${finished.length})\n` +
          finished.map((f) => `  ${f.id.padEnd(14)} ${clip(f.summary.replace(/\s+/g, " "), 90)}`).join("\n")
      )
      yield* Console.log(`\n${table(sections, states)}\n`)
      yield* Console.log(
        `  ${count("done")} done, ${count("refused by budget")} refused by budget, ` +
          `${count("interrupted")} interrupted, ${count("never started")} never started\n` +
          `  Model calls the model received: ${wire.received()} (counted between the budget and the model)\n` +
          `  Model calls in the budget report: ${outcome.usage.modelCalls}` +
          (wire.received() === outcome.usage.modelCalls ? " — they match" : " — MISMATCH")
      )
      yield* printRun(outcome.trace, outcome.usage)

      if (stoppedBy !== undefined) {
        yield* Console.log(`\nStopped by the budget, as this example means to be: ${stoppedBy}`)
      }
    })
).pipe(Command.withDescription("Summarise many documents concurrently until a budget stops the run"))

if (import.meta.main) runCommand(command)
