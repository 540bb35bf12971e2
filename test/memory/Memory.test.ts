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
      assert.strictEqual((yield* memory.history("b")).length, 1)
    }).pipe(Effect.provide(Memory.Memory.layerInMemory))
  )

  it.effect("stores typed state and refuses to read it back under another shape", () =>
    Effect.gen(function* () {
      const memory = yield* Memory.Memory
      assert.isTrue(Option.isNone(yield* memory.getState("s", Profile)))
      yield* memory.setState("s", Profile, { name: "Ada", visits: 2 })
      assert.deepStrictEqual(yield* memory.getState("s", Profile), Option.some({ name: "Ada", visits: 2 }))
      const error = yield* Effect.flip(memory.getState("s", Other))
      assert.strictEqual(error.reason, "InvalidState")
      yield* memory.clear("s")
      assert.isTrue(Option.isNone(yield* memory.getState("s", Profile)))
    }).pipe(Effect.provide(Memory.Memory.layerInMemory))
  )

  it.effect("an empty session id is a typed error", () =>
    Effect.gen(function* () {
      const memory = yield* Memory.Memory
      const error = yield* Effect.flip(memory.append("  ", { role: "user", text: "x" }))
      assert.strictEqual(error.reason, "InvalidSession")
    }).pipe(Effect.provide(Memory.Memory.layerInMemory))
  )
})
