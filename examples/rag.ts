/**
 * The flagship example: ask a question about Weft and get an answer grounded
 * in Weft's own docs, with numbered citations, the run's timeline and its
 * usage report. Runs offline on the Local model.
 *
 *   npm start
 *   npm start -- "How does the repair loop work?"
 *   node examples/rag.ts --corpus ./my-notes --top-k 3 "What is in my notes about X?"
 */
import { fileURLToPath } from "node:url"
import { Clock, Console, Effect, Layer, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type { BudgetLimits } from "../src/budget/Budget.ts"
import { Memory } from "../src/memory/index.ts"
import { Local } from "../src/model/index.ts"
import { Rag } from "../src/rag/index.ts"
import { Retriever } from "../src/retrieval/index.ts"
import { Workflow } from "../src/workflow/index.ts"
import { maxCallsFlag, printRun, runMain } from "./cli.ts"

const DEFAULT_QUESTION = "How does Weft keep a run within its budget?"
const DEFAULT_CORPUS = fileURLToPath(new URL("../docs", import.meta.url))

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

export const command = Command.make(
  "rag",
  {
    question: Argument.String("question").pipe(
      Argument.withDescription("What to ask (default: a question about budgets)"),
      Argument.optional
    ),
    corpus: Flag.Directory("corpus").pipe(
      Flag.withDescription("A folder of .md/.txt files to answer from (default: Weft's docs/)"),
      Flag.withDefault(DEFAULT_CORPUS)
    ),
    topK: Flag.Int("top-k").pipe(Flag.withDescription("Passages to retrieve"), Flag.withDefault(5)),
    maxCost: Flag.Finite("max-cost").pipe(Flag.withDescription("Cost limit for the run, USD"), Flag.optional),
    maxTokens: Flag.Int("max-tokens").pipe(
      Flag.withDescription("Input-token limit for the run"),
      Flag.optional
    ),
    maxCalls: maxCallsFlag(10),
    timeout: Flag.Finite("timeout").pipe(
      Flag.withDescription("Wall-time limit for the run, seconds"),
      Flag.withDefault(60)
    )
  },
  (flags) =>
    Effect.gen(function* () {
      const question = Option.getOrElse(flags.question, () => DEFAULT_QUESTION)
      const started = yield* Clock.currentTimeMillis
      const retriever = yield* Retriever.fromFolder(flags.corpus)
      const indexedIn = (yield* Clock.currentTimeMillis) - started
      yield* Console.log(
        `Weft · answering from ${flags.corpus} (${retriever.size.documents} documents, ${retriever.size.chunks} passages, indexed in ${indexedIn} ms)\n` +
          `Model: ${Local.DEFAULT_MODEL} (offline, extractive)\n\nQ: ${question}\n`
      )
      const budget: BudgetLimits = {
        modelCalls: flags.maxCalls,
        wallTime: `${flags.timeout} seconds`,
        costUsd: Option.getOrUndefined(flags.maxCost),
        inputTokens: Option.getOrUndefined(flags.maxTokens)
      }
      const outcome = yield* Workflow.runExit(
        Rag.workflow({ topK: flags.topK }),
        { question },
        { budget }
      ).pipe(
        Effect.provide(
          Layer.mergeAll(Local.layer(), Memory.Memory.layerInMemory, Layer.succeed(Retriever, retriever))
        )
      )
      if (outcome.exit._tag === "Success") {
        const { answer, citations, attempts } = outcome.exit.value
        yield* Console.log(`A:\n${wrap(answer)}\n`)
        if (attempts > 1) yield* Console.log(`   (accepted on attempt ${attempts} after the repair loop)\n`)
        if (citations.length > 0) {
          yield* Console.log("Sources")
          for (const c of citations) {
            yield* Console.log(
              `  [${c.n}] ${c.sourceId}${c.title === undefined ? "" : ` — ${c.title}`}  (score ${c.score.toFixed(2)})\n${wrap(`“${c.excerpt}”`, 84, "      ")}`
            )
          }
        }
      }
      yield* printRun(outcome.trace, outcome.usage)
      if (outcome.exit._tag === "Failure") return yield* outcome.exit
    })
).pipe(Command.withDescription("Answer a question from a folder of documents, with citations"))

if (import.meta.main) runMain(Command.run(command, { version: "0.1.0" }))
