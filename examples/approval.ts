/**
 * Human in the loop: an agent whose `save_note` tool needs approval. The run
 * pauses before the tool runs; the program asks on the terminal, reads `y` or
 * `n` from stdin (typed, or piped: `echo y | npm run example -- approval`) and
 * resumes the run with the decision — approved, the note is written once;
 * refused, the model is told and answers without it. It prints the answer,
 * the tool calls, and the timeline and usage of the run before and after the
 * decision. Runs offline on the Local model (examples/provider.ts).
 *
 *   npm run example -- approval
 *   npm run example -- approval --notes ./my-notes.md "Save a note: renew the passport"
 *   echo n | npm run example -- approval
 */
import { createInterface } from "node:readline"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console, Effect, Layer, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Agent } from "../src/agent/index.ts"
import { displayPath, during, printRun, runCommand, userPath, withDefault } from "./cli.ts"
import { chooseModel } from "./provider.ts"
import { layerNotes, NoteTools } from "./tools/notes.ts"
import { answerOf, printToolCalls, wrap } from "./tools/print.ts"

const DEFAULT_REQUEST = "Save a note: call the plumber about the leak on Monday"
const DEFAULT_NOTES = join(tmpdir(), "weft-notes.md")
/** A run that keeps asking is stopped after this many decisions. */
const MAX_DECISIONS = 5

export const notetaker = Agent.make({
  name: "notetaker",
  instructions: "You save the user's notes with save_note. Tell the user whether the note was saved.",
  toolkit: NoteTools,
  maxSteps: 4
})

/**
 * Lines from stdin, one per question: the prompt goes to stdout, the answer is
 * read (and echoed when stdin is not a terminal, so a piped run reads like a
 * typed one); `undefined` once stdin has ended. Closed with the scope.
 */
const stdinLines = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })),
    (lines) => Effect.sync(() => lines.close())
  ),
  (lines) => {
    const iterator = lines[Symbol.asyncIterator]()
    return (question: string): Effect.Effect<string | undefined> =>
      Effect.gen(function* () {
        process.stdout.write(question)
        const next = yield* Effect.promise(() => iterator.next())
        if (next.done === true) {
          process.stdout.write("\n(stdin closed: taken as no)\n")
          return undefined
        }
        if (process.stdin.isTTY !== true) process.stdout.write(`${next.value}\n`)
        return next.value
      })
  }
)

const isYes = (answer: string | undefined): boolean => answer !== undefined && /^\s*y(es)?\s*$/i.test(answer)

export const command = Command.make(
  "approval",
  {
    request: Argument.String("request").pipe(
      Argument.withDescription(`What to ask the agent (default: "${DEFAULT_REQUEST}")`),
      Argument.optional
    ),
    notes: Flag.String("notes").pipe(
      withDefault(
        "The file the approved notes are appended to",
        DEFAULT_NOTES,
        "weft-notes.md in the temp folder"
      )
    )
  },
  (flags) =>
    Effect.scoped(
      Effect.gen(function* () {
        const request = Option.getOrElse(flags.request, () => DEFAULT_REQUEST)
        const file = userPath(flags.notes)
        const chosen = yield* chooseModel({ localNote: "offline, extractive; calls tools it can fill" })
        yield* Console.log(
          `Weft · agent "${notetaker.name}" with tool save_note (needs approval), notes in ${displayPath(file)}\n` +
            `Model: ${chosen.description}\n\nQ: ${request}\n`
        )
        const services = yield* Layer.build(
          Layer.mergeAll(chosen.layer, layerNotes(file)).pipe(Layer.provide(NodeServices.layer))
        )
        const ask = yield* stdinLines
        const budget = { modelCalls: 6, toolCalls: 5, wallTime: "5 minutes" } as const

        let result = yield* Agent.run(notetaker, request, { budget }).pipe(
          Effect.provideContext(services),
          during("running the agent")
        )
        const runs = [{ label: "Until the approval", result }]
        for (let decisions = 0; result._tag === "Paused" && decisions < MAX_DECISIONS; decisions++) {
          const { approval } = result
          yield* Console.log(
            `Approval needed: ${approval.tool} ${JSON.stringify(approval.arguments)}\n  (approval ${approval.id})`
          )
          const approved = isYes(yield* ask("Approve? [y/N] "))
          yield* Console.log(approved ? "→ approved\n" : "→ refused\n")
          result = yield* Agent.resume(
            notetaker,
            approval.id,
            approved ? { approved: true } : { approved: false, reason: "the user said no on the terminal" },
            { budget }
          ).pipe(Effect.provideContext(services), during("resuming the agent"))
          runs.push({ label: approved ? "After the approval" : "After the refusal", result })
        }

        yield* Console.log(`A (${result.agent}):\n${wrap(answerOf(result))}\n`)
        yield* printToolCalls(runs.flatMap((run) => run.result.toolCalls))
        for (const run of runs) {
          yield* Console.log(`\n— ${run.label} —`)
          yield* printRun(run.result.trace, run.result.usage)
        }
      })
    )
).pipe(Command.withDescription("An agent whose tool needs approval, asked on the terminal (y/n on stdin)"))

if (import.meta.main) runCommand(command)
