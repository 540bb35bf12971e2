/**
 * The RAG workflow end to end: steps, citations, sessions (Memory only when a
 * session is used), the repair loop with retry and timeout per model call, and
 * its typed errors.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Logger, Redacted, References, Schedule, Schema } from "effect"
import { AiError, Prompt } from "effect/ai"
import { TestClock } from "effect/testing"
import { Memory } from "../../src/memory/index.ts"
import { Local, Scripted } from "../../src/model/index.ts"
import { Rag } from "../../src/rag/index.ts"
import * as Retriever from "../../src/retrieval/Retriever.ts"
import { Report, Step, Workflow } from "../../src/workflow/index.ts"

const corpus = new URL("../fixtures/retrieval/corpus", import.meta.url).pathname

const retriever = Retriever.layerFolder(corpus).pipe(Layer.provide(NodeServices.layer))
const localStack = Layer.mergeAll(Local.layer(), Memory.layerInMemory, retriever)

describe("Rag workflow", () => {
  it.effect("runs end to end on the Local model: grounded answer, citations, six steps, usage", () =>
    Effect.gen(function* () {
      const result = yield* Rag.ask("What does an inverter do with the current from the panels?", {
        budget: { modelCalls: 5 }
      })
      const { answer, citations, attempts } = result.output
      assert.match(answer, /inverter/i)
      assert.match(answer, /\[\d\]/)
      assert.isAtLeast(citations.length, 1)
      assert.strictEqual(citations[0]?.sourceId, "solar.md")
      // The source quotes the sentence the answer drew on, not the passage's first words.
      assert.match(
        citations[0]?.quote ?? "",
        /^An inverter turns the direct current into alternating current for the house\./
      )
      assert.match(citations[0]?.excerpt ?? "", /^Photovoltaic cells/)
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
        // The session keeps effect/ai Prompt messages: the question as asked, the answer with its citations as data.
        assert.isTrue(history.every(Prompt.isMessage))
        assert.deepStrictEqual(
          [history[0], history[2]].map((m) => Memory.textOf(m!)),
          ["How should I feed a sourdough starter?", "and how often?"]
        )
        assert.strictEqual(Memory.textOf(history[3]!), followUp.output.answer)
        assert.deepStrictEqual(Rag.citationsOf(history[3]!), followUp.output.citations)
        assert.deepStrictEqual(Rag.citationsOf(history[2]!), [])
      }).pipe(Effect.provide(localStack))
  )

  it("reads back the citations of an answer kept before citations carried a quote, quoting their excerpt", () => {
    const stored = Prompt.assistantMessage({
      content: [Prompt.textPart({ text: "Feed it daily [1]." })],
      options: {
        [Memory.OPTIONS_KEY]: {
          citations: [{ n: 1, sourceId: "baking.md", score: 2.5, excerpt: "Feed the starter daily." }]
        }
      }
    })
    assert.deepStrictEqual(Rag.citationsOf(stored), [
      {
        n: 1,
        sourceId: "baking.md",
        score: 2.5,
        excerpt: "Feed the starter daily.",
        quote: "Feed the starter daily."
      }
    ])
  })

  it.effect(
    "with condense, a long session is summarised by the model within the run, the newest turn kept verbatim",
    () =>
      Effect.gen(function* () {
        const questions = [
          "How should I feed a sourdough starter?",
          "How do panels collect the most energy?",
          "What does an inverter do?",
          "How long should dough rise?"
        ]
        let last: Workflow.RunResult<Rag.Answer> | undefined
        for (const question of questions) {
          last = yield* Rag.ask(question, {
            sessionId: "long",
            condense: { maxTokens: 150, keepLastTurns: 1 }
          })
        }
        const memory = yield* Memory.Memory
        const history = yield* memory.history("long")
        assert.isTrue(Memory.isSummary(history[0]!), "the oldest turns became one summary message")
        assert.deepStrictEqual(
          history.slice(-2).map((m) => Memory.textOf(m)),
          [questions[3], last!.output.answer]
        )
        const within = yield* memory.history("long", { maxTokens: 150 })
        assert.strictEqual(within.length, history.length, "the whole history fits the budget")
        // The summary was a model call of the run that condensed: two calls, both metered.
        assert.strictEqual(last!.usage.modelCalls, 2)
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
        Rag.ask("   ").pipe(Effect.provide(Layer.mergeAll(scripted.layer, Memory.layerInMemory, retriever)))
      )
      assert.strictEqual(error._tag, "RagError")
      assert.strictEqual(error._tag === "RagError" && error.reason._tag, "EmptyQuestion")
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
        Effect.provide(Layer.mergeAll(scripted.layer, Memory.layerInMemory, retriever))
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

describe("Rag citations", () => {
  it.effect("a citation quotes the passage's sentences the answer drew on, else its excerpt", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([
        // Another model's own words: no sentence of the passage shares enough of them.
        "Ask a grown-up to help [1].",
        "An inverter turns the direct current into alternating current for the house [1]."
      ])
      const stack = Layer.mergeAll(scripted.layer, retriever)
      const paraphrase = yield* Rag.ask("What does an inverter do?").pipe(Effect.provide(stack))
      const [loose] = paraphrase.output.citations
      assert.strictEqual(loose?.quote, loose?.excerpt)
      const copied = yield* Rag.ask("What does an inverter do?").pipe(Effect.provide(stack))
      assert.strictEqual(
        copied.output.citations[0]?.quote,
        "An inverter turns the direct current into alternating current for the house."
      )
    })
  )
})

describe("Rag sessions and Memory", () => {
  it.effect("a question without a session needs no Memory", () =>
    Effect.gen(function* () {
      // No Memory layer here: the workflow's requirements do not include it.
      const result = yield* Rag.ask("What does an inverter do in a solar installation?", {
        sessionId: undefined
      }).pipe(
        Effect.provide(
          Layer.mergeAll(
            Scripted.layer(["An inverter turns direct current into alternating current [1]."]),
            retriever
          )
        )
      )
      assert.strictEqual(result.output.citations[0]?.sourceId, "solar.md")
      assert.deepStrictEqual(
        result.trace.filter((e) => e.type === "end").map((e) => e.step),
        ["interpret", "retrieve", "assemble", "model", "validate", "store"]
      )
    })
  )

  it.effect(
    "a follow-up's prompt carries the session's last 4 messages between the instructions and the passages",
    () =>
      Effect.gen(function* () {
        const scripted = yield* Scripted.make([
          "Feed it flour and water [1].",
          "An inverter turns direct current into alternating current [1].",
          "Daily [1]."
        ])
        const stack = Layer.mergeAll(scripted.layer, Memory.layerInMemory, retriever)
        yield* Effect.gen(function* () {
          const first = yield* Rag.ask("How should I feed a sourdough starter?", { sessionId: "p" })
          yield* Rag.ask("What does an inverter do?", { sessionId: "p" })
          // A third exchange's history: the newest 4 messages, i.e. both earlier exchanges.
          const memory = yield* Memory.Memory
          yield* memory.append("p", [Prompt.userMessage({ content: [Prompt.textPart({ text: "older" })] })])
          yield* Rag.ask("And how often is it fed?", { sessionId: "p" })
          const prompts = yield* scripted.prompts
          const third = prompts[2]!.content
          assert.deepStrictEqual(
            third.map((m) => m.role),
            ["system", "assistant", "user", "assistant", "user", "user"]
          )
          assert.strictEqual(Memory.textOf(third[1]!), "Feed it flour and water [1].")
          assert.deepStrictEqual(Rag.citationsOf(third[1]!), first.output.citations)
          assert.strictEqual(Memory.textOf(third[4]!), "older")
          // The follow-up leans on the previous user message in the history ("older").
          assert.match(Memory.textOf(third[5]!), /Question: older And how often is it fed\?$/)
        }).pipe(Effect.provide(stack))
      })
  )

  it.effect("a session without Memory is RagError reason MemoryMissing, before any model call", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["never"])
      const reason = yield* Rag.ask("What does an inverter do?", { sessionId: "s9" }).pipe(
        Effect.provide(Layer.mergeAll(scripted.layer, retriever)),
        Effect.map(() => undefined),
        Effect.catchReason("RagError", "MemoryMissing", (reason) => Effect.succeed(reason))
      )
      assert.strictEqual(reason?.sessionId, "s9")
      assert.match(reason!.message, /needs Memory/)
      assert.strictEqual(yield* scripted.calls, 0)
    })
  )
})

describe("Rag model calls: retry and timeout per call inside the repair loop", () => {
  const inverterDocs = Retriever.layerDocuments([
    {
      sourceId: "solar.md",
      text: "An inverter turns the direct current from the panels into alternating current."
    }
  ])

  it.effect("a rate limit on attempt 2 retries that call only: 3 calls, attempt 1 not asked again", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([
        "Inverters turn DC into AC [7].",
        { fail: new AiError.RateLimitError({}) },
        "An inverter turns direct current into alternating current [1]."
      ])
      const result = yield* Rag.ask("What does an inverter do?", { modelRetry: Schedule.recurs(3) }).pipe(
        Effect.provide(Layer.mergeAll(scripted.layer, inverterDocs))
      )
      assert.strictEqual(yield* scripted.calls, 3)
      assert.strictEqual(result.output.attempts, 2)
      const prompts = yield* scripted.prompts
      // Only the first call saw the bare question; the retry repeated attempt 2's prompt.
      assert.strictEqual(
        prompts.filter((p) => p.content.at(-1)?.role === "user" && p.content.length === 2).length,
        1
      )
      assert.deepStrictEqual(prompts[2], prompts[1])
      // The steps are the same six; the retry shows on the model step.
      assert.deepStrictEqual(
        result.trace.filter((e) => e.type === "end").map((e) => e.step),
        ["interpret", "retrieve", "assemble", "model", "validate", "store"]
      )
      const retries = result.trace.filter((e) => e.type === "retry")
      assert.deepStrictEqual(
        retries.map((e) => e.step),
        ["model"]
      )
      assert.match(Report.timeline(result.trace), /retry 1 after: AiError: .*[Rr]ate limit/)
    })
  )

  it.effect("the timeout is per call: three 40 s answers pass a 60 s modelTimeout", () =>
    Effect.gen(function* () {
      const slow = (reply: string): Scripted.Entry => ({ delay: "40 seconds", reply })
      const scripted = yield* Scripted.make([
        slow("No citation."),
        slow("Cites a ghost [4]."),
        slow("An inverter makes alternating current [1].")
      ])
      const fiber = yield* Rag.ask("What does an inverter do?", { modelTimeout: "60 seconds" }).pipe(
        Effect.provide(Layer.mergeAll(scripted.layer, inverterDocs)),
        Effect.forkChild
      )
      yield* TestClock.adjust("120 seconds")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.output.attempts, 3)
      assert.strictEqual(yield* scripted.calls, 3)
    })
  )

  it.effect("a model call past modelTimeout is retried on its own", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([
        { delay: Duration.minutes(5), reply: "Too late [1]." },
        "An inverter makes alternating current [1]."
      ])
      const fiber = yield* Rag.ask("What does an inverter do?", {
        modelTimeout: "60 seconds",
        modelRetry: Schedule.recurs(1)
      }).pipe(Effect.provide(Layer.mergeAll(scripted.layer, inverterDocs)), Effect.forkChild)
      yield* TestClock.adjust("60 seconds")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.output.answer, "An inverter makes alternating current [1].")
      assert.match(
        result.trace.find((e) => e.type === "retry")?.error ?? "",
        /^ValidationError: Model call for attempt 1 took longer than 1m/
      )
    })
  )

  it.effect("bad options are RagError reason InvalidOption naming the option, before any model call", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["never"])
      const stack = Layer.mergeAll(scripted.layer, inverterDocs)
      for (const [options, option, value] of [
        [{ maxAttempts: 0 }, "maxAttempts", "0"],
        [{ maxAttempts: Number.POSITIVE_INFINITY }, "maxAttempts", "Infinity"],
        [{ topK: 1.5 }, "topK", "1.5"],
        [{ modelTimeout: "soon" as Duration.Input }, "modelTimeout", '"soon"'],
        [{ modelTimeout: -1 }, "modelTimeout", "-1"]
      ] as const) {
        const reason = yield* Rag.ask("What does an inverter do?", options).pipe(
          Effect.provide(stack),
          Effect.map(() => undefined),
          Effect.catchReason("RagError", "InvalidOption", (reason) => Effect.succeed(reason))
        )
        assert.strictEqual(reason?.option, option)
        assert.strictEqual(reason?.value, value)
      }
      assert.strictEqual(yield* scripted.calls, 0)
    })
  )

  it.effect("citeEverySentence repairs an answer with an uncited sentence", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([
        "An inverter makes alternating current [1]. Panels make direct current.",
        "An inverter makes alternating current [1]. Panels make direct current [1]."
      ])
      const result = yield* Rag.ask("What does an inverter do?", { citeEverySentence: true }).pipe(
        Effect.provide(Layer.mergeAll(scripted.layer, inverterDocs))
      )
      assert.strictEqual(result.output.attempts, 2)
      assert.match(
        JSON.stringify((yield* scripted.prompts)[1]),
        /citeEverySentence: 1 sentence\(s\) cite no passage: \\"Panels make direct current.\\"/
      )
    })
  )
})

describe("Rag with source ids the passage format must carry", () => {
  it.effect(
    "the prompt carries each passage's section title, so a topic named only in a heading is seen",
    () =>
      Effect.gen(function* () {
        const documents = Retriever.layerDocuments([
          {
            sourceId: "handbook/sickness.md",
            text: "# Sickness\n\n## Fit notes\n\nFrom the eighth day you need one from a doctor."
          },
          {
            sourceId: "handbook/travel.md",
            text: "# Travel\n\n## Trains\n\nBook trains through the travel desk."
          }
        ])
        const scripted = yield* Scripted.make(["From the eighth day you need one from a doctor [1]."])
        yield* Rag.ask("From which day is a fit note needed?", { topK: 2 }).pipe(
          Effect.provide(Layer.mergeAll(scripted.layer, documents))
        )
        const prompt = JSON.stringify((yield* scripted.prompts)[0])
        // JSON writes the prompt's line breaks as a backslash and an n.
        assert.include(prompt, "(source: handbook/sickness.md)\\n# Fit notes\\nFrom the eighth day")
        // The Local model reads the title as the passage's topic: "fit note" is only in the heading
        // (without the title it declines).
        const local = yield* Rag.ask("From which day is a fit note needed?", { topK: 2 }).pipe(
          Effect.provide(Layer.mergeAll(Local.layer(), documents))
        )
        assert.strictEqual(local.output.answer, "From the eighth day you need one from a doctor [1].")
      })
  )

  it.effect(
    "retrieval also finds a passage worded with a synonym of the question's word, unless expandQuery is false",
    () =>
      Effect.gen(function* () {
        const documents = Retriever.layerDocuments([
          { sourceId: "phones.md", text: "# Phones\n\nStaff on call receive a company smartphone." },
          { sourceId: "desks.md", text: "# Desks\n\nStaff receive a desk." }
        ])
        const stack = Layer.mergeAll(Local.layer(), documents)
        // "mobile" is not in the corpus; its synonym "smartphone" is. Without it the shorter
        // passage sharing "staff receive" ranks first.
        const expanded = yield* Rag.ask("Which staff receive a mobile?", { topK: 1 }).pipe(
          Effect.provide(stack)
        )
        assert.strictEqual(expanded.output.citations[0]?.sourceId, "phones.md")
        assert.include(expanded.output.answer, "company smartphone [1]")
        const plain = yield* Rag.ask("Which staff receive a mobile?", { topK: 1, expandQuery: false }).pipe(
          Effect.provide(stack)
        )
        assert.notInclude(plain.output.answer, "smartphone")
      })
  )

  it.effect("a source id containing ')' is still a passage the Local model reads and cites", () =>
    Effect.gen(function* () {
      const result = yield* Rag.ask("How many days of paid leave do employees get?", { topK: 2 }).pipe(
        Effect.provide(
          Layer.mergeAll(
            Local.layer(),
            Retriever.layerDocuments([
              {
                sourceId: "handbook/leave (2024).md",
                text: "Employees get 25 days of paid leave a year. Unused leave expires at the end of March."
              },
              { sourceId: "handbook/expenses.md", text: "Travel expenses are refunded within 30 days." }
            ])
          )
        )
      )
      assert.match(result.output.answer, /25 days/)
      assert.strictEqual(result.output.citations[0]?.sourceId, "handbook/leave (2024).md")
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
