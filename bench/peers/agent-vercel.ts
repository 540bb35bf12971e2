/**
 * The Vercel AI SDK (v6): one `generateText` call with a tool and
 * `stopWhen: stepCountIs(10)`, the SDK running its own loop; the model is
 * the SDK's test double (`MockLanguageModelV3` from `ai/test`) answering from
 * the prompt it is given.
 */
import { generateText, jsonSchema, stepCountIs, tool } from "ai"
import { MockLanguageModelV3 } from "ai/test"
import { ANSWER, add, argsOf, QUESTION, TOOL_CALLS, USAGE } from "./agent-task.ts"

const usage = {
  inputTokens: { total: USAGE.inputTokens, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: USAGE.outputTokens, text: undefined, reasoning: undefined }
}

const respond = (prompt: ReadonlyArray<{ readonly role: string }>) => {
  let results = 0
  for (const message of prompt) if (message.role === "tool") results++
  return results < TOOL_CALLS
    ? {
        content: [
          {
            type: "tool-call" as const,
            toolCallId: `call_${results}`,
            toolName: "add",
            input: JSON.stringify(argsOf(results))
          }
        ],
        finishReason: { unified: "tool-calls" as const, raw: "tool_calls" },
        usage,
        warnings: []
      }
    : {
        content: [{ type: "text" as const, text: ANSWER }],
        finishReason: { unified: "stop" as const, raw: "stop" },
        usage,
        warnings: []
      }
}

const tools = {
  add: tool({
    description: "Adds two numbers",
    inputSchema: jsonSchema<{ a: number; b: number }>({
      type: "object",
      properties: { a: { type: "number" }, b: { type: "number" } },
      required: ["a", "b"]
    }),
    execute: async (args) => add(args)
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A model and a run over it; `latencyMs` > 0 makes each model call wait that long. */
export const make = (latencyMs: number) => {
  const model = new MockLanguageModelV3({
    doGenerate: async (options) => {
      if (latencyMs > 0) await sleep(latencyMs)
      return respond(options.prompt)
    }
  })
  return {
    run: async (): Promise<string> =>
      (await generateText({ model, prompt: QUESTION, tools, stopWhen: stepCountIs(10) })).text,
    /** The mock keeps every call's options; forget them between rounds. */
    forget: () => {
      model.doGenerateCalls.length = 0
    }
  }
}
