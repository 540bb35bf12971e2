/**
 * Memory (in-memory): turns per session, typed state, and one `MemoryError`
 * whose reasons `catchReason` can pick out.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import { Memory } from "../../src/memory/index.ts"

const Profile = Schema.Struct({ name: Schema.String, visits: Schema.Number })
const Other = Schema.Struct({ count: Schema.Number })

describe("Memory (in-memory)", () => {
  it.effect("keeps turns per session in order and returns the newest n", () =>
    Effect.gen(function* () {
      const memory = yield* Memory.Memory
      yield* memory.append("a", { role: "user", text: "hi" })
      yield* memory.append("a", { role: "assistant", text: "hello", citations: ["docs/x.md#0"] })
      yield* memory.append("b", { role: "user", text: "other session" })
      yield* memory.append("a", { role: "user", text: "again" })
      assert.deepStrictEqual(
        (yield* memory.history("a")).map((t) => t.text),
        ["hi", "hello", "again"]
      )
      assert.deepStrictEqual(
        (yield* memory.history("a", { last: 2 })).map((t) => t.text),
        ["hello", "again"]
      )
      assert.strictEqual((yield* memory.history("a", { last: 10 })).length, 3)
      assert.strictEqual((yield* memory.history("a", { last: 0 })).length, 0)
      assert.strictEqual((yield* memory.history("b")).length, 1)
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("history takes last: undefined (an option left unset) as every turn", () =>
    Effect.gen(function* () {
      const memory = yield* Memory.Memory
      yield* memory.append("a", { role: "user", text: "one" })
      yield* memory.append("a", { role: "user", text: "two" })
      const configured: { readonly last: number | undefined } = { last: undefined }
      assert.strictEqual((yield* memory.history("a", configured)).length, 2)
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("a last that is not an integer ≥ 0 is InvalidOption naming it and the value", () =>
    Effect.gen(function* () {
      const memory = yield* Memory.Memory
      yield* memory.append("a", { role: "user", text: "one" })
      for (const [last, shown] of [
        [-1, "-1"],
        [1.5, "1.5"],
        [Number.NaN, "NaN"]
      ] as const) {
        const reason = yield* memory.history("a", { last }).pipe(
          Effect.map(() => undefined),
          Effect.catchReason("MemoryError", "InvalidOption", (reason) => Effect.succeed(reason))
        )
        assert.strictEqual(reason?.option, "last")
        assert.strictEqual(reason?.value, shown)
      }
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("stores typed state and refuses to read it back under another shape", () =>
    Effect.gen(function* () {
      const memory = yield* Memory.Memory
      assert.isTrue(Option.isNone(yield* memory.getState("s", Profile)))
      yield* memory.setState("s", Profile, { name: "Ada", visits: 2 })
      assert.deepStrictEqual(yield* memory.getState("s", Profile), Option.some({ name: "Ada", visits: 2 }))
      const reason = yield* memory.getState("s", Other).pipe(
        Effect.map(() => undefined),
        Effect.catchReason("MemoryError", "InvalidState", (reason) => Effect.succeed(reason))
      )
      assert.strictEqual(reason?.sessionId, "s")
      assert.match(reason!.message, /^State of session "s" does not match the schema: .*count/)
      yield* memory.clear("s")
      assert.isTrue(Option.isNone(yield* memory.getState("s", Profile)))
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("an empty session id is a typed error, never retryable", () =>
    Effect.gen(function* () {
      const memory = yield* Memory.Memory
      const error = yield* Effect.flip(memory.append("  ", { role: "user", text: "x" }))
      assert.strictEqual(error._tag, "MemoryError")
      assert.strictEqual(error.reason._tag, "InvalidSession")
      assert.isFalse(error.isRetryable)
      assert.match(error.message, /Session id must not be empty/)
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("each build of the layer starts empty", () =>
    Effect.gen(function* () {
      yield* Memory.Memory.use((memory) => memory.append("a", { role: "user", text: "kept?" })).pipe(
        Effect.provide(Memory.layerInMemory)
      )
      const turns = yield* Memory.Memory.use((memory) => memory.history("a")).pipe(
        Effect.provide(Memory.layerInMemory)
      )
      assert.strictEqual(turns.length, 0)
    })
  )
})
