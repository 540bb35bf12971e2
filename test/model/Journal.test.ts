/**
 * Record / replay: calls recorded against the fake OpenAI server (text, tool
 * calls, structured output, a stream with tool calls, a typed failure, and
 * embeddings) are answered the same from the journal once the server is
 * gone; an unseen request fails clearly; repeated requests replay in order;
 * the replayed model is metered with the recorded usage; the key is stable;
 * and the API key never reaches the journal.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Schema, Stream } from "effect"
import { AiError, EmbeddingModel, LanguageModel, Prompt, Tool, Toolkit } from "effect/ai"
import * as Budget from "../../src/budget/Budget.ts"
import type { Charge } from "../../src/budget/Usage.ts"
import * as Journal from "../../src/model/Journal.ts"
import * as OpenAi from "../../src/model/OpenAi.ts"
import * as Scripted from "../../src/model/Scripted.ts"
import { start } from "../fixtures/openai/server.ts"

const KEY = "sk-journal-test-SECRET-9f8e7d6c5b4a"
const folder = mkdtempSync(join(tmpdir(), "weft-journal-"))
afterAll(() => rmSync(folder, { recursive: true, force: true }))

const Lookup = Tool.make("Lookup", {
  description: "Looks a word up",
  parameters: Schema.Struct({ word: Schema.String }),
  success: Schema.String
})
const Tools = Toolkit.make(Lookup)
const ToolsLive = Tools.toLayer({ Lookup: ({ word }) => Effect.succeed(`${word}: a word`) })
const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })

/** The calls both the recording and the replay make; returns what a test compares. */
const session = Effect.gen(function* () {
  const text = (yield* LanguageModel.generateText({ prompt: "Say hello" })).text
  const tools = yield* LanguageModel.generateText({ prompt: "Look up 'weft'", toolkit: Tools })
  const object = (yield* LanguageModel.generateObject({ prompt: "Ada, 36", schema: Person })).value
  const streamed = yield* LanguageModel.streamText({
    prompt: "Stream it",
    toolkit: Tools,
    disableToolCallResolution: true
  }).pipe(Stream.runCollect)
  const failed = yield* LanguageModel.generateText({ prompt: "This one fails" }).pipe(Effect.flip)
  const embedded = yield* Effect.flatMap(Effect.service(EmbeddingModel.EmbeddingModel), (model) =>
    model.embedMany(["one", "two"])
  )
  return {
    text,
    toolCalls: tools.toolCalls.map((call) => [call.name, call.params]),
    toolResults: tools.toolResults.map((result) => result.result),
    object,
    streamedText: streamed.flatMap((part) => (part.type === "text-delta" ? [part.delta] : [])).join(""),
    streamedCalls: streamed.flatMap((part) => (part.type === "tool-call" ? [[part.name, part.params]] : [])),
    failed: AiError.isAiError(failed) ? failed.reason._tag : "not an AiError",
    vectors: embedded.embeddings.map((embedding) => embedding.vector)
  }
})

describe("Journal", () => {
  it.live(
    "replays offline what was recorded against the server: text, tools, objects, streams, failures, embeddings",
    () =>
      Effect.gen(function* () {
        const path = join(folder, "session.jsonl")
        const server = yield* Effect.promise(() => start({ apiKey: KEY }))
        server.enqueue(
          { text: "Hello there." },
          { toolCalls: [{ name: "Lookup", arguments: '{"word":"weft"}' }] },
          { text: '{"name":"Ada","age":36}' },
          { text: "Streaming now.", toolCalls: [{ name: "Lookup", arguments: '{"word":"warp"}' }] },
          { fault: "status", status: 400, error: { message: "Bad request", param: "messages" } }
        )
        const client = OpenAi.layerClient({ apiKey: Redacted.make(KEY), baseUrl: server.url, maxRetries: 0 })
        const recording = Layer.mergeAll(
          Journal.record(path).pipe(Layer.provideMerge(OpenAi.model("gpt-4.1-mini"))),
          Journal.recordEmbeddings(path, { append: true, model: "text-embedding-3-small" }).pipe(
            Layer.provide(OpenAi.embeddings())
          ),
          ToolsLive
        ).pipe(Layer.provide(client))
        const recorded = yield* session.pipe(Effect.provide(recording))
        assert.deepStrictEqual(server.violations, [])
        yield* Effect.promise(() => server.close())

        assert.strictEqual(recorded.text, "Hello there.")
        assert.deepStrictEqual(recorded.toolResults, ["weft: a word"])
        assert.strictEqual(recorded.failed, "InvalidRequestError")

        const journal = readFileSync(path, "utf8")
        assert.notInclude(journal, KEY)
        assert.notInclude(journal, "SECRET")
        assert.strictEqual(journal.trim().split("\n").length, 5 + 2)

        const replaying = Layer.mergeAll(
          Journal.replay(path),
          Journal.replayEmbeddings(path, { model: "text-embedding-3-small" }),
          ToolsLive
        )
        const replayed = yield* session.pipe(Effect.provide(replaying))
        assert.deepStrictEqual(replayed, recorded)
        assert.deepStrictEqual(replayed.streamedCalls, [["Lookup", { word: "warp" }]])
        assert.deepStrictEqual(replayed.object, { name: "Ada", age: 36 })
      })
  )

  it.effect("fails clearly on a request it has not seen", () =>
    Effect.gen(function* () {
      const path = join(folder, "small.jsonl")
      yield* LanguageModel.generateText({ prompt: "known" }).pipe(
        Effect.provide(Journal.record(path).pipe(Layer.provideMerge(Scripted.layer(["answer"]))))
      )
      const error = yield* LanguageModel.generateText({ prompt: "never asked before" }).pipe(
        Effect.provide(Journal.replay(path)),
        Effect.flip
      )
      assert.strictEqual(error.reason._tag, "InvalidUserInputError")
      assert.isFalse(error.isRetryable)
      assert.include(error.message, path)
      assert.include(error.message, "never asked before")
    })
  )

  it.effect("replays a request recorded several times in order, then repeats the last answer", () =>
    Effect.gen(function* () {
      const path = join(folder, "repeat.jsonl")
      const ask = LanguageModel.generateText({ prompt: "again?" })
      yield* Effect.all([ask, ask]).pipe(
        Effect.provide(Journal.record(path).pipe(Layer.provideMerge(Scripted.layer(["first", "second"]))))
      )
      const answers = yield* Effect.all([ask, ask, ask]).pipe(Effect.provide(Journal.replay(path)))
      assert.deepStrictEqual(
        answers.map((a) => a.text),
        ["first", "second", "second"]
      )
    })
  )

  it.effect("the replayed model is metered under the recorded model, with the recorded usage", () =>
    Effect.gen(function* () {
      const path = join(folder, "metered.jsonl")
      const scripted = Scripted.layer([{ text: "counted", usage: { inputTokens: 120, outputTokens: 7 } }], {
        model: "gpt-4.1-nano"
      })
      yield* LanguageModel.generateText({ prompt: "price me" }).pipe(
        Effect.provide(Journal.record(path).pipe(Layer.provideMerge(scripted)))
      )
      const charges: Array<Charge> = []
      yield* LanguageModel.generateText({ prompt: "price me" }).pipe(
        Effect.provide(Budget.layer({ costUsd: 1 }, { onCharge: (charge) => charges.push(charge) })),
        Effect.provide(Journal.replay(path))
      )
      assert.deepStrictEqual(
        charges.map((c) => [c.model, c.inputTokens, c.outputTokens, c.outcome]),
        [["gpt-4.1-nano", 120, 7, "ok"]]
      )
      assert.isAbove(charges[0]!.costUsd, 0)
    })
  )

  it("keys are stable: the same request written two ways hashes the same; another tool list does not", () => {
    const base = {
      prompt: Prompt.make("What is weft?"),
      tools: [] as Array<Tool.Any>,
      toolChoice: "auto" as const,
      responseFormat: { type: "text" as const }
    } as unknown as LanguageModel.ProviderOptions
    const same = {
      ...base,
      prompt: Prompt.make([{ role: "user", content: [{ type: "text", text: "What is weft?" }] }])
    }
    const withTool = { ...base, tools: [Lookup] }
    const key = (p: LanguageModel.ProviderOptions) => Journal.keyOf("generate", "m", Journal.requestOf(p))
    assert.strictEqual(key(base), key(same as never))
    assert.notStrictEqual(key(base), key(withTool as never))
    assert.notStrictEqual(Journal.keyOf("stream", "m", Journal.requestOf(base)), key(base))
    assert.match(key(base), /^[0-9a-f]{64}$/)
  })
})
