/**
 * The flagship example: ask a question about Weft and get an answer grounded
 * in Weft's own docs, with numbered citations, the sentence each source
 * supports, the run's timeline and its usage report. Runs offline on the
 * Local model. `--json` prints the same as one JSON document for scripts.
 *
 *   npm start
 *   npm start -- "How does the repair loop work?"
 *   npm start -- --corpus ./my-notes --top-k 3 "What is in my notes about X?"
 *   npm start -- --json "What does a Step retry?"
 *
 * Reading a large folder shows its progress on a terminal; Ctrl-C stops the
 * program at any point with exit status 130, saying what it interrupted.
 */
import { fileURLToPath } from "node:url"
import { Cause, Clock, Console, Effect, Layer, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type { BudgetLimits } from "../src/budget/Budget.ts"
import { Memory } from "../src/memory/index.ts"
import { Local } from "../src/model/index.ts"
import { Rag } from "../src/rag/index.ts"
import * as Ingest from "../src/retrieval/Ingest.ts"
import { fromDocuments, type Passage, Retriever } from "../src/retrieval/Retriever.ts"
import { Workflow } from "../src/workflow/index.ts"
import {
  clip,
  describeFailure,
  displayPath,
  during,
  integer,
  jsonFlag,
  maxCallsFlag,
  plural,
  positive,
  printRun,
  progressFlag,
  progressLine,
  runCommand,
  toJson,
  userPath,
  withDefault
} from "./cli.ts"
import { showSources } from "./sources.ts"

const DEFAULT_QUESTION = "How does Weft keep a run within its budget?"
const DEFAULT_CORPUS = fileURLToPath(new URL("../docs", import.meta.url))
/** A longer question is shown cut to this many characters (it is asked in full). */
const SHOWN_QUESTION = 200

const wrap = (text: string, width = 88, indent = "   "): string => {
  const lines: Array<string> = []
  let line = ""
  // A citation stays with the word it follows ("made [1]." never starts a line).
  for (const word of text.split(/\s+(?!\[\d)/)) {
    if (line.length > 0 && line.length + word.length + 1 > width) {
      lines.push(line)
      line = word
    } else line = line.length === 0 ? word : `${line} ${word}`
  }
  if (line.length > 0) lines.push(line)
  return lines.map((l) => indent + l).join("\n")
}

const seconds = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`)

/** The folder's documents and its index, with progress on a terminal and the time it took. */
const indexFolder = (folder: string, progress: Option.Option<boolean>) =>
  Effect.gen(function* () {
    const shown = displayPath(folder)
    const line = progressLine(progress)
    const started = yield* Clock.currentTimeMillis
    const elapsed = () => seconds(Date.now() - started)
    const documents = yield* Ingest.loadFolder(folder, {
      onProgress: (p) =>
        line.update(
          `reading ${shown}: ${p.read.toLocaleString("en-US")}/${plural(p.files, "file")}, ` +
            `${(p.bytes / 1e6).toFixed(1)} MB, ${elapsed()}`
        )
    }).pipe(during(`reading ${shown}`), Effect.ensuring(Effect.sync(line.done)))
    line.update(`indexing ${shown}: ${plural(documents.length, "document")}, ${elapsed()}`, true)
    const retriever = yield* fromDocuments(documents).pipe(
      during(`indexing ${shown}`),
      Effect.ensuring(Effect.sync(line.done))
    )
    const indexedMs = (yield* Clock.currentTimeMillis) - started
    return { retriever, skipped: documents.skipped, indexedMs, shown }
  })

/**
 * The Retriever, remembering the passages it returned last: the citations
 * name passages by number, and the sources show the sentence of each that the
 * answer quoted.
 */
const recording = (retriever: Retriever["Service"]) => {
  let last: ReadonlyArray<Passage> = []
  const service = Retriever.of({
    ...retriever,
    retrieve: (query, options) =>
      Effect.tap(retriever.retrieve(query, options), (passages) =>
        Effect.sync(() => {
          last = passages
        })
      )
  })
  return { service, passageText: (n: number) => last[n - 1]?.text }
}

export const command = Command.make(
  "rag",
  {
    question: Argument.String("question").pipe(
      Argument.withDescription(`What to ask (default: "${DEFAULT_QUESTION}")`),
      Argument.optional
    ),
    corpus: Flag.String("corpus").pipe(
      withDefault("A folder of .md/.txt files to answer from", DEFAULT_CORPUS, "Weft's docs/")
    ),
    topK: integer("top-k", 1).pipe(withDefault("Passages to retrieve", 5)),
    maxCost: positive("max-cost").pipe(
      Flag.withDescription("Cost limit for the run, USD (default: none)"),
      Flag.optional
    ),
    maxTokens: integer("max-tokens", 1).pipe(
      Flag.withDescription("Input-token limit for the run (default: none)"),
      Flag.optional
    ),
    maxCalls: maxCallsFlag(10),
    timeout: positive("timeout").pipe(withDefault("Wall-time limit for the run, seconds", 60)),
    json: jsonFlag,
    progress: progressFlag
  },
  (flags) =>
    Effect.scoped(
      Effect.gen(function* () {
        const question = Option.getOrElse(flags.question, () => DEFAULT_QUESTION)
        const folder = userPath(flags.corpus)
        const corpus = yield* indexFolder(folder, flags.progress)
        const { documents, chunks } = corpus.retriever.size
        const skippedLine = corpus.skipped.length === 0 ? "" : `\n${Ingest.describeSkipped(corpus.skipped)}`
        if (!flags.json) {
          const shownQuestion =
            question.length <= SHOWN_QUESTION
              ? question
              : `${clip(question, SHOWN_QUESTION)} (${question.length.toLocaleString("en-US")} characters)`
          yield* Console.log(
            `Weft · answering from ${corpus.shown} (${plural(documents, "document")}, ${plural(chunks, "passage")}, indexed in ${seconds(corpus.indexedMs)})${skippedLine}\n` +
              `Model: ${Local.DEFAULT_MODEL} (offline, extractive)\n\nQ: ${shownQuestion}\n`
          )
        }

        const model = yield* Layer.build(Local.layer()).pipe(during("loading the model"))
        const retriever = recording(corpus.retriever)
        const budget: BudgetLimits = {
          modelCalls: flags.maxCalls,
          wallTime: `${flags.timeout} seconds`,
          costUsd: Option.getOrUndefined(flags.maxCost),
          inputTokens: Option.getOrUndefined(flags.maxTokens)
        }
        // The progress line names the step running, from the run's own trace.
        const line = progressLine(flags.progress)
        const outcome = yield* Workflow.runExit(
          Rag.workflow({ topK: flags.topK }),
          { question },
          {
            budget,
            onEvent: (event) => {
              if (event.type === "start") line.update(`answering: ${event.step}`, true)
            }
          }
        ).pipe(
          Effect.provideContext(model),
          Effect.provide(Memory.layerInMemory),
          Effect.provideService(Retriever, retriever.service),
          during(`answering "${clip(question, 60)}"`),
          Effect.ensuring(Effect.sync(line.done))
        )
        const failure = outcome.exit._tag === "Failure" ? outcome.exit.cause : Cause.empty
        const shown =
          outcome.exit._tag === "Success"
            ? showSources(outcome.exit.value.answer, outcome.exit.value.citations, retriever.passageText)
            : undefined

        if (flags.json) {
          yield* Console.log(
            toJson({
              question,
              corpus: { folder, documents, passages: chunks, skipped: corpus.skipped },
              ...(outcome.exit._tag === "Success"
                ? {
                    answer: shown!.answer,
                    citations: shown!.citations,
                    attempts: outcome.exit.value.attempts
                  }
                : {
                    // The error's own fields (its toJSON), with the sentence a person reads.
                    error: {
                      message: describeFailure(failure),
                      ...JSON.parse(toJson(Option.getOrUndefined(Cause.findErrorOption(failure)) ?? {}))
                    }
                  }),
              trace: outcome.trace,
              usage: outcome.usage
            })
          )
        } else {
          if (shown !== undefined && outcome.exit._tag === "Success") {
            yield* Console.log(`A:\n${wrap(shown.answer)}\n`)
            const { attempts } = outcome.exit.value
            if (attempts > 1)
              yield* Console.log(`   (accepted on attempt ${attempts} after the repair loop)\n`)
            if (shown.citations.length > 0) {
              yield* Console.log("Sources")
              for (const c of shown.citations) {
                yield* Console.log(
                  `  [${c.n}] ${c.sourceId}${c.title === undefined ? "" : ` — ${c.title}`}  (score ${c.score.toFixed(2)})\n${wrap(`“${clip(c.quote, 600)}”`, 84, "      ")}`
                )
              }
            }
          }
          yield* printRun(outcome.trace, outcome.usage)
        }
        if (outcome.exit._tag === "Failure") return yield* outcome.exit
      })
    )
).pipe(Command.withDescription("Answer a question from a folder of documents, with citations"))

if (import.meta.main) runCommand(command)
