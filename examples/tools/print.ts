/**
 * How the agent examples print a run, in the style of the other examples: the
 * question, the answer, each tool call (tool, arguments, outcome, duration),
 * then the run's timeline and usage report (`printRun`). `--json` prints the
 * same as one JSON document.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console, Effect, Layer } from "effect"
import { Agent } from "../../src/agent/index.ts"
import type { ToolCallRecord } from "../../src/agent/Events.ts"
import { clip, during, plural, printRun, toJson } from "../cli.ts"
import { chooseModel } from "../provider.ts"
import { layer as toolsLayer } from "./index.ts"

/** A text wrapped at `width` columns, each line indented. */
export const wrap = (text: string, width = 88, indent = "   "): string =>
  text
    .split("\n")
    .map((paragraph) => {
      const lines: Array<string> = []
      let line = ""
      for (const word of paragraph.split(/\s+(?!\[)/)) {
        if (line.length > 0 && line.length + word.length + 1 > width) {
          lines.push(line)
          line = word
        } else line = line.length === 0 ? word : `${line} ${word}`
      }
      if (line.length > 0) lines.push(line)
      return lines.map((l) => indent + l).join("\n")
    })
    .join("\n")

const duration = (ms: number): string => (ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`)

/** One tool call as a line: `1. convert_units {"value":5,…} → ok (0.4 ms)`, and what went wrong, if anything. */
export const describeCall = (record: ToolCallRecord, n: number): string => {
  const args = clip(JSON.stringify(record.arguments) ?? "", 120)
  const attempts = record.attempts > 1 ? `, ${record.attempts} attempts` : ""
  const head = `  ${n}. [${record.agent}] ${record.tool} ${args} → ${record.outcome} (${duration(record.durationMs)}${attempts})`
  return record.error === undefined ? head : `${head}\n       ${clip(record.error, 200)}`
}

/** The tool calls of a run, numbered, or a line saying there were none. */
export const printToolCalls = (records: ReadonlyArray<ToolCallRecord>) =>
  Console.log(
    records.length === 0
      ? "Tool calls: none"
      : `Tool calls\n${records.map((record, i) => describeCall(record, i + 1)).join("\n")}`
  )

/** What a finished (or paused) run says: the answer, or what it waits for. */
export const answerOf = (result: Agent.Result<unknown>): string => {
  switch (result._tag) {
    case "Completed":
      return result.text
    case "Stopped":
      return `(stopped) ${result.text}`
    case "Paused":
      return `(waiting for approval ${result.approval.id}: ${result.approval.tool} ${JSON.stringify(result.approval.arguments)})`
  }
}

/** The answer, the tool calls, the timeline and the usage of a run. */
export const printAgentRun = (result: Agent.Result<unknown>) =>
  Effect.gen(function* () {
    yield* Console.log(`A (${result.agent}, ${plural(result.steps, "model call")}):`)
    yield* Console.log(`${wrap(answerOf(result))}\n`)
    yield* printToolCalls(result.toolCalls)
    yield* printRun(result.trace, result.usage)
  })

/** A run as data for `--json`: its outcome, answer, tool calls, trace and usage (no conversation). */
export const runJson = (result: Agent.Result<unknown>) => ({
  outcome: result._tag,
  agent: result.agent,
  steps: result.steps,
  ...(result._tag === "Paused" ? { approval: result.approval } : { answer: result.text }),
  toolCalls: result.toolCalls,
  trace: result.trace,
  usage: result.usage
})

/**
 * One request to an agent with the example tools, as the examples run it:
 * a heading naming the agent and the model, the services built (the docs
 * indexed) before the run, a budget, and the run printed — or as one JSON
 * document with `json`.
 */
export const askOnce = <O, R>(options: {
  readonly agent: Agent.Agent<O, R>
  /** What the heading says of the agent, e.g. `agent "assistant" with tools …`. */
  readonly heading: string
  readonly request: string
  readonly json: boolean
  readonly maxCalls: number
  /** What Ctrl-C says was interrupted while the agent runs, e.g. "running the assistant". */
  readonly running: string
}) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { request } = options
      const chosen = yield* chooseModel({ localNote: "offline, extractive; calls tools it can fill" })
      if (!options.json) {
        yield* Console.log(`Weft · ${options.heading}\nModel: ${chosen.description}\n\nQ: ${request}\n`)
      }
      const services = yield* Layer.build(
        Layer.mergeAll(chosen.layer, toolsLayer).pipe(Layer.provide(NodeServices.layer))
      ).pipe(during("indexing the docs and loading the model"))
      const result = yield* Agent.run(options.agent, request, {
        budget: { modelCalls: options.maxCalls, toolCalls: 10, wallTime: "60 seconds" }
      }).pipe(Effect.provideContext(services as never), during(options.running))
      if (options.json) yield* Console.log(toJson({ request, model: chosen.model, ...runJson(result) }))
      else yield* printAgentRun(result)
    })
  )
