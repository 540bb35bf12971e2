/**
 * Human in the loop: a tool that needs approval pauses the run; resume, from
 * another call, runs it once when approved and tells the model when refused;
 * a used or unknown approval id is a typed error, and no approval is asked
 * twice or bypassed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Schema } from "effect"
import { type Prompt, Tool, Toolkit } from "effect/ai"
import { Agent } from "../../src/agent/index.ts"
import { Memory } from "../../src/memory/index.ts"
import { Scripted } from "../../src/model/index.ts"

const Transfer = Tool.make("transfer", {
  description: "Moves money",
  parameters: Schema.Struct({ to: Schema.String, amount: Schema.Number }),
  success: Schema.String
})
const Balance = Tool.make("balance", {
  description: "Reads the balance",
  parameters: Schema.Struct({}),
  success: Schema.Number
})
const tools = Toolkit.make(Transfer, Balance)

const bank = Agent.make({
  name: "bank",
  instructions: "You move money.",
  toolkit: tools,
  tools: { transfer: { needsApproval: (params) => params.amount > 100 } }
})

const errorOf = (exit: Exit.Exit<unknown, unknown>): any => {
  assert.isTrue(Exit.isFailure(exit))
  if (!Exit.isFailure(exit)) return undefined
  const found = Cause.findErrorOption(exit.cause)
  return found._tag === "Some" ? found.value : undefined
}

/**
 * Each "request" builds its own model and handlers from the same script
 * position, as separate HTTP requests would; only the Memory is shared.
 */
const world = (script: ReadonlyArray<Scripted.Entry>) =>
  Effect.gen(function* () {
    const transfers: Array<string> = []
    const model = yield* Scripted.make(script)
    const handlers = tools.toLayer({
      transfer: ({ to, amount }) =>
        Effect.sync(() => {
          transfers.push(`${amount} to ${to}`)
          return `sent ${amount} to ${to}`
        }),
      balance: () => Effect.succeed(500)
    })
    const memory = yield* Layer.build(Memory.layerInMemory)
    const request = <A, E>(effect: Effect.Effect<A, E, any>) =>
      Effect.provide(effect, Layer.mergeAll(model.layer, handlers, Layer.succeedContext(memory)))
    return { transfers, model, request, memory }
  })

const bigTransfer: Scripted.Entry = {
  toolCalls: [
    { name: "balance", params: {} },
    { name: "transfer", params: { to: "alice", amount: 250 } }
  ]
}

describe("approvals", () => {
  it.effect("pause, then an approval in a separate call runs the tool once and the run goes on", () =>
    Effect.gen(function* () {
      const { transfers, model, request, memory } = yield* world([bigTransfer, "Sent 250 to alice."])
      const paused = yield* request(Agent.run(bank, "send alice 250"))
      assert.strictEqual(paused._tag, "Paused")
      if (paused._tag !== "Paused") return
      assert.deepStrictEqual(transfers, [], "nothing is sent before the approval")
      assert.strictEqual(paused.approval.tool, "transfer")
      assert.deepStrictEqual(paused.approval.arguments, { to: "alice", amount: 250 })
      // The other call of the step ran.
      assert.deepStrictEqual(
        paused.toolCalls.map((r) => [r.tool, r.outcome]),
        [["balance", "ok"]]
      )
      // The paused run is data in the Memory, waiting.
      const waiting = yield* Effect.provideContext(
        Effect.flatMap(Memory.Memory, (m) => m.listPaused()),
        memory
      )
      assert.deepStrictEqual(
        waiting.map((w) => w.id),
        [paused.approval.id]
      )

      const resumed = yield* request(Agent.resume(bank, paused.approval.id, { approved: true }))
      assert.strictEqual(resumed._tag, "Completed")
      if (resumed._tag === "Completed") assert.strictEqual(resumed.output, "Sent 250 to alice.")
      assert.deepStrictEqual(transfers, ["250 to alice"])
      assert.deepStrictEqual(
        resumed.toolCalls.map((r) => [r.tool, r.outcome]),
        [["transfer", "ok"]]
      )
      // The model's next call saw both results, in the order it asked for them.
      const prompts = yield* model.prompts
      const tool = (prompts[1] as Prompt.Prompt).content.at(-1) as Prompt.ToolMessage
      assert.deepStrictEqual(
        tool.content.map((p) => (p.type === "tool-result" ? [p.name, p.result] : undefined)),
        [
          ["balance", 500],
          ["transfer", "sent 250 to alice"]
        ]
      )

      // A second resume of the same id is refused, and nothing runs again.
      const again = errorOf(
        yield* Effect.exit(request(Agent.resume(bank, paused.approval.id, { approved: true })))
      )
      assert.strictEqual(again?._tag, "AgentError")
      assert.strictEqual(again?.reason._tag, "ApprovalUsed")
      assert.deepStrictEqual(transfers, ["250 to alice"])
      assert.strictEqual(yield* model.calls, 2)
    })
  )

  it.effect("a refusal tells the model, and the tool never runs", () =>
    Effect.gen(function* () {
      const { transfers, model, request } = yield* world([bigTransfer, "I did not send it."])
      const paused = yield* request(Agent.run(bank, "send alice 250"))
      if (paused._tag !== "Paused") return assert.fail("not paused")
      const resumed = yield* request(
        Agent.resume(bank, paused.approval.id, { approved: false, reason: "too much" })
      )
      assert.strictEqual(resumed._tag, "Completed")
      assert.deepStrictEqual(transfers, [])
      assert.deepStrictEqual(
        resumed.toolCalls.map((r) => r.outcome),
        ["approval-denied"]
      )
      const prompts = yield* model.prompts
      const tool = (prompts[1] as Prompt.Prompt).content.at(-1) as Prompt.ToolMessage
      const refused = tool.content[1]
      assert.isTrue(refused?.type === "tool-result" && refused.isFailure)
      assert.match(JSON.stringify(refused), /A person refused the call to transfer: too much/)
      const again = errorOf(
        yield* Effect.exit(request(Agent.resume(bank, paused.approval.id, { approved: true })))
      )
      assert.strictEqual(again?.reason._tag, "ApprovalUsed")
      assert.deepStrictEqual(transfers, [])
    })
  )

  it.effect("an unknown id is a typed error", () =>
    Effect.gen(function* () {
      const { request } = yield* world([])
      const error = errorOf(yield* Effect.exit(request(Agent.resume(bank, "no-such-id", { approved: true }))))
      assert.strictEqual(error?.reason._tag, "UnknownApproval")
      assert.strictEqual(error?.reason.id, "no-such-id")
    })
  )

  it.effect("a call below the approval threshold runs without asking", () =>
    Effect.gen(function* () {
      const { transfers, request } = yield* world([
        { toolCalls: [{ name: "transfer", params: { to: "bob", amount: 5 } }] },
        "done"
      ])
      const result = yield* request(Agent.run(bank, "send bob 5"))
      assert.strictEqual(result._tag, "Completed")
      assert.deepStrictEqual(transfers, ["5 to bob"])
    })
  )

  it.effect("two gated calls in one step are asked one at a time, each once", () =>
    Effect.gen(function* () {
      const { transfers, request } = yield* world([
        {
          toolCalls: [
            { name: "transfer", params: { to: "alice", amount: 200 } },
            { name: "transfer", params: { to: "carol", amount: 300 } }
          ]
        },
        "both handled"
      ])
      const first = yield* request(Agent.run(bank, "pay both"))
      if (first._tag !== "Paused") return assert.fail("not paused")
      assert.deepStrictEqual(first.approval.arguments, { to: "alice", amount: 200 })
      const second = yield* request(Agent.resume(bank, first.approval.id, { approved: true }))
      if (second._tag !== "Paused") return assert.fail("not paused again")
      assert.notStrictEqual(second.approval.id, first.approval.id)
      assert.deepStrictEqual(second.approval.arguments, { to: "carol", amount: 300 })
      assert.deepStrictEqual(transfers, ["200 to alice"])
      const done = yield* request(Agent.resume(bank, second.approval.id, { approved: false }))
      assert.strictEqual(done._tag, "Completed")
      assert.deepStrictEqual(transfers, ["200 to alice"])
    })
  )

  it.effect("a run paused under one agent cannot be resumed with another", () =>
    Effect.gen(function* () {
      const { request, transfers } = yield* world([bigTransfer, "done"])
      const paused = yield* request(Agent.run(bank, "send alice 250"))
      if (paused._tag !== "Paused") return assert.fail("not paused")
      const other = Agent.make({ name: "other", instructions: "", toolkit: tools })
      const error = errorOf(
        yield* Effect.exit(request(Agent.resume(other, paused.approval.id, { approved: true })))
      )
      assert.strictEqual(error?.reason._tag, "UnknownApproval")
      assert.deepStrictEqual(transfers, [])
      // It still waits for the right agent.
      const resumed = yield* request(Agent.resume(bank, paused.approval.id, { approved: true }))
      assert.strictEqual(resumed._tag, "Completed")
      assert.deepStrictEqual(transfers, ["250 to alice"])
    })
  )
})
