/**
 * Handoffs: an agent hands the conversation to another through a tool call,
 * with the history carried, the instructions swapped and one budget shared.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Schema, Stream } from "effect"
import { type Prompt, Tool, Toolkit } from "effect/ai"
import { Agent } from "../../src/agent/index.ts"
import { Scripted } from "../../src/model/index.ts"

const Lookup = Tool.make("lookup_order", {
  description: "Finds an order",
  parameters: Schema.Struct({ order: Schema.String }),
  success: Schema.Struct({ status: Schema.String })
})
const Refund = Tool.make("refund", {
  description: "Refunds an order",
  parameters: Schema.Struct({ order: Schema.String }),
  success: Schema.String
})
const triageTools = Toolkit.make(Lookup)
const billingTools = Toolkit.make(Refund)

const billing = Agent.make({
  name: "billing",
  instructions: "You handle refunds.",
  description: "Refunds and invoices",
  toolkit: billingTools,
  output: Schema.Struct({ refunded: Schema.Boolean })
})
const triage = Agent.make({
  name: "triage",
  instructions: "You route customers.",
  toolkit: triageTools,
  handoffs: [billing]
})

const setup = (script: ReadonlyArray<Scripted.Entry>) =>
  Effect.gen(function* () {
    const ran: Array<string> = []
    const model = yield* Scripted.make(script)
    const layer = Layer.mergeAll(
      model.layer,
      triageTools.toLayer({
        lookup_order: ({ order }) =>
          Effect.sync(() => {
            ran.push(`lookup ${order}`)
            return { status: "delivered" }
          })
      }),
      billingTools.toLayer({
        refund: ({ order }) =>
          Effect.sync(() => {
            ran.push(`refund ${order}`)
            return `refunded ${order}`
          })
      })
    )
    return { ran, model, layer }
  })

const script: ReadonlyArray<Scripted.Entry> = [
  { toolCalls: [{ name: "lookup_order", params: { order: "A1" } }] },
  { toolCalls: [{ name: "transfer_to_billing", params: { reason: "wants a refund" } }] },
  { toolCalls: [{ name: "refund", params: { order: "A1" } }] },
  '{"refunded": true}'
]

describe("handoffs", () => {
  it.effect("hand the conversation, history included, to another agent, under one budget", () =>
    Effect.gen(function* () {
      const { ran, model, layer } = yield* setup(script)
      const result = yield* Effect.provide(
        Agent.run(triage, "Refund order A1 please", { budget: { modelCalls: 4, toolCalls: 3 } }),
        layer
      )
      assert.strictEqual(result._tag, "Completed")
      if (result._tag !== "Completed") return
      assert.strictEqual(result.agent, "billing")
      assert.deepStrictEqual(result.output, { refunded: true })
      assert.deepStrictEqual(ran, ["lookup A1", "refund A1"])
      // One budget: both agents' model and tool calls (the handoff is a tool call too).
      assert.strictEqual(result.usage.modelCalls, 4)
      assert.strictEqual(result.usage.toolCalls, 3)
      assert.deepStrictEqual(
        result.toolCalls.map((r) => [r.agent, r.tool, r.outcome]),
        [
          ["triage", "lookup_order", "ok"],
          ["triage", "transfer_to_billing", "handoff"],
          ["billing", "refund", "ok"]
        ]
      )
      const prompts = yield* model.prompts
      const afterHandoff = prompts[2] as Prompt.Prompt
      // The specialist's instructions replace the triage agent's; the rest of the conversation is carried over.
      const system = afterHandoff.content[0] as Prompt.SystemMessage
      assert.strictEqual(system.content, "You handle refunds.")
      assert.deepStrictEqual(
        afterHandoff.content.map((m) => m.role),
        ["system", "user", "assistant", "tool", "assistant", "tool"]
      )
      assert.match(JSON.stringify(afterHandoff.content[1]), /Refund order A1 please/)
      assert.match(JSON.stringify(afterHandoff.content[3]), /delivered/)
      // The triage model was offered the handoff as a tool, described by the target.
      assert.isTrue(
        result.trace.some((e) => e.type === "end" && e.step === "triage/tool transfer_to_billing")
      )
      assert.isTrue(result.trace.some((e) => e.type === "end" && e.step === "billing/turn 3"))
    })
  )

  it.effect("the shared budget stops the specialist too", () =>
    Effect.gen(function* () {
      const { ran, model, layer } = yield* setup(script)
      const exit = yield* Effect.exit(
        Effect.provide(Agent.run(triage, "Refund order A1 please", { budget: { toolCalls: 2 } }), layer)
      )
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
      assert.strictEqual(error?._tag === "Some" ? (error.value as any)._tag : undefined, "BudgetError")
      assert.deepStrictEqual(ran, ["lookup A1"])
      assert.strictEqual(yield* model.calls, 3)
    })
  )

  it.effect("the stream says when the conversation was handed over", () =>
    Effect.gen(function* () {
      const { layer } = yield* setup(script)
      const events = yield* Effect.provide(Stream.runCollect(Agent.stream(triage, "Refund A1")), layer)
      const handoff = Array.from(events).find((e) => e.type === "handoff")
      assert.deepStrictEqual(handoff, { type: "handoff", from: "triage", to: "billing", step: 2 })
      const end = Array.from(events).at(-1)
      assert.deepStrictEqual(end?.type === "end" ? [end.reason, end.agent, end.output] : [], [
        "final",
        "billing",
        { refunded: true }
      ])
    })
  )
})
