import { Option } from "effect"
import { Toolkit } from "effect/ai"
import { Argument, Command } from "effect/cli"
import { Agent } from "../src/agent/index.ts"
import { jsonFlag, maxCallsFlag, runCommand } from "./cli.ts"
import { Calculate, ConvertUnits, SearchDocs } from "./tools/index.ts"
import { askOnce } from "./tools/print.ts"

const DEFAULT_REQUEST = "How does Weft keep a run within its budget?"

export const math = Agent.make({
  name: "math",
  description:
    "Hand over requests to convert units (length, mass, temperature, volume, time) or to calculate arithmetic.",
  instructions:
    "You convert units with convert_units and calculate with calculate; answer from their results.",
  toolkit: Toolkit.make(ConvertUnits, Calculate),
  maxSteps: 4
})

export const docs = Agent.make({
  name: "docs",
  description:
    "Hand over questions about Weft and its documentation: workflows, agents, tools, approvals, handoffs, " +
    "models, budgets, retrieval, memory and validation.",
  instructions: "You answer questions about Weft from its docs, found with search_docs; cite the files.",
  toolkit: Toolkit.make(SearchDocs),
  maxSteps: 4
})

export const triage = Agent.make({
  name: "triage",
  instructions:
    "You route the user to the right specialist: math for conversions and arithmetic, docs for questions " +
    "about Weft. Do not answer yourself.",
  handoffs: [math, docs],
  maxSteps: 2
})

export const command = Command.make(
  "handoff",
  {
    request: Argument.String("request").pipe(
      Argument.withDescription(`What to ask (default: "${DEFAULT_REQUEST}")`),
      Argument.optional
    ),
    maxCalls: maxCallsFlag(6),
    json: jsonFlag
  },
  (flags) =>
    askOnce({
      agent: triage,
      heading: `agent "${triage.name}" handing off to "${math.name}" (convert_units, calculate) or "${docs.name}" (search_docs)`,
      request: Option.getOrElse(flags.request, () => DEFAULT_REQUEST),
      json: flags.json,
      maxCalls: flags.maxCalls,
      running: "running the agents"
    })
).pipe(Command.withDescription("A triage agent handing the request to a specialist agent"))

if (import.meta.main) runCommand(command)
