/**
 * Memory: a session's conversation turns and its typed working state.
 *
 *   npm run snippet -- memory
 */
import { Console, Effect, Option, Schema } from "effect"
import { Memory } from "weft-ai"

// Working state is typed by a Schema; it is stored encoded and decoded on the way out.
const Cart = Schema.Struct({ items: Schema.Array(Schema.String), total: Schema.Number })
const Other = Schema.Struct({ step: Schema.Number })

const program = Effect.gen(function* () {
  const memory = yield* Memory.Memory

  yield* memory.append("session-1", { role: "user", text: "What does the budget limit?" })
  yield* memory.append("session-1", {
    role: "assistant",
    text: "Tokens, calls, cost and wall time [1].",
    citations: ["budget.md"]
  })
  yield* memory.append("session-1", { role: "user", text: "And retries?" })

  const lastTwo = yield* memory.history("session-1", { last: 2 })
  yield* Console.log(
    "last two turns:",
    lastTwo.map((t) => `${t.role}: ${t.text}`)
  )

  yield* memory.setState("session-1", Cart, { items: ["book"], total: 12 })
  const cart = yield* memory.getState("session-1", Cart)
  yield* Console.log("cart:", Option.getOrUndefined(cart))
  yield* Console.log("state of an unknown session:", yield* memory.getState("session-2", Cart))

  // Reading the state under another shape is a typed MemoryError, not a wrong value;
  // its reason can be caught on its own.
  const wrongShape = yield* memory.getState("session-1", Other).pipe(
    Effect.map(() => "read"),
    Effect.catchReason("MemoryError", "InvalidState", (reason) =>
      Effect.succeed(`MemoryError (${reason._tag}): ${reason.message}`)
    )
  )
  yield* Console.log(wrongShape)

  const blank = yield* Effect.flip(memory.history(" "))
  yield* Console.log(`${blank._tag} (${blank.reason._tag}): ${blank.message}`)

  yield* memory.clear("session-1")
  yield* Console.log("turns after clear:", (yield* memory.history("session-1")).length)
})

Effect.runPromise(Effect.provide(program, Memory.layerInMemory))
