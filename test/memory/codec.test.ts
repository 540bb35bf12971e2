/**
 * Memory's fast path for the Prompt.Message Schema gives exactly what the
 * Schema gives, on every message and part kind, and leaves to the Schema
 * whatever it does not handle (file bytes, URLs, a field of the wrong type).
 */
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { Prompt } from "effect/ai"
import { decodeMessage, encodeMessage } from "../../src/memory/internal/codec.ts"
import { everyKind } from "./contract.ts"

const encodeSchema = Schema.encodeSync(Prompt.Message)
const decodeSchema = Schema.decodeUnknownSync(Prompt.Message)

const text = (t: string, options?: Prompt.ProviderOptions) =>
  Prompt.textPart({ text: t, ...(options ? { options } : {}) })

// Every message the fast path must handle: the contract's kinds without file bytes or URLs, plus the edge shapes.
const handled: ReadonlyArray<Prompt.Message> = [
  ...everyKind.filter(
    (m) => m.role !== "user" || m.content.every((p) => p.type !== "file" || typeof p.data === "string")
  ),
  Prompt.userMessage({ content: [text("one")] }),
  Prompt.userMessage({ content: [text("with options", { openai: { detail: "low" } })] }),
  Prompt.userMessage({ content: [text("a"), text("b")] }),
  Prompt.userMessage({ content: [] }),
  Prompt.userMessage({
    content: [Prompt.filePart({ mediaType: "text/plain", fileName: "a.txt", data: "aGk=" })],
    options: { anthropic: { cache: "ephemeral" } }
  }),
  Prompt.assistantMessage({ content: [Prompt.reasoningPart({ text: "only reasoning" })] }),
  Prompt.assistantMessage({ content: [] }),
  Prompt.toolMessage({ content: [] }),
  Prompt.toolMessage({
    content: [
      Prompt.toolResultPart({
        id: "c",
        name: "t",
        isFailure: false,
        result: null,
        modelOutput: [text("x"), Prompt.filePart({ mediaType: "text/plain", data: "eA==" })],
        providerExecuted: false
      }),
      Prompt.toolApprovalResponsePart({ approvalId: "a", approved: false })
    ]
  })
]

describe("Memory's Prompt.Message codec", () => {
  it("encodes every handled message exactly as the Schema does", () => {
    assert.strictEqual(handled.length, 13)
    for (const message of handled) {
      const fast = encodeMessage(message)
      assert.isDefined(fast, JSON.stringify(encodeSchema(message)))
      assert.deepStrictEqual(fast, encodeSchema(message) as unknown)
      // And as JSON text too, field order included.
      assert.strictEqual(JSON.stringify(fast), JSON.stringify(encodeSchema(message)))
    }
  })

  it("decodes every encoded message exactly as the Schema does, options and defaults included", () => {
    for (const message of handled) {
      const encoded = JSON.parse(JSON.stringify(encodeSchema(message)))
      const fast = decodeMessage(encoded)
      assert.isDefined(fast)
      assert.deepStrictEqual(fast, decodeSchema(encoded))
      assert.isTrue(Prompt.isMessage(fast))
    }
    // Encoded forms that leave out what has a default: options, providerExecuted.
    for (const encoded of [
      { role: "user", content: "hi" },
      { role: "assistant", content: [{ type: "tool-call", id: "c", name: "t", params: { a: 1 } }] },
      { role: "tool", content: [{ type: "tool-result", id: "c", name: "t", isFailure: true, result: "no" }] },
      { role: "user", content: [{ type: "text", text: "x", extra: "dropped" }], extra: 1 }
    ]) {
      assert.deepStrictEqual(decodeMessage(encoded), decodeSchema(encoded), JSON.stringify(encoded))
    }
  })

  it("leaves file bytes, URLs and malformed messages to the Schema", () => {
    const bytes = Prompt.userMessage({
      content: [Prompt.filePart({ mediaType: "image/png", data: new Uint8Array([1]) })]
    })
    const url = Prompt.userMessage({
      content: [Prompt.filePart({ mediaType: "image/png", data: new URL("https://x.y/") })]
    })
    assert.isUndefined(encodeMessage(bytes))
    assert.isUndefined(encodeMessage(url))
    assert.isUndefined(decodeMessage(encodeSchema(bytes)))
    for (const bad of [
      null,
      "text",
      { role: "robot", content: "x" },
      { role: "tool", content: "x" },
      { role: "user", content: [{ type: "tool-call", id: "c", name: "t", params: {} }] },
      { role: "assistant", content: [{ type: "tool-call", id: 1, name: "t", params: {} }] },
      { role: "assistant", content: [{ type: "tool-call", id: "c", name: "t" }] },
      { role: "user", content: "x", options: null },
      { role: "system", content: ["x"] }
    ]) {
      assert.isUndefined(decodeMessage(bad), JSON.stringify(bad))
    }
  })
})

describe("Memory's Prompt.Message codec (property)", () => {
  it.prop(
    "on any message the Schema can encode, the fast path agrees with it or leaves it to it",
    { message: Prompt.Message },
    ({ message }) => {
      const fast = encodeMessage(message)
      const bySchema = encodeSchema(message)
      if (fast !== undefined) assert.deepStrictEqual(fast, bySchema as unknown)
      const json = JSON.parse(JSON.stringify(bySchema))
      const decoded = decodeMessage(json)
      if (decoded !== undefined) assert.deepStrictEqual(decoded, decodeSchema(json))
    },
    { arbitrary: { runs: 1_000 } }
  )
})
