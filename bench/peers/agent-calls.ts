/**
 * The model calls of one bench agent run, made as Weft's agent makes them but
 * with no agent around them: the conversation grows by each tool call and a
 * fixed result (3), until the model answers. Shared by bench/agent.ts (its
 * breakdown of where a run's time goes) and bench/peers/agent-profile.ts.
 */
import { Effect } from "effect"
import { LanguageModel, Prompt } from "effect/ai"

/** At most `maxCalls` calls with `toolkit` offered and tool-call resolution off; the answer's text. */
export const modelCallsOnly = (options: {
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
