/**
 * Handoffs: a triage agent with no tools of its own hands the conversation to
 * the specialist the request is for — `math` (unit converter and calculator)
 * or `docs` (a search over Weft's bundled docs) — which answers with its own
 * tools. The history goes along and the run keeps one budget, one trace and
 * one step count. It prints who answered, the answer, the tool calls (the
 * handoff among them), the timeline and usage. Runs offline on the Local
 * model (examples/provider.ts).
 *
 *   npm run example -- handoff
 *   npm run example -- handoff "Convert 72 °F to celsius"
 *   npm run example -- handoff --json "What does a Step retry?"
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console, Effect, Layer, Option } from "effect"
import { Toolkit } from "effect/ai"
import { Argument, Command } from "effect/cli"
import { Agent } from "../src/agent/index.ts"
import { during, jsonFlag, maxCallsFlag, runCommand, toJson } from "./cli.ts"
import { chooseModel } from "./provider.ts"
import { Calculate, ConvertUnits, SearchDocs, layer as toolsLayer } from "./tools/index.ts"
import { printAgentRun, runJson } from "./tools/print.ts"

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
    Effect.scoped(
      Effect.gen(function* () {
        const request = Option.getOrElse(flags.request, () => DEFAULT_REQUEST)
        const chosen = yield* chooseModel({ localNote: "offline, extractive; calls tools it can fill" })
        if (!flags.json) {
          yield* Console.log(
            `Weft · agent "${triage.name}" handing off to "${math.name}" (convert_units, calculate) or "${docs.name}" (search_docs)\n` +
              `Model: ${chosen.description}\n\nQ: ${request}\n`
          )
        }
        const services = yield* Layer.build(
          Layer.mergeAll(chosen.layer, toolsLayer).pipe(Layer.provide(NodeServices.layer))
        ).pipe(during("indexing the docs and loading the model"))
        const result = yield* Agent.run(triage, request, {
          budget: { modelCalls: flags.maxCalls, toolCalls: 10, wallTime: "60 seconds" }
        }).pipe(Effect.provideContext(services), during("running the agents"))
        if (flags.json) yield* Console.log(toJson({ request, model: chosen.model, ...runJson(result) }))
        else yield* printAgentRun(result)
      })
    )
).pipe(Command.withDescription("A triage agent handing the request to a specialist agent"))

if (import.meta.main) runCommand(command)
