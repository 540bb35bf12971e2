/**
 * OpenAI Agents JS (`@openai/agents-core`): an `Agent` with one function
 * tool, run by a `Runner` with tracing off; the model is a hand-written
 * `Model` (the SDK ships no test double) answering from the input items it
 * is given, like the other peers' test models. Plain JavaScript, so Weft's
 * typecheck does not need this folder's packages installed.
 */
import { Agent, Runner, tool, Usage } from "@openai/agents-core"
import { z } from "zod"
import { ANSWER, add, argsOf, QUESTION, TOOL_CALLS, USAGE } from "../agent-task.ts"

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** @param {import("@openai/agents-core").ModelRequest} request */
const respond = (request) => {
  let results = 0
  if (typeof request.input !== "string")
    for (const item of request.input) if (item.type === "function_call_result") results++
  const usage = new Usage({ requests: 1, inputTokens: USAGE.inputTokens, outputTokens: USAGE.outputTokens })
  return results < TOOL_CALLS
    ? {
        usage,
        output: [
          {
            type: "function_call",
            callId: `call_${results}`,
            name: "add",
            arguments: JSON.stringify(argsOf(results)),
            status: "completed"
          }
        ]
      }
    : {
        usage,
        output: [
          {
            type: "message",
            role: "assistant",
            status: "completed",
            content: [{ type: "output_text", text: ANSWER }]
          }
        ]
      }
}

const addTool = tool({
  name: "add",
  description: "Adds two numbers",
  parameters: z.object({ a: z.number(), b: z.number() }),
  execute: async (args) => add(args)
})

/** A model and a run over it; `latencyMs` > 0 makes each model call wait that long. */
export const make = (latencyMs) => {
  /** @type {import("@openai/agents-core").Model} */
  const model = {
    getResponse: async (request) => {
      if (latencyMs > 0) await sleep(latencyMs)
      return respond(request)
    },
    getStreamedResponse: () => {
      throw new Error("not used")
    }
  }
  const agent = new Agent({ name: "bench", instructions: "You add numbers.", model, tools: [addTool] })
  const runner = new Runner({ tracingDisabled: true })
  return {
    run: async () => (await runner.run(agent, QUESTION, { maxTurns: 10 })).finalOutput,
    forget: () => {}
  }
}
