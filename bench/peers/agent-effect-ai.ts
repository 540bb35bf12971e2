/**
 * effect/ai's own toolkit loop: `LanguageModel.generateText` with a toolkit
 * (effect/ai resolves each tool call through the toolkit's handler), called
 * until the model stops asking for tools, the conversation carried as
 * effect/ai `Prompt` messages. The model is a bare `LanguageModel.make` mock
 * answering from the prompt, as effect/ai's own tests build one.
 */
import { Effect, Layer, Schema, Stream } from "effect"
import { LanguageModel, Prompt, type Response, Tool, Toolkit } from "effect/ai"
import { ANSWER, add, argsOf, QUESTION, TOOL_CALLS, USAGE } from "./agent-task.ts"

const Add = Tool.make("add", {
  description: "Adds two numbers",
  parameters: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  success: Schema.Number
})
const toolkit = Toolkit.make(Add)
const handlers = toolkit.toLayer({ add: (args) => Effect.succeed(add(args)) })

const finish = (reason: Response.FinishReason): Response.PartEncoded => ({
  type: "finish",
  reason,
  usage: { inputTokens: { total: USAGE.inputTokens }, outputTokens: { total: USAGE.outputTokens } }
})

const respond = (prompt: Prompt.Prompt): Array<Response.PartEncoded> => {
  let results = 0
  for (const message of prompt.content) if (message.role === "tool") results++
  return results < TOOL_CALLS
    ? [
        { type: "tool-call", id: `call_${results}`, name: "add", params: argsOf(results) },
        finish("tool-calls")
      ]
    : [{ type: "text", text: ANSWER }, finish("stop")]
}

/** The mock model and the tool handlers; `latencyMs` > 0 makes each call sleep that long. */
export const layer = (
  latencyMs: number
): Layer.Layer<LanguageModel.LanguageModel | Tool.HandlersFor<typeof toolkit.tools>> =>
  Layer.merge(
    Layer.effect(
      LanguageModel.LanguageModel,
      LanguageModel.make({
        generateText: (options) =>
          latencyMs > 0
            ? Effect.as(Effect.sleep(latencyMs), respond(options.prompt))
            : Effect.sync(() => respond(options.prompt)),
        streamText: (options) =>
          Stream.fromArray(respond(options.prompt) as Array<Response.StreamPartEncoded>)
      })
    ),
    handlers
  )

/** One run: generateText with the toolkit until the model answers. */
export const run: Effect.Effect<
  string,
  unknown,
  LanguageModel.LanguageModel | Tool.HandlersFor<typeof toolkit.tools>
> = Effect.gen(function* () {
  let prompt = Prompt.make(QUESTION)
  for (let step = 0; step < 10; step++) {
    const response = yield* LanguageModel.generateText({ prompt, toolkit })
    if (response.toolCalls.length === 0) return response.text
    prompt = Prompt.concat(prompt, Prompt.fromResponseParts(response.content))
  }
  return ""
})
