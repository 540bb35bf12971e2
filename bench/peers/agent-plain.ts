/**
 * The floor: the agent loop written by hand in plain Effect — a model
 * function that answers from the message count, the tool called directly, no
 * Schemas, no budget, no trace. What the loop itself costs when nothing is
 * checked or recorded.
 */
import { Effect } from "effect"
import { ANSWER, add, argsOf, QUESTION, TOOL_CALLS, USAGE } from "./agent-task.ts"

interface Message {
  readonly role: "user" | "assistant" | "tool"
  readonly content: unknown
}
interface Reply {
  readonly text: string
  readonly call: { readonly id: string; readonly args: { a: number; b: number } } | undefined
  readonly usage: typeof USAGE
}

const respond = (messages: ReadonlyArray<Message>): Reply => {
  let results = 0
  for (const message of messages) if (message.role === "tool") results++
  return results < TOOL_CALLS
    ? { text: "", call: { id: `call_${results}`, args: argsOf(results) }, usage: USAGE }
    : { text: ANSWER, call: undefined, usage: USAGE }
}

/** One run; `latencyMs` > 0 makes each model call sleep that long. */
export const run = (latencyMs: number): Effect.Effect<string> => {
  const model = (messages: ReadonlyArray<Message>) =>
    latencyMs > 0
      ? Effect.as(Effect.sleep(latencyMs), respond(messages))
      : Effect.sync(() => respond(messages))
  return Effect.gen(function* () {
    const messages: Array<Message> = [{ role: "user", content: QUESTION }]
    for (let step = 0; step < 10; step++) {
      const reply = yield* model(messages)
      messages.push({ role: "assistant", content: reply })
      if (reply.call === undefined) return reply.text
      messages.push({ role: "tool", content: { id: reply.call.id, result: add(reply.call.args) } })
    }
    return ""
  })
}
