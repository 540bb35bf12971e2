import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schedule, Schema } from "effect"
import { TestClock } from "effect/testing"
import { AiError, LanguageModel, Model, Tool, Toolkit } from "effect/ai"
import { Budget, refusalOf } from "../../src/budget/index.ts"
import { Scripted } from "../../src/model/index.ts"
import { Validator } from "../../src/validation/index.ts"
import { Step, Workflow } from "../../src/workflow/index.ts"

const Input = Schema.Struct({ topic: Schema.String })
const Output = Schema.Struct({ summary: Schema.String })

const summarise = Workflow.make({
  name: "summarise",
  input: Input,
  output: Output,
  run: ({ topic }) =>
    Effect.gen(function* () {
      const response = yield* Step.make(
        "model",
        LanguageModel.generateText({ prompt: `Summarise ${topic}` }),
        {
          retry: Schedule.recurs(3)
        }
      )
      return { summary: response.text }
    })
})

const rateLimited = {
  fail: new AiError.RateLimitError({ retryAfter: undefined })
} satisfies Scripted.Entry

describe("Workflow", () => {
  it.effect("runs a typed workflow and returns output, trace and usage", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([
        { text: "Budgets.", usage: { inputTokens: 12, outputTokens: 3 } }
      ])
      const result = yield* Workflow.run(summarise, { topic: "budgets" }).pipe(Effect.provide(scripted.layer))
      assert.deepStrictEqual(result.output, { summary: "Budgets." })
      assert.deepStrictEqual(
        result.trace.filter((e) => e.type !== "usage").map((e) => `${e.type}:${e.step}`),
        ["start:model", "end:model"]
      )
      assert.strictEqual(result.usage.modelCalls, 1)
      assert.strictEqual(result.usage.inputTokens, 12)
      assert.strictEqual(result.usage.outputTokens, 3)
      assert.deepStrictEqual(Object.keys(result.usage.byStep), ["model"])
    })
  )

  it.effect("bad input is a typed WorkflowError and the workflow does not run", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["never used"])
      const error = yield* Effect.flip(
        // @ts-expect-error the input is typed as the input Schema's encoded type: a number is not a topic
        Workflow.run(summarise, { topic: 42 }).pipe(Effect.provide(scripted.layer))
      )
      assert.strictEqual(error._tag, "WorkflowError")
      assert.strictEqual(error._tag === "WorkflowError" && error.reason._tag, "InvalidInput")
      assert.strictEqual(yield* scripted.calls, 0)
    })
  )

  it.effect("an output that does not match the output Schema is a typed WorkflowError", () =>
    Effect.gen(function* () {
      const broken = Workflow.make({
        name: "broken",
        input: Input,
        output: Output,
        run: () => Effect.succeed({ summary: 7 } as unknown as { summary: string })
      })
      const error = yield* Effect.flip(Workflow.run(broken, { topic: "x" }))
      assert.strictEqual(error._tag === "WorkflowError" && error.reason._tag, "InvalidOutput")
    })
  )

  it.effect("input is decoded from its encoded form and output is checked as the type it is", () =>
    Effect.gen(function* () {
      const double = Workflow.make({
        name: "double",
        input: Schema.FiniteFromString,
        output: Schema.FiniteFromString,
        run: (n) => Effect.succeed(n * 2)
      })
      const result = yield* Workflow.run(double, "21")
      assert.strictEqual(result.output, 42)
      const error = yield* Effect.flip(Workflow.run(double, "twenty-one"))
      assert.strictEqual(error._tag === "WorkflowError" && error.reason._tag, "InvalidInput")
    })
  )

  it.effect("retried model calls are charged to the budget like any other", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([
        rateLimited,
        rateLimited,
        { text: "ok", usage: { inputTokens: 5, outputTokens: 1 } }
      ])
      const result = yield* Workflow.run(summarise, { topic: "x" }, { budget: { modelCalls: 3 } }).pipe(
        Effect.provide(scripted.layer)
      )
      assert.strictEqual(result.output.summary, "ok")
      assert.strictEqual(result.usage.modelCalls, 3)
      assert.strictEqual(result.usage.failedCalls, 2)
      assert.strictEqual(result.trace.filter((e) => e.type === "retry").length, 2)

      // With a limit of 2 calls, the third attempt is refused before it reaches the model.
      const again = yield* Scripted.make([rateLimited, rateLimited, "ok"])
      const outcome = yield* Workflow.runExit(summarise, { topic: "x" }, { budget: { modelCalls: 2 } }).pipe(
        Effect.provide(again.layer)
      )
      assert.isTrue(Exit.isFailure(outcome.exit))
      assert.strictEqual(yield* again.calls, 2)
      assert.strictEqual(outcome.usage.refused?.limit, "modelCalls")
    })
  )

  it.effect("a budget stops a fan-out at the limit with zero model calls past it", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(
        Array.from({ length: 20 }, (_, i) => ({
          text: `summary ${i}`,
          usage: { inputTokens: 100, outputTokens: 10 }
        }))
      )
      const fanout = Workflow.make({
        name: "fanout",
        input: Schema.Array(Schema.String),
        output: Schema.Array(Schema.String),
        run: (docs) =>
          Step.forEach(
            "summarise",
            docs,
            (doc) => Effect.map(LanguageModel.generateText({ prompt: doc }), (r) => r.text),
            { concurrency: 3 }
          )
      })
      const docs = Array.from({ length: 20 }, (_, i) => `document ${i}`)
      const outcome = yield* Workflow.runExit(fanout, docs, { budget: { modelCalls: 7 } }).pipe(
        Effect.provide(scripted.layer)
      )
      assert.isTrue(Exit.isFailure(outcome.exit))
      if (Exit.isFailure(outcome.exit)) {
        const error = outcome.exit.cause.reasons.find((r) => r._tag === "Fail")
        assert.strictEqual(error?._tag === "Fail" && (error.error as { _tag: string })._tag, "BudgetError")
      }
      // The model saw exactly the calls the budget allowed, and no more.
      assert.strictEqual(yield* scripted.calls, 7)
      assert.strictEqual(outcome.usage.modelCalls, 7)
      // Items past the limit never started.
      const started = outcome.trace.filter((e) => e.type === "start").length
      assert.isAtMost(started, 8 + 2)
    })
  )

  it.effect("forEachSettled keeps the work done before the budget stopped the fan-out", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(
        Array.from({ length: 10 }, (_, i) => ({
          text: `summary ${i}`,
          usage: { inputTokens: 10, outputTokens: 2 }
        }))
      )
      const fanout = Workflow.make({
        name: "fanout",
        input: Schema.Array(Schema.String),
        output: Schema.Struct({ summaries: Schema.Array(Schema.String), stopped: Schema.Boolean }),
        run: (docs) =>
          Effect.map(
            Step.forEachSettled(
              "summarise",
              docs,
              (doc) => Effect.map(LanguageModel.generateText({ prompt: doc }), (r) => r.text),
              { concurrency: 1 }
            ),
            (settled) => ({
              summaries: settled.done.map((d) => d.value),
              stopped: refusalOf(settled.stoppedBy) !== undefined && settled.unfinished.length === 6
            })
          )
      })
      const result = yield* Workflow.run(
        fanout,
        Array.from({ length: 10 }, (_, i) => `doc ${i}`),
        { budget: { modelCalls: 4 } }
      ).pipe(Effect.provide(scripted.layer))
      assert.deepStrictEqual(result.output, {
        summaries: ["summary 0", "summary 1", "summary 2", "summary 3"],
        stopped: true
      })
      assert.strictEqual(yield* scripted.calls, 4)
    })
  )

  it.effect("the wall-time limit is a deadline for the whole run that interrupts the step in flight", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([{ delay: "2 minutes", reply: "late" }])
      const fiber = yield* Effect.forkChild(
        Workflow.runExit(summarise, { topic: "x" }, { budget: { wallTime: "30 seconds" } }).pipe(
          Effect.provide(scripted.layer)
        )
      )
      yield* TestClock.adjust("30 seconds")
      const outcome = yield* Fiber.join(fiber)
      assert.isTrue(Exit.isFailure(outcome.exit))
      const failure = outcome.trace.find((e) => e.type === "failure")
      assert.isTrue(failure?.type === "failure" && failure.interrupted)
      assert.strictEqual(outcome.usage.refused?.limit, "wallTime")
    })
  )
})

describe("Workflow metering of tool calls", () => {
  const Search = Tool.make("Search", {
    parameters: Schema.Struct({ query: Schema.String }),
    success: Schema.String
  })
  const tools = Toolkit.make(Search)

  it.effect(
    "each tool call the model asks for is counted before its handler runs, and refused past the limit",
    () =>
      Effect.gen(function* () {
        let handled = 0
        const handlers = tools.toLayer({
          Search: ({ query }) =>
            Effect.sync(() => {
              handled++
              return `results for ${query}`
            })
        })
        const scripted = yield* Scripted.make([
          {
            toolCalls: [
              { name: "Search", params: { query: "a" } },
              { name: "Search", params: { query: "b" } }
            ]
          },
          {
            toolCalls: [
              { name: "Search", params: { query: "c" } },
              { name: "Search", params: { query: "d" } }
            ]
          }
        ])
        const agent = Workflow.make({
          name: "agent",
          input: Schema.String,
          output: Schema.Number,
          run: (question) =>
            Effect.gen(function* () {
              let results = 0
              for (let turn = 0; turn < 2; turn++) {
                const response = yield* Step.make(
                  `turn ${turn + 1}`,
                  LanguageModel.generateText({ prompt: question, toolkit: tools, concurrency: 1 })
                )
                results += response.toolResults.length
              }
              return results
            })
        })
        const outcome = yield* Workflow.runExit(agent, "find things", { budget: { toolCalls: 3 } }).pipe(
          Effect.provide(scripted.layer),
          Effect.provide(handlers)
        )
        assert.isTrue(Exit.isFailure(outcome.exit))
        assert.strictEqual(handled, 3)
        assert.strictEqual(outcome.usage.toolCalls, 3)
        assert.strictEqual(outcome.usage.refused?.limit, "toolCalls")
      })
  )
})

describe("Workflow metering of structured output", () => {
  const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })
  const extract = Workflow.make({
    name: "extract",
    input: Schema.String,
    output: Person,
    run: (text) =>
      Effect.map(
        Step.make(
          "extract",
          Validator.generateObjectValidated({ prompt: text, schema: Person, maxAttempts: 3 })
        ),
        (validated) => validated.value
      )
  })

  it.effect("an answer that does not decode is charged, and the repair loop lists every issue", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([
        { object: { name: 7 }, usage: { inputTokens: 30, outputTokens: 8 } },
        { object: { name: "Ada", age: 36 }, usage: { inputTokens: 60, outputTokens: 9 } }
      ])
      const result = yield* Workflow.run(extract, "Name: Ada, age 36").pipe(Effect.provide(scripted.layer))
      assert.deepStrictEqual(result.output, { name: "Ada", age: 36 })
      assert.strictEqual(result.usage.modelCalls, 2)
      assert.strictEqual(result.usage.invalidAnswers, 1)
      assert.strictEqual(result.usage.failedCalls, 0)
      assert.isAbove(result.usage.outputTokens, 9)
      const repair = JSON.stringify((yield* scripted.prompts)[1])
      assert.include(repair, "name")
      assert.include(repair, "age")
    })
  )

  it.effect("a budget refusal inside the repair loop fails the run with BudgetError, not a crash", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([{ object: {} }, { object: { name: "Ada", age: 1 } }])
      const error = yield* Effect.flip(
        Workflow.run(extract, "x", { budget: { modelCalls: 1 } }).pipe(Effect.provide(scripted.layer))
      )
      assert.strictEqual(error._tag, "BudgetError")
      assert.strictEqual(error._tag === "BudgetError" && error.reason._tag, "BudgetExceeded")
      assert.strictEqual(yield* scripted.calls, 1)
    })
  )
})

describe("Workflow metering wherever the model comes from", () => {
  const twoCalls = Workflow.make({
    name: "two-calls",
    input: Schema.String,
    output: Schema.String,
    run: (question) =>
      Effect.gen(function* () {
        const first = yield* Step.make("first", LanguageModel.generateText({ prompt: question }))
        const second = yield* Step.make("second", LanguageModel.generateText({ prompt: first.text }))
        return second.text
      })
  })

  it.effect("a model provided inside a step is metered against the run's budget", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["one", "two"])
      const inner = Workflow.make({
        name: "inner-provider",
        input: Schema.String,
        output: Schema.String,
        run: (question) => Effect.provide(twoCalls.run(question), scripted.layer)
      })
      const outcome = yield* Workflow.runExit(inner, "q", { budget: { modelCalls: 1 } })
      assert.isTrue(Exit.isFailure(outcome.exit))
      assert.strictEqual(yield* scripted.calls, 1)
      assert.strictEqual(outcome.usage.modelCalls, 1)
      assert.strictEqual(outcome.usage.refused?.limit, "modelCalls")
    })
  )

  it.effect(
    "a model from another provider is metered under its Model.ModelName, no Weft settings needed",
    () =>
      Effect.gen(function* () {
        let seen = 0
        const foreign = yield* LanguageModel.make({
          generateText: () =>
            Effect.sync(() => {
              seen++
              return [
                { type: "text", text: "foreign answer" },
                {
                  type: "finish",
                  reason: "stop",
                  usage: { inputTokens: { total: 21 }, outputTokens: { total: 4 } }
                }
              ] as const
            }),
          streamText: () => Effect.die("not used") as never
        })
        const outcome = yield* Workflow.runExit(twoCalls, "q", { budget: { modelCalls: 1 } }).pipe(
          Effect.provideService(LanguageModel.LanguageModel, foreign),
          Effect.provideService(Model.ModelName, "acme-large")
        )
        assert.isTrue(Exit.isFailure(outcome.exit))
        assert.strictEqual(seen, 1)
        assert.deepStrictEqual(Object.keys(outcome.usage.byModel), ["acme-large"])
        assert.strictEqual(outcome.usage.inputTokens, 21)
      })
  )

  it.effect("a run can take its budget from a factory (a budget kept elsewhere)", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["one", "two"])
      let made = 0
      const result = yield* Workflow.run(twoCalls, "q", {
        budget: (hooks) =>
          Effect.map(Budget.make({ modelCalls: 5 }, hooks), (budget) => {
            made++
            return budget
          })
      }).pipe(Effect.provide(scripted.layer))
      assert.strictEqual(made, 1)
      assert.strictEqual(result.usage.modelCalls, 2)
      assert.strictEqual(result.trace.filter((e) => e.type === "usage").length, 2)
    })
  )

  it.effect(
    "a provider reporting usage far above the estimate exhausts the budget: the next call never starts",
    () =>
      Effect.gen(function* () {
        const scripted = yield* Scripted.make([
          { text: "one", usage: { inputTokens: 5000, outputTokens: 2 } },
          "two"
        ])
        const outcome = yield* Workflow.runExit(twoCalls, "q", { budget: { inputTokens: 50 } }).pipe(
          Effect.provide(scripted.layer)
        )
        assert.isTrue(Exit.isFailure(outcome.exit))
        assert.strictEqual(yield* scripted.calls, 1)
        assert.strictEqual(outcome.usage.exceeded?.limit, "inputTokens")
        assert.strictEqual(outcome.usage.exceeded?.overBy, 4950)
      })
  )
})
