/**
 * How the loop ends: maxSteps, the budget's limits (model calls, tool calls,
 * wall time), a repeated call and stopWhen each stop it with nothing run past
 * the stop; the event stream's documented order; session history in Memory.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import { type Prompt, Tool, Toolkit } from "effect/ai"
import { Agent, type AgentEvents } from "../../src/agent/index.ts"
import { Budget } from "../../src/budget/index.ts"
import { Memory } from "../../src/memory/index.ts"
import { Scripted } from "../../src/model/index.ts"

const Echo = Tool.make("echo", {
  description: "Echoes",
  parameters: Schema.Struct({ text: Schema.String }),
  success: Schema.String
})
const Refund = Tool.make("refund", {
  description: "Refunds an order",
  parameters: Schema.Struct({ order: Schema.String }),
  success: Schema.String
})
const tools = Toolkit.make(Echo, Refund)

const setup = (script: ReadonlyArray<Scripted.Entry>) =>
  Effect.gen(function* () {
    const ran: Array<string> = []
    const model = yield* Scripted.make(script)
    const handlers = tools.toLayer({
      echo: ({ text }) =>
        Effect.sync(() => {
          ran.push(`echo ${text}`)
          return text
        }),
      refund: ({ order }) =>
        Effect.sync(() => {
          ran.push(`refund ${order}`)
          return `refunded ${order}`
        })
    })
    return { ran, model, layer: Layer.mergeAll(model.layer, handlers, Memory.layerInMemory) }
  })

const errorOf = (exit: Exit.Exit<unknown, unknown>): any => {
  assert.isTrue(Exit.isFailure(exit))
  return Exit.isFailure(exit)
    ? Cause.findErrorOption(exit.cause).pipe((o) => (o._tag === "Some" ? o.value : undefined))
    : undefined
}

/** A model that asks for a new echo every step, forever. */
const forever: Scripted.Entry = {
  repeat: (_prompt: Prompt.Prompt, call: number) => ({
    toolCalls: [{ name: "echo", params: { text: `${call}` } }]
  })
}

describe("the loop ends", () => {
  it.effect("at maxSteps, with zero model or tool calls past the stop", () =>
    Effect.gen(function* () {
      const { ran, model, layer } = yield* setup([forever])
      const agent = Agent.make({ name: "a", instructions: "", toolkit: tools, maxSteps: 3 })
      const exit = yield* Effect.exit(Effect.provide(Agent.run(agent, "go"), layer))
      const error = errorOf(exit)
      assert.strictEqual(error?.reason._tag, "MaxStepsReached")
      assert.deepStrictEqual(error?.reason.pendingTools, ["echo"])
      assert.strictEqual(yield* model.calls, 3)
      // The third step's call is never run: nothing could read its result.
      assert.deepStrictEqual(ran, ["echo 1", "echo 2"])
    })
  )

  it.effect("at the budget's tool-call limit, before the handler runs, with no model call after", () =>
    Effect.gen(function* () {
      const { ran, model, layer } = yield* setup([forever])
      const agent = Agent.make({ name: "a", instructions: "", toolkit: tools, maxSteps: 10 })
      const exit = yield* Effect.exit(
        Effect.provide(Agent.run(agent, "go", { budget: { toolCalls: 2 } }), layer)
      )
      const error = errorOf(exit)
      assert.strictEqual(error?._tag, "BudgetError")
      assert.strictEqual(error?.reason.limit, "toolCalls")
      assert.deepStrictEqual(ran, ["echo 1", "echo 2"])
      assert.strictEqual(yield* model.calls, 3)
    })
  )

  it.effect("at the budget's model-call limit, with no tool call after", () =>
    Effect.gen(function* () {
      const { ran, model, layer } = yield* setup([forever])
      const agent = Agent.make({ name: "a", instructions: "", toolkit: tools, maxSteps: 10 })
      const exit = yield* Effect.exit(
        Effect.provide(Agent.run(agent, "go", { budget: { modelCalls: 2 } }), layer)
      )
      const error = errorOf(exit)
      assert.strictEqual(error?._tag, "BudgetError")
      assert.strictEqual(error?.reason.limit, "modelCalls")
      assert.strictEqual(yield* model.calls, 2)
      assert.deepStrictEqual(ran, ["echo 1", "echo 2"])
    })
  )

  it.effect("when the model repeats the same call: a loop, ended before it runs again", () =>
    Effect.gen(function* () {
      const same: Scripted.Entry = { repeat: { toolCalls: [{ name: "echo", params: { text: "again" } }] } }
      const { ran, model, layer } = yield* setup([same])
      const agent = Agent.make({ name: "a", instructions: "", toolkit: tools, maxRepeats: 3 })
      const error = errorOf(yield* Effect.exit(Effect.provide(Agent.run(agent, "go"), layer)))
      assert.strictEqual(error?.reason._tag, "RepeatedCall")
      assert.strictEqual(error?.reason.tool, "echo")
      assert.strictEqual(error?.reason.times, 3)
      assert.deepStrictEqual(ran, ["echo again", "echo again"])
      assert.strictEqual(yield* model.calls, 3)
    })
  )

  it.effect("when stopWhen says so, with the step's text", () =>
    Effect.gen(function* () {
      const { model, layer } = yield* setup([
        { text: "refunding", toolCalls: [{ name: "refund", params: { order: "A1" } }] },
        "never asked"
      ])
      const agent = Agent.make({
        name: "a",
        instructions: "",
        toolkit: tools,
        stopWhen: (step) => step.toolCalls.some((call) => call.tool === "refund" && call.outcome === "ok")
      })
      const result = yield* Effect.provide(Agent.run(agent, "refund A1"), layer)
      assert.strictEqual(result._tag, "Stopped")
      if (result._tag === "Stopped") assert.strictEqual(result.text, "refunding")
      assert.strictEqual(yield* model.calls, 1)
    })
  )
})

describe("the wall-time limit", () => {
  it.effect("interrupts a run whose model call outlives it, as a BudgetError, and the trace says so", () =>
    Effect.gen(function* () {
      const { ran, layer } = yield* setup([
        { toolCalls: [{ name: "echo", params: { text: "x" } }] },
        { delay: "10 seconds", reply: "late" }
      ])
      const agent = Agent.make({ name: "a", instructions: "", toolkit: tools })
      const fiber = yield* Effect.forkChild(
        Effect.provide(Agent.run(agent, "go", { budget: { wallTime: "1 second" } }), layer)
      )
      // Let the run get to its second model call before the clock moves.
      for (let i = 0; i < 10_000 && ran.length === 0; i++) yield* Effect.yieldNow
      yield* TestClock.adjust("2 seconds")
      const exit = yield* Fiber.await(fiber)
      const error = errorOf(exit)
      assert.strictEqual(error?._tag, "BudgetError")
      assert.strictEqual(error?.reason.limit, "wallTime")
      assert.deepStrictEqual(ran, ["echo x"])
    })
  )
})

describe("Memory", () => {
  it.effect("a session's history comes before the request, and the run's messages are appended to it", () =>
    Effect.gen(function* () {
      const { model, layer } = yield* setup([
        { toolCalls: [{ name: "echo", params: { text: "hi" } }] },
        "first answer",
        "second answer"
      ])
      const agent = Agent.make({ name: "a", instructions: "Be brief.", toolkit: tools })
      yield* Effect.provide(
        Effect.gen(function* () {
          yield* Agent.run(agent, "first question", { sessionId: "s1" })
          const second = yield* Agent.run(agent, "second question", { sessionId: "s1" })
          assert.strictEqual(second._tag, "Completed")
          const memory = yield* Memory.Memory
          const history = yield* memory.history("s1")
          assert.deepStrictEqual(
            history.map((m) => m.role),
            ["user", "assistant", "tool", "assistant", "user", "assistant"]
          )
        }),
        layer
      )
      const prompts = yield* model.prompts
      const third = prompts[2] as Prompt.Prompt
      // The second run's prompt: its instructions, the first run's whole exchange, the new question.
      assert.deepStrictEqual(
        third.content.map((m) => m.role),
        ["system", "user", "assistant", "tool", "assistant", "user"]
      )
    })
  )
})

describe("Agent.stream", () => {
  it.effect("emits the events in the documented order, ending with one end event", () =>
    Effect.gen(function* () {
      const { layer } = yield* setup([
        {
          text: "Let me check.",
          toolCalls: [
            { name: "echo", params: { text: "x" } },
            { name: "echo", params: { text: "y" } }
          ]
        },
        "All done here."
      ])
      const agent = Agent.make({ name: "a", instructions: "", toolkit: tools })
      const events = yield* Effect.provide(Stream.runCollect(Agent.stream(agent, "go")), layer)
      const types = Array.from(events, (e: AgentEvents.AgentEvent) => e.type)
      assert.deepStrictEqual(types, [
        "step-started",
        "text-delta",
        "text-delta",
        "text-delta",
        "usage",
        "tool-call-started",
        "tool-call-started",
        "tool-call-finished",
        "tool-call-finished",
        "step-finished",
        "step-started",
        "text-delta",
        "text-delta",
        "text-delta",
        "usage",
        "step-finished",
        "end"
      ])
      const end = Array.from(events).at(-1)
      assert.strictEqual(end?.type === "end" ? end.reason : undefined, "final")
      assert.strictEqual(end?.type === "end" ? end.text : undefined, "All done here.")
      const deltas = Array.from(events).flatMap((e) =>
        e.type === "text-delta" && e.step === 1 ? [e.delta] : []
      )
      assert.strictEqual(deltas.join(""), "Let me check.")
      // Every event is data: it encodes as JSON (for SSE) with its Schema.
      const encode = Schema.encodeUnknownSync(Schema.Array(AgentEventSchema))
      assert.doesNotThrow(() => JSON.stringify(encode(Array.from(events))))
    })
  )

  it.effect("a failing run emits its end event, then fails the stream with the typed error", () =>
    Effect.gen(function* () {
      const { layer } = yield* setup([forever])
      const agent = Agent.make({ name: "a", instructions: "", toolkit: tools, maxSteps: 1 })
      const seen: Array<AgentEvents.AgentEvent> = []
      const exit = yield* Effect.exit(
        Effect.provide(
          Stream.runForEach(Agent.stream(agent, "go"), (e) => Effect.sync(() => seen.push(e))),
          layer
        )
      )
      assert.strictEqual(errorOf(exit)?.reason._tag, "MaxStepsReached")
      const end = seen.at(-1)
      assert.strictEqual(end?.type, "end")
      assert.strictEqual(end?.type === "end" ? end.reason : undefined, "maxSteps")
    })
  )

  it.effect("a run that pauses ends its stream with approval-requested, then end with the approval", () =>
    Effect.gen(function* () {
      const { layer } = yield* setup([{ toolCalls: [{ name: "refund", params: { order: "A1" } }] }])
      const agent = Agent.make({
        name: "a",
        instructions: "",
        toolkit: tools,
        tools: { refund: { needsApproval: true } }
      })
      const events = Array.from(
        yield* Effect.provide(Stream.runCollect(Agent.stream(agent, "refund A1")), layer)
      )
      const [requested, end] = events.slice(-2)
      assert.strictEqual(requested?.type, "approval-requested")
      assert.strictEqual(end?.type, "end")
      if (requested?.type === "approval-requested" && end?.type === "end") {
        assert.strictEqual(end.reason, "paused")
        assert.deepStrictEqual(end.approval, requested.approval)
        assert.strictEqual(requested.approval.tool, "refund")
      }
      assert.isFalse(events.some((e) => e.type === "tool-call-started"))
    })
  )
  it.effect("a model call interrupted mid-way is charged its input estimate, though no limit needed it", () =>
    Effect.gen(function* () {
      const model = yield* Scripted.make([{ delay: "1 minute", reply: "late" }], { maxOutputTokens: 50 })
      const budget = yield* Budget.make({ modelCalls: 5 })
      const agent = Agent.make({ name: "slow", instructions: "You answer questions about the weather." })
      const fiber = yield* Effect.forkChild(
        Effect.provide(
          Agent.run(agent, "Will it rain in Oslo tomorrow afternoon?", {
            budget: () => Effect.succeed(budget)
          }),
          model.layer
        )
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      const report = yield* budget.report
      assert.strictEqual(report.charges[0]?.outcome, "interrupted")
      assert.strictEqual(report.outputTokens, 50)
      assert.isAbove(report.inputTokens, 10, "the prompt's estimate, counted when the call was interrupted")
    })
  )
})

import { AgentEvent as AgentEventSchema } from "../../src/agent/Events.ts"
