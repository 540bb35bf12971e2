/**
 * The Scripted test double: playback in order, recorded prompts, typed
 * failures, an exhausted script, delays on the TestClock, tool calls through
 * a real Toolkit, and counted default usage.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Option, Schema, Stream } from "effect"
import { AiError, LanguageModel, Model, Prompt, Tool, Toolkit } from "effect/ai"
import { TestClock } from "effect/testing"
import * as Scripted from "../../src/model/Scripted.ts"
import { countPrompt, countText, messageText } from "../../src/text/Tokens.ts"

const lastUserText = (prompt: Prompt.Prompt): string => {
  const message = prompt.content.findLast((m) => m.role === "user")
  return message === undefined ? "" : messageText(message)
}

describe("Scripted", () => {
  it.effect("plays the script back in order and records each prompt", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["first answer", { text: "second answer" }])
      const [first, second] = yield* Effect.all([
        LanguageModel.generateText({ prompt: "one" }),
        LanguageModel.generateText({ prompt: "two" })
      ]).pipe(Effect.provide(scripted.layer))
      assert.strictEqual(first.text, "first answer")
      assert.strictEqual(second.text, "second answer")
      assert.strictEqual(second.finishReason, "stop")
      const prompts = yield* scripted.prompts
      assert.deepStrictEqual(prompts.map(lastUserText), ["one", "two"])
      assert.strictEqual(yield* scripted.calls, 2)
    })
  )

  it.effect("counts usage from the prompt and the answer unless the entry gives it", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([
        "a counted answer",
        { text: "given", usage: { inputTokens: 7, outputTokens: 3 } }
      ])
      const counted = yield* LanguageModel.generateText({ prompt: "How much?" }).pipe(
        Effect.provide(scripted.layer)
      )
      assert.strictEqual(counted.usage.inputTokens.total, countPrompt(Prompt.make("How much?")))
      assert.strictEqual(counted.usage.outputTokens.total, countText("a counted answer"))
      const given = yield* LanguageModel.generateText({ prompt: "How much?" }).pipe(
        Effect.provide(scripted.layer)
      )
      assert.strictEqual(given.usage.inputTokens.total, 7)
      assert.strictEqual(given.usage.outputTokens.total, 3)
    })
  )

  it.effect("answers generateObject from an object entry", () =>
    Effect.gen(function* () {
      const value = yield* LanguageModel.generateObject({
        prompt: "Who?",
        schema: Schema.Struct({ name: Schema.String, age: Schema.Int })
      }).pipe(
        Effect.map((response) => response.value),
        Effect.provide(Scripted.layer([{ object: { name: "Ada", age: 36 } }]))
      )
      assert.deepStrictEqual(value, { name: "Ada", age: 36 })
    })
  )

  it.effect("lets a function entry answer from the prompt", () =>
    Effect.gen(function* () {
      const echo: Scripted.Entry = (prompt, call) => `#${call}: ${lastUserText(prompt)}`
      const response = yield* LanguageModel.generateText({ prompt: "ping" }).pipe(
        Effect.provide(Scripted.layer([echo]))
      )
      assert.strictEqual(response.text, "#1: ping")
    })
  )

  it.effect("fails a call with the scripted typed error", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([
        { fail: new AiError.RateLimitError({ retryAfter: Duration.seconds(2) }) },
        {
          fail: AiError.make({
            module: "Test",
            method: "call",
            reason: new AiError.InternalProviderError({ description: "boom" })
          })
        },
        "recovered"
      ])
      const rateLimited = yield* LanguageModel.generateText({ prompt: "x" }).pipe(
        Effect.provide(scripted.layer),
        Effect.flip
      )
      assert.strictEqual(rateLimited.reason._tag, "RateLimitError")
      assert.isTrue(rateLimited.isRetryable)
      assert.strictEqual(rateLimited.module, "Scripted")
      const internal = yield* LanguageModel.generateText({ prompt: "x" }).pipe(
        Effect.provide(scripted.layer),
        Effect.flip
      )
      assert.strictEqual(internal.reason._tag, "InternalProviderError")
      assert.strictEqual(internal.module, "Test")
      const recovered = yield* LanguageModel.generateText({ prompt: "x" }).pipe(
        Effect.provide(scripted.layer)
      )
      assert.strictEqual(recovered.text, "recovered")
    })
  )

  it.effect("fails typed, naming the call, once the script is exhausted", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["only answer"])
      yield* LanguageModel.generateText({ prompt: "one" }).pipe(Effect.provide(scripted.layer))
      const error = yield* LanguageModel.generateText({ prompt: "two" }).pipe(
        Effect.provide(scripted.layer),
        Effect.flip
      )
      assert.isTrue(AiError.isAiError(error))
      assert.strictEqual(error.reason._tag, "UnknownError")
      assert.isFalse(error.isRetryable)
      assert.include(error.message, "Scripted model has no response for call #2")
      assert.strictEqual(yield* scripted.calls, 2)
    })
  )

  it.effect("sleeps on the Effect clock before a delayed entry", () =>
    Effect.gen(function* () {
      const layer = Scripted.layer([
        { delay: "10 seconds", reply: "late answer" },
        { delay: "10 seconds", reply: "too late" }
      ])
      const fiber = yield* LanguageModel.generateText({ prompt: "x" }).pipe(
        Effect.provide(layer),
        Effect.forkChild
      )
      yield* TestClock.adjust("9 seconds")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 second")
      const response = yield* Fiber.join(fiber)
      assert.strictEqual(response.text, "late answer")
    })
  )

  it.effect("a delayed entry lets a TestClock-driven timeout fire", () =>
    Effect.gen(function* () {
      const fiber = yield* LanguageModel.generateText({ prompt: "x" }).pipe(
        Effect.timeoutOption("5 seconds"),
        Effect.provide(Scripted.layer([{ delay: "1 minute", reply: "never seen" }])),
        Effect.forkChild
      )
      yield* TestClock.adjust("5 seconds")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Option.isNone(result))
    })
  )

  it.effect("plays tool calls that a Toolkit then runs", () =>
    Effect.gen(function* () {
      const GetWeather = Tool.make("GetWeather", {
        parameters: Schema.Struct({ city: Schema.String }),
        success: Schema.String
      })
      const toolkit = Toolkit.make(GetWeather)
      const handlers = toolkit.toLayer({ GetWeather: ({ city }) => Effect.succeed(`sunny in ${city}`) })
      const response = yield* LanguageModel.generateText({
        prompt: "Weather in Paris?",
        toolkit
      }).pipe(
        Effect.provide(Scripted.layer([{ toolCalls: [{ name: "GetWeather", params: { city: "Paris" } }] }])),
        Effect.provide(handlers)
      )
      assert.strictEqual(response.finishReason, "tool-calls")
      assert.deepStrictEqual(
        response.toolCalls.map((call) => [call.id, call.name, call.params]),
        [["call_1_0", "GetWeather", { city: "Paris" }]]
      )
      assert.deepStrictEqual(
        response.toolResults.map((result) => result.result),
        ["sunny in Paris"]
      )
    })
  )

  it.effect("streams a scripted answer as text deltas", () =>
    Effect.gen(function* () {
      const parts = yield* Stream.runCollect(LanguageModel.streamText({ prompt: "x" })).pipe(
        Effect.provide(Scripted.layer(["streamed in several words"]))
      )
      const text = parts.flatMap((part) => (part.type === "text-delta" ? [part.delta] : [])).join("")
      assert.strictEqual(text, "streamed in several words")
      assert.strictEqual(parts[parts.length - 1]?.type, "finish")
    })
  )

  it.effect("provides its Model.ModelName: scripted unless overridden", () =>
    Effect.gen(function* () {
      assert.strictEqual(
        yield* Effect.provide(Effect.service(Model.ModelName), Scripted.layer([])),
        "scripted"
      )
      assert.strictEqual(
        yield* Effect.provide(Effect.service(Model.ModelName), Scripted.layer([], { model: "gpt-test" })),
        "gpt-test"
      )
    })
  )

  it.effect("a repeating entry answers every later call; a counted one that many times", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([{ repeat: "twice", times: 2 }, "once", { repeat: "forever" }])
      const texts: Array<string> = []
      for (let i = 0; i < 6; i++) {
        texts.push(
          (yield* LanguageModel.generateText({ prompt: `q${i}` }).pipe(Effect.provide(scripted.layer))).text
        )
      }
      assert.deepStrictEqual(texts, ["twice", "twice", "once", "forever", "forever", "forever"])
      assert.strictEqual(yield* scripted.calls, 6)
    })
  )

  it.effect("with record: false it keeps no prompts but still counts calls", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([{ repeat: "a" }], { record: false })
      for (let i = 0; i < 3; i++)
        yield* LanguageModel.generateText({ prompt: "q" }).pipe(Effect.provide(scripted.layer))
      assert.lengthOf(yield* scripted.prompts, 0)
      assert.strictEqual(yield* scripted.calls, 3)
    })
  )

  it.effect("maxOutputTokens that is not an integer ≥ 1 fails the layer with an error naming it", () =>
    Effect.gen(function* () {
      for (const bad of [0, -5, 1.5, Number.NaN]) {
        const error = yield* Effect.flip(
          LanguageModel.generateText({ prompt: "q" }).pipe(
            Effect.provide(Scripted.layer(["a"], { maxOutputTokens: bad }))
          )
        )
        assert.strictEqual(error.reason._tag, "InvalidUserInputError")
        assert.match(error.message, /maxOutputTokens must be an integer ≥ 1, got/)
      }
    })
  )
})
