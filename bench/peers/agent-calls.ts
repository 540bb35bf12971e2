/**
 * The Weft side of the agent bench task (bench/peers/agent-task.ts), shared by
 * bench/agent.ts and bench/peers/agent-profile.ts: the bench agent with its
 * `add` tool, the Scripted model's decision, a bare effect/ai mock giving the
 * same replies, and the model calls of one run made as Weft's agent makes them
 * but with no agent around them (the conversation grows by each tool call and
 * a fixed result (3), until the model answers).
 */
import { Effect, Layer, Schema } from "effect"
import { LanguageModel, Prompt, type Response, Tool, Toolkit } from "effect/ai"
import { Agent } from "../../src/agent/index.ts"
import { Budget } from "../../src/budget/index.ts"
import { Scripted } from "../../src/model/index.ts"
import { ANSWER, add, argsOf, QUESTION, TOOL_CALLS, USAGE } from "./agent-task.ts"

const Add = Tool.make("add", {
  description: "Adds two numbers",
  parameters: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  success: Schema.Number
})
const toolkit = Toolkit.make(Add)
const handlers = toolkit.toLayer({ add: (args) => Effect.succeed(add(args)) })
export const agent = Agent.make({ name: "bench", instructions: "You add numbers.", toolkit, maxSteps: 10 })
/** The limits every Weft run of the bench is given. */
export const budget = { modelCalls: 10, toolCalls: 10 }

const toolResults = (prompt: Prompt.Prompt): number => {
  let results = 0
  for (const message of prompt.content) if (message.role === "tool") results++
  return results
}

/** The Scripted model's reply: an `add` call until the prompt holds TOOL_CALLS results, then the answer. */
export const decide = (prompt: Prompt.Prompt): Scripted.Entry => {
  const n = toolResults(prompt)
  // Fixed usage, as every peer's test model reports it (else Scripted counts the prompt's tokens).
  return n < TOOL_CALLS
    ? { toolCalls: [{ name: "add", params: argsOf(n), id: `call_${n}` }], usage: USAGE }
    : { text: ANSWER, usage: USAGE }
}

/** The Scripted model replying with `reply` (default `decide`), each call after `latencyMs`, and the tool handlers. */
export const weftLayer = async (latencyMs: number, reply: typeof decide = decide) => {
  const scripted = await Effect.runPromise(
    Scripted.make([{ repeat: latencyMs > 0 ? { delay: latencyMs, reply } : reply }], { record: false })
  )
  return Layer.merge(scripted.layer as Layer.Layer<LanguageModel.LanguageModel>, handlers)
}

/** The same replies as `decide`, as the response parts a bare `LanguageModel.make` mock returns. */
const bareParts = (prompt: Prompt.Prompt): Array<Response.PartEncoded> => {
  const n = toolResults(prompt)
  const finish: Response.PartEncoded = {
    type: "finish",
    reason: n < TOOL_CALLS ? "tool-calls" : "stop",
    usage: { inputTokens: { total: USAGE.inputTokens }, outputTokens: { total: USAGE.outputTokens } }
  }
  return n < TOOL_CALLS
    ? [{ type: "tool-call", id: `call_${n}`, name: "add", params: argsOf(n) }, finish]
    : [{ type: "text", text: ANSWER }, finish]
}

/** A bare effect/ai mock model (no Weft in it) replying as `decide`, each call after `latencyMs`. */
export const bareLayer = (latencyMs: number): Layer.Layer<LanguageModel.LanguageModel> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: (options) => {
        const parts = Effect.sync(() => bareParts(options.prompt))
        return latencyMs > 0 ? Effect.andThen(Effect.sleep(latencyMs), parts) : parts
      },
      streamText: () => Effect.die("not used") as any
    })
  )

/** At most `maxCalls` calls with `toolkit` offered and tool-call resolution off; the answer's text. */
const modelCallsOnly = (options: {
  readonly question: string
  readonly toolkit: unknown
  readonly maxCalls: number
  readonly validation: "deferred" | "strict"
}) =>
  Effect.gen(function* () {
    const messages: Array<Prompt.Message> = [
      Prompt.makeMessage("system", { content: "You add numbers." }),
      Prompt.makeMessage("user", { content: [Prompt.makePart("text", { text: options.question })] })
    ]
    for (let step = 0; step < options.maxCalls; step++) {
      const response = yield* LanguageModel.generateText({
        prompt: Prompt.fromMessages(messages.slice()),
        toolkit: options.toolkit,
        disableToolCallResolution: true,
        ...(options.validation === "deferred" ? { toolCallValidation: "deferred" } : {})
      } as any)
      const call = response.toolCalls[0] as { id: string; name: string; params: unknown } | undefined
      if (call === undefined) return response.text
      messages.push(
        Prompt.makeMessage("assistant", {
          content: [
            Prompt.makePart("tool-call", {
              id: call.id,
              name: call.name,
              params: call.params,
              providerExecuted: false
            })
          ]
        }),
        Prompt.makeMessage("tool", {
          content: [
            Prompt.makePart("tool-result", {
              id: call.id,
              name: call.name,
              isFailure: false,
              result: 3,
              providerExecuted: false
            })
          ]
        })
      )
    }
    return ""
  })

// The toolkit's tools offered to the model; its handler is never called (resolution is off).
const stubToolkit = { tools: toolkit.tools, handle: () => Effect.die("not called") } as any

/** The bench run's model calls alone (TOOL_CALLS + 1), with the agent's deferred or effect/ai's strict validation. */
export const fourCalls = (validation: "deferred" | "strict") =>
  modelCallsOnly({ question: QUESTION, toolkit: stubToolkit, maxCalls: TOOL_CALLS + 1, validation })

/** `effect` under a fresh in-memory budget with the bench's limits. */
export const withBudget = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Budget.make(budget), (b) => Effect.provideService(effect, Budget.Budget, b))
