import { Option } from "effect"
import { Argument, Command } from "effect/cli"
import { Agent } from "../src/agent/index.ts"
import { jsonFlag, maxCallsFlag, runCommand } from "./cli.ts"
import { AssistantTools } from "./tools/index.ts"
import { askOnce } from "./tools/print.ts"

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
    askOnce({
      agent: assistant,
      heading: `agent "${assistant.name}" with tools ${Object.keys(AssistantTools.tools).join(", ")}`,
      request: Option.getOrElse(flags.request, () => DEFAULT_REQUEST),
      json: flags.json,
      maxCalls: flags.maxCalls,
      running: "running the assistant"
    })
).pipe(Command.withDescription("An assistant agent with a unit converter, a calculator and a docs search"))

if (import.meta.main) runCommand(command)
