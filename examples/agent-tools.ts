/**
 * An assistant agent with three real local tools — a unit converter, a
 * calculator that parses its input (never `eval`), and a search over Weft's
 * bundled docs — answering one request. It prints the answer, each tool call,
 * the run's timeline and usage. Runs offline on the Local model, which calls
 * the tools a request clearly asks for and answers from their results; with
 * `OPENAI_API_KEY` set it runs on that model instead (examples/provider.ts).
 *
 *   npm run example -- agent-tools
 *   npm run example -- agent-tools "What is 2^10 - 24? And convert 30 °C to fahrenheit"
 *   npm run example -- agent-tools --json "Search the docs for handoffs"
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console, Effect, Layer, Option } from "effect"
import { Argument, Command } from "effect/cli"
import { Agent } from "../src/agent/index.ts"
import { during, jsonFlag, maxCallsFlag, runCommand, toJson } from "./cli.ts"
import { chooseModel } from "./provider.ts"
import { AssistantTools, layer as toolsLayer } from "./tools/index.ts"
import { printAgentRun, runJson } from "./tools/print.ts"

const DEFAULT_REQUEST =
  "Convert 5 km to miles, calculate sqrt(2) * 10 and search the docs for how a tool call is approved"

export const assistant = Agent.make({
  name: "assistant",
  instructions:
    "You are a helpful assistant. Use convert_units for unit conversions, calculate for arithmetic and " +
    "search_docs for questions about Weft; answer from the tool results and say which tool each fact came from.",
  toolkit: AssistantTools,
  tools: {
    convert_units: { timeout: "2 seconds" },
    calculate: { timeout: "2 seconds" },
    search_docs: { timeout: "5 seconds", concurrency: 2 }
  },
  maxSteps: 6
})

export const command = Command.make(
  "agent-tools",
  {
    request: Argument.String("request").pipe(
      Argument.withDescription(`What to ask the assistant (default: "${DEFAULT_REQUEST}")`),
      Argument.optional
    ),
    maxCalls: maxCallsFlag(6),
    json: jsonFlag
  },
  (flags) =>
    Effect.scoped(
      Effect.gen(function* () {
        const request = Option.getOrElse(flags.request, () => DEFAULT_REQUEST)
        const chosen = yield* chooseModel({ localNote: "offline, extractive; calls tools it can fill" })
        if (!flags.json) {
          yield* Console.log(
            `Weft · agent "${assistant.name}" with tools ${Object.keys(AssistantTools.tools).join(", ")}\n` +
              `Model: ${chosen.description}\n\nQ: ${request}\n`
          )
        }
        const services = yield* Layer.build(
          Layer.mergeAll(chosen.layer, toolsLayer).pipe(Layer.provide(NodeServices.layer))
        ).pipe(during("indexing the docs and loading the model"))
        const result = yield* Agent.run(assistant, request, {
          budget: { modelCalls: flags.maxCalls, toolCalls: 10, wallTime: "60 seconds" }
        }).pipe(Effect.provideContext(services), during("running the assistant"))
        if (flags.json) yield* Console.log(toJson({ request, model: chosen.model, ...runJson(result) }))
        else yield* printAgentRun(result)
      })
    )
).pipe(Command.withDescription("An assistant agent with a unit converter, a calculator and a docs search"))

if (import.meta.main) runCommand(command)
