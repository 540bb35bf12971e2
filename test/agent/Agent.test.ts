/**
 * Agent.run and Agent.runExit end to end on the Scripted model: tools run and
 * feed back, a typed output through the repair loop, unknown tools and bad
 * arguments recovered, a run as a workflow step, retrieval, and runExit's
 * trace and usage on success and failure.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Layer, Schema } from "effect"
import { type Prompt, Tool, Toolkit } from "effect/ai"
import { Agent } from "../../src/agent/index.ts"
import { Scripted } from "../../src/model/index.ts"
import { Retriever } from "../../src/retrieval/index.ts"
import { Step, Workflow } from "../../src/workflow/index.ts"

const Add = Tool.make("add", {
  description: "Adds two numbers",
  parameters: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  success: Schema.Number
})
const Lookup = Tool.make("lookup", {
  description: "Looks a word up",
  parameters: Schema.Struct({ word: Schema.String }),
  success: Schema.String
})
const tools = Toolkit.make(Add, Lookup)

/** Handlers that count their calls. */
const handlers = () => {
  const calls: Array<string> = []
  const layer = tools.toLayer({
    add: ({ a, b }) =>
      Effect.sync(() => {
        calls.push(`add ${a} ${b}`)
        return a + b
      }),
    lookup: ({ word }) =>
      Effect.sync(() => {
        calls.push(`lookup ${word}`)
        return `${word}: a word`
      })
  })
  return { calls, layer }
}

const agent = Agent.make({ name: "calc", instructions: "You add numbers.", toolkit: tools })

const runWith = <A, E>(
  script: ReadonlyArray<Scripted.Entry>,
  body: (model: Scripted.ScriptedModel, calls: Array<string>) => Effect.Effect<A, E, any>
) =>
  Effect.gen(function* () {
    const model = yield* Scripted.make(script)
    const { calls, layer } = handlers()
    return yield* body(model, calls).pipe(Effect.provide(Layer.merge(model.layer, layer)))
  })

describe("Agent.run", () => {
  it.effect("runs the tools the model asks for and returns its answer, with trace and usage", () =>
    runWith(
      [
        { toolCalls: [{ name: "add", params: { a: 1, b: 2 } }] },
        { toolCalls: [{ name: "add", params: { a: 3, b: 4 } }] },
        "The sums are 3 and 7."
      ],
      (model, calls) =>
        Effect.gen(function* () {
          const result = yield* Agent.run(agent, "Add 1+2 and 3+4")
          assert.strictEqual(result._tag, "Completed")
          if (result._tag !== "Completed") return
          assert.strictEqual(result.output, "The sums are 3 and 7.")
          assert.deepStrictEqual(calls, ["add 1 2", "add 3 4"])
          assert.strictEqual(result.steps, 3)
          assert.deepStrictEqual(
            result.toolCalls.map((r) => [r.tool, r.outcome, r.attempts]),
            [
              ["add", "ok", 1],
              ["add", "ok", 1]
            ]
          )
          assert.strictEqual(result.usage.toolCalls, 2)
          assert.strictEqual(result.usage.modelCalls, 3)
          // The second model call saw the first call's result.
          const prompts = yield* model.prompts
          const second = prompts[1] as Prompt.Prompt
          const toolMessage = second.content.find((m) => m.role === "tool")
          assert.isDefined(toolMessage)
          assert.deepStrictEqual(
            (toolMessage as Prompt.ToolMessage).content.map((p) =>
              p.type === "tool-result" ? p.result : undefined
            ),
            [3]
          )
          assert.deepStrictEqual(
            result.trace.filter((e) => e.type === "end").map((e) => e.step),
            ["calc/turn 1", "calc/tool add", "calc/turn 2", "calc/tool add", "calc/turn 3"]
          )
        })
    )
  )

  it.effect("decodes the final answer with the output Schema, repairing a bad one", () => {
    const typed = Agent.make({
      name: "typed",
      instructions: "Answer as JSON.",
      toolkit: tools,
      output: Schema.Struct({ total: Schema.Number })
    })
    return runWith(['{"total": "seven"}', '{"total": 7}'], (model) =>
      Effect.gen(function* () {
        const result = yield* Agent.run(typed, "Sum it")
        assert.strictEqual(result._tag, "Completed")
        if (result._tag === "Completed") assert.deepStrictEqual(result.output, { total: 7 })
        const prompts = yield* model.prompts
        const last = (prompts[1] as Prompt.Prompt).content.at(-1) as Prompt.UserMessage
        assert.strictEqual(last.role, "user")
        assert.match(JSON.stringify(last.content), /did not pass validation/)
      })
    )
  })

  it.effect("ends with InvalidFinal when every repair fails", () => {
    const typed = Agent.make({
      name: "typed",
      instructions: "Answer as JSON.",
      output: Schema.Struct({ total: Schema.Number }),
      maxRepairs: 1
    })
    return runWith(["nope", "still nope", "never asked"], (model) =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(Agent.run(typed, "Sum it"))
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? (exit.cause.reasons[0] as any).error : undefined
        assert.strictEqual(error?.reason._tag, "InvalidFinal")
        assert.strictEqual(error?.reason.attempts.length, 2)
        assert.strictEqual(yield* model.calls, 2)
      })
    )
  })

  it.effect("feeds unknown tools and bad arguments back to the model, and the run recovers", () =>
    runWith(
      [
        {
          toolCalls: [
            { name: "delete_everything", params: {} },
            { name: "add", params: { a: "one", b: 2 } }
          ]
        },
        { toolCalls: [{ name: "add", params: { a: 1, b: 2 } }] },
        "3"
      ],
      (model, calls) =>
        Effect.gen(function* () {
          const result = yield* Agent.run(agent, "Add")
          assert.strictEqual(result._tag, "Completed")
          assert.deepStrictEqual(calls, ["add 1 2"])
          assert.deepStrictEqual(
            result.toolCalls.map((r) => r.outcome),
            ["unknown-tool", "invalid-arguments", "ok"]
          )
          const prompts = yield* model.prompts
          const fed = JSON.stringify((prompts[1] as Prompt.Prompt).content.at(-1))
          assert.match(fed, /Unknown tool \\"delete_everything\\". Available tools: add, lookup/)
          assert.match(fed, /arguments for add are invalid: Expected number at \[\\"a\\"\]/)
          // Bad calls count against the tool-call limit too.
          assert.strictEqual(result.usage.toolCalls, 3)
        })
    )
  )

  it.effect("runs inside a workflow as a step, sharing its budget", () =>
    runWith([{ toolCalls: [{ name: "add", params: { a: 1, b: 1 } }] }, "2"], () =>
      Effect.gen(function* () {
        const workflow = Workflow.make({
          name: "outer",
          input: Schema.String,
          output: Schema.String,
          run: (input) =>
            Step.make(
              "agent",
              Effect.map(Agent.run(agent, input), (result) =>
                result._tag === "Completed" ? result.output : "?"
              )
            )
        })
        const result = yield* Workflow.run(workflow, "1+1", { budget: { toolCalls: 5 } })
        assert.strictEqual(result.output, "2")
        assert.strictEqual(result.usage.toolCalls, 1)
        assert.strictEqual(result.usage.modelCalls, 2)
        assert.isTrue(result.trace.some((e) => e.type === "end" && e.step === "calc/tool add"))
      })
    )
  )

  it.effect("adds the passages a Retriever finds for the request to the instructions", () =>
    Effect.gen(function* () {
      const model = yield* Scripted.make(["Refunds take 5 days [1]."])
      const docs = Retriever.layerDocuments([
        { sourceId: "refunds.md", text: "Refunds are paid back within five days of the request." },
        { sourceId: "shipping.md", text: "Parcels ship from Rotterdam every weekday." }
      ])
      const helper = Agent.make({
        name: "helper",
        instructions: "Answer from the passages.",
        retrieve: { topK: 1 }
      })
      const result = yield* Effect.provide(
        Agent.run(helper, "How long do refunds take?"),
        Layer.merge(model.layer, docs)
      )
      assert.strictEqual(result._tag, "Completed")
      const prompt = (yield* model.prompts)[0] as Prompt.Prompt
      const system = prompt.content[0] as Prompt.SystemMessage
      assert.match(system.content, /^Answer from the passages\./)
      assert.match(system.content, /\[1\] \(source: refunds\.md/)
      assert.notMatch(system.content, /Rotterdam/)
    })
  )

  it.effect(
    "a tool's declared dependency is read from the run's context, and the agent's type asks for it",
    () =>
      Effect.gen(function* () {
        class Rates extends Context.Service<Rates, { readonly factor: number }>()("test/Rates") {}
        const Convert = Tool.make("convert", {
          description: "Converts",
          parameters: Schema.Struct({ value: Schema.Number }),
          success: Schema.Number
        }).addDependency(Rates)
        const convertTools = Toolkit.make(Convert)
        const handlersLayer = convertTools.toLayer({
          convert: ({ value }) => Effect.map(Effect.service(Rates), (rates) => value * rates.factor)
        })
        const model = yield* Scripted.make([{ toolCalls: [{ name: "convert", params: { value: 2 } }] }, "6"])
        const converter = Agent.make({ name: "conv", instructions: "", toolkit: convertTools })
        const result = yield* Agent.run(converter, "2?").pipe(
          Effect.provide(Layer.merge(model.layer, handlersLayer)),
          Effect.provideService(Rates, { factor: 3 })
        )
        const tool = result.messages.find((m) => m.role === "tool") as Prompt.ToolMessage
        assert.deepStrictEqual(
          tool.content.map((p) => (p.type === "tool-result" ? p.result : undefined)),
          [6]
        )
      })
  )

  describe("Agent.runExit", () => {
    it.effect("a run the budget stops returns its failure with the trace, usage and tool calls so far", () =>
      runWith(
        [
          { toolCalls: [{ name: "add", params: { a: 1, b: 2 } }] },
          { toolCalls: [{ name: "add", params: { a: 3, b: 4 } }] },
          "never reached"
        ],
        (_model, calls) =>
          Effect.gen(function* () {
            const outcome = yield* Agent.runExit(agent, "add", { budget: { toolCalls: 1 } })
            assert.isTrue(Exit.isFailure(outcome.exit))
            const error = Exit.isFailure(outcome.exit) ? Cause.findErrorOption(outcome.exit.cause) : undefined
            assert.strictEqual(error?._tag, "Some")
            const value =
              error?._tag === "Some" ? (error.value as { _tag: string; reason: { _tag: string } }) : undefined
            assert.strictEqual(value?._tag, "BudgetError")
            assert.strictEqual(value?.reason._tag, "BudgetExceeded")
            assert.deepStrictEqual(calls, ["add 1 2"], "the second call was refused before its handler")
            assert.strictEqual(outcome.steps, 2)
            assert.deepStrictEqual(
              outcome.toolCalls.map((record) => record.outcome),
              ["ok"]
            )
            assert.strictEqual(outcome.usage.modelCalls, 2)
            assert.strictEqual(outcome.usage.toolCalls, 1)
            assert.isTrue(outcome.trace.some((e) => e.type === "end" && e.step === "calc/tool add"))
            assert.isTrue(outcome.trace.some((e) => e.type === "usage" && e.step === "calc/turn 2"))
          })
      )
    )

    it.effect("a run that ends with an answer returns its result as a successful exit", () =>
      runWith([{ toolCalls: [{ name: "add", params: { a: 1, b: 2 } }] }, "3"], () =>
        Effect.gen(function* () {
          const outcome = yield* Agent.runExit(agent, "add")
          assert.isTrue(Exit.isSuccess(outcome.exit))
          const result = Exit.isSuccess(outcome.exit) ? outcome.exit.value : undefined
          assert.strictEqual(result?._tag, "Completed")
          assert.strictEqual(result?._tag === "Completed" ? result.output : undefined, "3")
          assert.strictEqual(outcome.usage.modelCalls, 2)
          assert.strictEqual(outcome.toolCalls.length, 1)
          assert.deepStrictEqual(result?.trace, outcome.trace)
        })
      )
    )

    it.effect("an agent with an option Weft cannot accept fails before the run starts", () =>
      runWith([], () =>
        Effect.gen(function* () {
          const bad = Agent.make({ name: "bad", instructions: "", maxSteps: 0 })
          const exit = yield* Effect.exit(Agent.runExit(bad, "hi"))
          assert.isTrue(Exit.isFailure(exit))
          const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
          const value = error?._tag === "Some" ? (error.value as { reason: { _tag: string } }) : undefined
          assert.strictEqual(value?.reason._tag, "InvalidOption")
        })
      )
    )
  })
})
