import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Logger, Redacted, References, Schema } from "effect"
import { Memory } from "../../src/memory/index.ts"
import { Local, Scripted } from "../../src/model/index.ts"
import { Rag } from "../../src/rag/index.ts"
import { Retriever } from "../../src/retrieval/index.ts"
import { Report, Step, Workflow } from "../../src/workflow/index.ts"

const corpus = new URL("../fixtures/retrieval/corpus", import.meta.url).pathname

const retriever = Retriever.layerFolder(corpus).pipe(Layer.provide(NodeServices.layer))
const localStack = Layer.mergeAll(Local.layer(), Memory.Memory.layerInMemory, retriever)

describe("Rag workflow", () => {
  it.effect("runs end to end on the Local model: grounded answer, citations, six steps, usage", () =>
    Effect.gen(function* () {
      const result = yield* Rag.ask("What does an inverter do in a solar installation?", {
        budget: { modelCalls: 5 }
      })
      const { answer, citations, attempts } = result.output
      assert.match(answer, /inverter/i)
      assert.match(answer, /\[\d\]/)
      assert.isAtLeast(citations.length, 1)
      assert.strictEqual(citations[0]?.sourceId, "solar.md")
      assert.strictEqual(attempts, 1)
      const steps = result.trace.filter((e) => e.type === "end").map((e) => e.step)
      assert.deepStrictEqual(steps, ["interpret", "retrieve", "assemble", "model", "validate", "store"])
      assert.strictEqual(result.usage.modelCalls, 1)
      assert.isAbove(result.usage.inputTokens, 50)
      assert.isAbove(result.usage.outputTokens, 5)
      assert.deepStrictEqual(Object.keys(result.usage.byStep), ["model"])
    }).pipe(Effect.provide(localStack))
  )

  it.effect(
    "keeps the conversation in Memory and searches a short follow-up with the question before it",
    () =>
      Effect.gen(function* () {
        yield* Rag.ask("How should I feed a sourdough starter?", { sessionId: "s1" })
        const followUp = yield* Rag.ask("and how often?", { sessionId: "s1" })
        assert.strictEqual(followUp.output.citations[0]?.sourceId, "baking.md")
        const memory = yield* Memory.Memory
        const history = yield* memory.history("s1")
        assert.deepStrictEqual(
          history.map((t) => t.role),
          ["user", "assistant", "user", "assistant"]
        )
      }).pipe(Effect.provide(localStack))
  )

  it.effect("a new question in a session is not mistaken for a follow-up", () =>
    Effect.gen(function* () {
      yield* Rag.ask("How should I feed a sourdough starter?", { sessionId: "s2" })
      const next = yield* Rag.ask("How do panels collect the most energy?", { sessionId: "s2" })
      assert.strictEqual(next.output.citations[0]?.sourceId, "solar.md")
    }).pipe(Effect.provide(localStack))
  )

  it.effect("an empty question is a typed error and no model call is made", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["never"])
      const error = yield* Effect.flip(
        Rag.ask("   ").pipe(
          Effect.provide(Layer.mergeAll(scripted.layer, Memory.Memory.layerInMemory, retriever))
        )
      )
      assert.strictEqual(error._tag, "RagError")
      assert.strictEqual(yield* scripted.calls, 0)
    })
  )

  it.effect("an answer citing a passage that was not retrieved is repaired before it is accepted", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([
        "Inverters turn DC into AC [17].",
        "An inverter turns the direct current into alternating current [1]."
      ])
      const result = yield* Rag.ask("What does an inverter do?", { topK: 3 }).pipe(
        Effect.provide(Layer.mergeAll(scripted.layer, Memory.Memory.layerInMemory, retriever))
      )
      assert.strictEqual(result.output.attempts, 2)
      assert.deepStrictEqual(
        result.output.citations.map((c) => c.n),
        [1]
      )
      assert.strictEqual(result.usage.modelCalls, 2)
    })
  )
})

class ProviderRejected extends Schema.TaggedError<ProviderRejected>()("ProviderRejected", {
  apiKey: Schema.Redacted(Schema.String),
  message: Schema.String
}) {}

describe("secrets", () => {
  it.effect("a canary API key appears in no trace, log line, report or error message", () =>
    Effect.gen(function* () {
      const canary = "sk-canary-4f1d9b7e2a"
      process.env.OPENAI_API_KEY = canary
      const logs: Array<string> = []
      const capture = Logger.make((options) => {
        logs.push(
          `${String(options.message)} ${JSON.stringify(options.fiber.getRef(References.CurrentLogAnnotations))}`
        )
      })
      const apiKey = Redacted.make(process.env.OPENAI_API_KEY)
      const failing = Workflow.make({
        name: "leaky",
        input: Schema.String,
        output: Schema.String,
        run: (question) =>
          Step.make(
            "model",
            Effect.gen(function* () {
              yield* Effect.logDebug("calling provider", { apiKey, question })
              return yield* new ProviderRejected({ apiKey, message: "provider rejected the key" })
            })
          )
      })
      const outcome = yield* Workflow.runExit(failing, "hello").pipe(
        Effect.provide(Logger.layer([capture])),
        Effect.provideService(References.MinimumLogLevel, "All")
      )
      assert.isTrue(Exit.isFailure(outcome.exit))
      const good = yield* Rag.ask("What does an inverter do?").pipe(Effect.provide(localStack))
      const everything = [
        JSON.stringify(outcome.trace),
        Report.timeline(outcome.trace),
        Report.usage(outcome.usage),
        String(outcome.exit),
        Exit.isFailure(outcome.exit) ? JSON.stringify(outcome.exit.cause) : "",
        JSON.stringify(good),
        Report.timeline(good.trace),
        ...logs
      ].join("\n")
      assert.isAbove(logs.length, 0)
      assert.include(everything, "provider rejected the key")
      assert.notInclude(everything, canary)
      delete process.env.OPENAI_API_KEY
    })
  )
})
