/**
 * Memory over the in-memory store: the shared contract (history of effect/ai
 * Prompt messages, typed state, paused runs taken once), plus what is
 * particular to keeping everything in the process.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Prompt } from "effect/ai"
import { Memory } from "../../src/memory/index.ts"
import { memoryContract, text } from "./contract.ts"

memoryContract("in-memory store", Memory.Store.layerInMemory)

describe("Memory (in-memory)", () => {
  it.effect("each build of the layer starts empty", () =>
    Effect.gen(function* () {
      yield* Memory.Memory.use((memory) => memory.append("a", [text("user", "kept?")])).pipe(
        Effect.provide(Memory.layerInMemory)
      )
      const messages = yield* Memory.Memory.use((memory) => memory.history("a")).pipe(
        Effect.provide(Memory.layerInMemory)
      )
      assert.strictEqual(messages.length, 0)
    })
  )

  it.effect(
    "the store holds messages as JSON text a database could keep: the Prompt Schema's encoded form",
    () =>
      Effect.gen(function* () {
        const store = Memory.Store.makeInMemory()
        const memory = Memory.make(store)
        const call = Prompt.assistantMessage({
          content: [
            Prompt.toolCallPart({ id: "c1", name: "convert", params: { value: 3 }, providerExecuted: false }),
            Prompt.filePart({ mediaType: "image/png", data: new Uint8Array([1, 2, 3]) })
          ]
        })
        yield* memory.append("a", [call])
        const [stored] = yield* store.readMessages("a", undefined)
        assert.deepStrictEqual(stored, Schema.encodeSync(Prompt.Message)(call) as unknown as Schema.Json)
        assert.deepStrictEqual(stored, {
          role: "assistant",
          content: [
            {
              type: "tool-call",
              id: "c1",
              name: "convert",
              params: { value: 3 },
              providerExecuted: false,
              options: {}
            },
            {
              type: "file",
              mediaType: "image/png",
              data: { _tag: "Uint8Array", base64: "AQID" },
              options: {}
            }
          ],
          options: {}
        })
      })
  )

  it.effect("textOf joins a message's text parts; a system message is its content", () =>
    Effect.sync(() => {
      assert.strictEqual(Memory.textOf(Prompt.systemMessage({ content: "be brief" })), "be brief")
      const message = Prompt.assistantMessage({
        content: [
          Prompt.textPart({ text: "one" }),
          Prompt.toolCallPart({ id: "c", name: "t", params: {}, providerExecuted: false }),
          Prompt.textPart({ text: "two" })
        ]
      })
      assert.strictEqual(Memory.textOf(message), "one\n\ntwo")
    })
  )
})
