/**
 * Memory: a session's history as effect/ai Prompt messages (tool calls and
 * results included), its typed working state, and a paused run taken once.
 *
 *   npm run snippet -- memory
 */
import { Console, Effect, Option, Schema } from "effect"
import { Prompt } from "effect/ai"
import { Memory } from "weft-ai"

// Working state is typed by a Schema; it is stored encoded and decoded on the way out.
const Cart = Schema.Struct({ items: Schema.Array(Schema.String), total: Schema.Number })
const Other = Schema.Struct({ step: Schema.Number })

// What an agent keeps while a tool call waits for a person's approval.
const PendingApproval = Schema.Struct({
  toolCallId: Schema.String,
  tool: Schema.String,
  params: Schema.Unknown,
  history: Schema.Array(Prompt.Message)
})

const program = Effect.gen(function* () {
  const memory = yield* Memory.Memory

  // A conversation with a tool call and its result, as effect/ai Prompt messages.
  yield* memory.append("session-1", [
    Prompt.userMessage({ content: [Prompt.textPart({ text: "How far is 3 km in miles?" })] }),
    Prompt.assistantMessage({
      content: [
        Prompt.toolCallPart({
          id: "call-1",
          name: "convert",
          params: { value: 3, from: "km", to: "mi" },
          providerExecuted: false
        })
      ]
    }),
    Prompt.toolMessage({
      content: [
        Prompt.toolResultPart({
          id: "call-1",
          name: "convert",
          isFailure: false,
          result: { value: 1.864 },
          providerExecuted: false
        })
      ]
    }),
    Prompt.assistantMessage({ content: [Prompt.textPart({ text: "3 km is about 1.86 miles." })] })
  ])

  const history = yield* memory.history("session-1")
  yield* Console.log(
    "history:",
    history.map((m) => m.role)
  )
  // Trimmed to the newest messages: a trimmed history never opens on a tool result cut off from its call.
  const lastTwo = yield* memory.history("session-1", { last: 2 })
  yield* Console.log(
    "last two:",
    lastTwo.map((m) => `${m.role}: ${Memory.textOf(m)}`)
  )
  const within = yield* memory.history("session-1", { maxTokens: 20 })
  yield* Console.log(`within 20 tokens: ${within.length} message(s)`)
  // The history goes into the next prompt as it is.
  const prompt = Prompt.concat(Prompt.fromMessages(history), Prompt.make("And 5 km?"))
  yield* Console.log(`next prompt: ${prompt.content.length} messages`)

  yield* memory.setState("session-1", Cart, { items: ["book"], total: 12 })
  yield* Console.log("cart:", Option.getOrUndefined(yield* memory.getState("session-1", Cart)))

  // Reading the state under another shape is a typed MemoryError, not a wrong value.
  const wrongShape = yield* memory.getState("session-1", Other).pipe(
    Effect.map(() => "read"),
    Effect.catchReason("MemoryError", "InvalidState", (reason) =>
      Effect.succeed(`MemoryError (${reason._tag}): ${reason.message}`)
    )
  )
  yield* Console.log(wrongShape)

  // A paused run: stored as data, taken once.
  const id = crypto.randomUUID()
  yield* memory.putPaused(
    id,
    PendingApproval,
    { toolCallId: "call-2", tool: "delete_file", params: { path: "notes.txt" }, history },
    { sessionId: "session-1" }
  )
  yield* Console.log(`waiting for approval: ${(yield* memory.listPaused({ sessionId: "session-1" })).length}`)
  const resumed = yield* memory.takePaused(id, PendingApproval)
  yield* Console.log(
    `resumed: ${resumed.tool} ${JSON.stringify(resumed.params)}, ${resumed.history.length} messages`
  )
  const again = yield* memory.takePaused(id, PendingApproval).pipe(
    Effect.map(() => "resumed twice"),
    Effect.catchReason("MemoryError", "PausedRunUsed", (reason) =>
      Effect.succeed(`second resume refused: ${reason._tag}`)
    )
  )
  yield* Console.log(again)

  yield* memory.clear("session-1")
  yield* Console.log("messages after clear:", (yield* memory.history("session-1")).length)
})

Effect.runPromise(Effect.provide(program, Memory.layerInMemory))
