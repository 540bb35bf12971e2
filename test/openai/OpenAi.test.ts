/**
 * The OpenAI provider against the fake OpenAI-compatible server, in both its
 * styles ("openai" and "ollama"): every request body is checked against the
 * official request schemas; the mapping both ways (roles, multi-part content,
 * parallel tool calls, tool choice, structured output, finish reasons,
 * refusals, usage with cached and reasoning tokens, request ids, streamed
 * tool-call deltas, embeddings); and each fault, asserting the typed
 * outcome and the number of attempts the server saw.
 */
import { afterAll, afterEach, assert, beforeAll, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Fiber, Layer, Redacted, Schedule, Schema, Stream } from "effect"
import { AiError, EmbeddingModel, LanguageModel, Model, Prompt, Tool, Toolkit } from "effect/ai"
import * as Budget from "../../src/budget/Budget.ts"
import { MaxOutputTokens } from "../../src/budget/Meter.ts"
import type { Charge } from "../../src/budget/Usage.ts"
import { attemptsMadeOf, isRetryable } from "../../src/core/Retry.ts"
import * as OpenAi from "../../src/model/OpenAi.ts"
import { retryAfterOf } from "../../src/model/openai/errors.ts"
import { type FakeOpenAi, start } from "../fixtures/openai/server.ts"

const KEY = "sk-test-weft-0123456789abcdefSECRET"

const GetWeather = Tool.make("GetWeather", {
  description: "The weather in a city",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.String
})
const GetTime = Tool.make("GetTime", {
  description: "The time in a city",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.String
})
const Tools = Toolkit.make(GetWeather, GetTime)
const ToolsLive = Tools.toLayer({
  GetWeather: ({ city }) => Effect.succeed(`sunny in ${city}`),
  GetTime: ({ city }) => Effect.succeed(`noon in ${city}`)
})

const Invoice = Schema.Struct({ number: Schema.String, total: Schema.Number })

const reasonOf = (error: unknown): string =>
  AiError.isAiError(error) ? error.reason._tag : `not an AiError: ${String(error)}`

for (const style of ["openai", "ollama"] as const) {
  describe(`OpenAi provider (${style} style)`, () => {
    let server: FakeOpenAi
    beforeAll(async () => {
      server = await start({ style, apiKey: KEY })
    })
    afterAll(() => server.close())
    afterEach(() => {
      // Every body any test sent was valid against the official schema.
      assert.deepStrictEqual(server.violations, [])
      server.reset()
    })

    const client = (options?: Partial<OpenAi.ClientOptions>) =>
      OpenAi.layerClient({
        apiKey: Redacted.make(KEY),
        baseUrl: server.url,
        backoff: Schedule.spaced("5 millis"),
        timeout: "2 seconds",
        ...options
      })
    const modelLayer = (options?: Partial<OpenAi.ClientOptions>, name = "gpt-4.1-mini") =>
      OpenAi.model({ model: name, maxOutputTokens: 256 }).pipe(Layer.provide(client(options)))
    const chat = () => server.requests.filter((r) => r.path.endsWith("/chat/completions"))

    it.live("generateText: text, finish reason, usage, model, request id and a valid request", () =>
      Effect.gen(function* () {
        server.enqueue({
          text: "Paris is the capital.",
          usage: { prompt: 21, completion: 5, cached: 16, reasoning: 2 }
        })
        const response = yield* LanguageModel.generateText({
          prompt: [
            { role: "system", content: "Be brief." },
            { role: "user", content: [{ type: "text", text: "Capital of France?" }] }
          ]
        })
        assert.strictEqual(response.text, "Paris is the capital.")
        assert.strictEqual(response.finishReason, "stop")
        assert.strictEqual(response.usage.inputTokens.total, 21)
        assert.strictEqual(response.usage.outputTokens.total, 5)
        if (style === "openai") {
          assert.strictEqual(response.usage.inputTokens.cacheRead, 16)
          assert.strictEqual(response.usage.inputTokens.uncached, 5)
          assert.strictEqual(response.usage.outputTokens.reasoning, 2)
        }
        const meta = response.content.find((part) => part.type === "response-metadata")
        assert.isDefined(meta)
        assert.match(String(meta?.modelId), /^gpt-4\.1-mini/)
        assert.strictEqual((meta?.metadata as any)?.openai?.requestId, "req_000000000001")
        const [seen] = chat()
        assert.strictEqual(seen?.body.model, "gpt-4.1-mini")
        assert.strictEqual(seen?.body.max_completion_tokens, 256)
        assert.deepStrictEqual(seen?.body.messages, [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Capital of France?" }
        ])
        assert.strictEqual(seen?.headers.authorization, `Bearer ${KEY}`)
        assert.strictEqual(yield* Model.ModelName, "gpt-4.1-mini")
        assert.strictEqual(yield* Model.ProviderName, "openai")
      }).pipe(Effect.provide(modelLayer()))
    )

    it.live("maps every role, multi-part content, tool calls and tool results into the request", () =>
      Effect.gen(function* () {
        server.enqueue({ text: "Done." })
        const prompt = Prompt.make([
          { role: "system", content: "You are terse." },
          {
            role: "user",
            content: [
              { type: "text", text: "What is in this picture, and the weather?" },
              { type: "file", mediaType: "image/png", data: new Uint8Array([137, 80, 78, 71]) }
            ]
          },
          {
            role: "assistant",
            content: [
              { type: "text", text: "Let me check." },
              { type: "tool-call", id: "call_a", name: "GetWeather", params: { city: "Oslo" } },
              { type: "tool-call", id: "call_b", name: "GetTime", params: { city: "Oslo" } }
            ]
          },
          {
            role: "tool",
            content: [
              { type: "tool-result", id: "call_a", name: "GetWeather", isFailure: false, result: "rain" },
              { type: "tool-result", id: "call_b", name: "GetTime", isFailure: false, result: { hour: 12 } }
            ]
          }
        ])
        yield* LanguageModel.generateText({ prompt })
        const messages = chat()[0]?.body.messages
        assert.deepStrictEqual(messages, [
          { role: "system", content: "You are terse." },
          {
            role: "user",
            content: [
              { type: "text", text: "What is in this picture, and the weather?" },
              { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw==" } }
            ]
          },
          {
            role: "assistant",
            content: "Let me check.",
            tool_calls: [
              {
                id: "call_a",
                type: "function",
                function: { name: "GetWeather", arguments: '{"city":"Oslo"}' }
              },
              { id: "call_b", type: "function", function: { name: "GetTime", arguments: '{"city":"Oslo"}' } }
            ]
          },
          { role: "tool", tool_call_id: "call_a", content: "rain" },
          { role: "tool", tool_call_id: "call_b", content: '{"hour":12}' }
        ])
      }).pipe(Effect.provide(modelLayer()))
    )

    it.live("parallel tool calls come back as tool calls with parsed parameters, and are run", () =>
      Effect.gen(function* () {
        server.enqueue({
          toolCalls: [
            { name: "GetWeather", arguments: '{"city":"Oslo"}' },
            { name: "GetTime", arguments: '{"city":"Lima"}' }
          ]
        })
        const response = yield* LanguageModel.generateText({
          prompt: "Weather in Oslo, time in Lima?",
          toolkit: Tools
        })
        assert.deepStrictEqual(
          response.toolCalls.map((call) => [call.name, call.params]),
          [
            ["GetWeather", { city: "Oslo" }],
            ["GetTime", { city: "Lima" }]
          ]
        )
        assert.deepStrictEqual(
          response.toolResults.map((result) => result.result),
          ["sunny in Oslo", "noon in Lima"]
        )
        assert.strictEqual(response.finishReason, style === "openai" ? "tool-calls" : "stop")
        const body = chat()[0]?.body
        assert.deepStrictEqual(
          body.tools.map((tool: any) => [tool.type, tool.function.name, tool.function.description]),
          [
            ["function", "GetWeather", "The weather in a city"],
            ["function", "GetTime", "The time in a city"]
          ]
        )
        assert.strictEqual(body.tools[0].function.parameters.type, "object")
        assert.strictEqual(body.tool_choice, "auto")
      }).pipe(Effect.provide(Layer.merge(modelLayer(), ToolsLive)))
    )

    it.live("tool choice: a named tool, a required subset, and none", () =>
      Effect.gen(function* () {
        server.enqueue({ text: "a" }, { text: "b" }, { text: "c" })
        yield* LanguageModel.generateText({ prompt: "x", toolkit: Tools, toolChoice: { tool: "GetTime" } })
        yield* LanguageModel.generateText({
          prompt: "x",
          toolkit: Tools,
          toolChoice: { mode: "required", oneOf: ["GetWeather"] }
        })
        yield* LanguageModel.generateText({ prompt: "x", toolkit: Tools, toolChoice: "none" })
        const [named, subset, none] = chat().map((r) => r.body)
        assert.deepStrictEqual(named.tool_choice, { type: "function", function: { name: "GetTime" } })
        assert.deepStrictEqual(
          subset.tools.map((tool: any) => tool.function.name),
          ["GetWeather"]
        )
        assert.strictEqual(subset.tool_choice, "required")
        assert.strictEqual(none.tools, undefined)
      }).pipe(Effect.provide(Layer.merge(modelLayer(), ToolsLive)))
    )

    it.live("generateObject sends a strict json_schema response format and decodes the answer", () =>
      Effect.gen(function* () {
        server.enqueue({ text: '{"number":"INV-7","total":12.5}' })
        const response = yield* LanguageModel.generateObject({
          prompt: "Read the invoice",
          schema: Invoice,
          objectName: "invoice"
        })
        assert.deepStrictEqual(response.value, { number: "INV-7", total: 12.5 })
        const format = chat()[0]?.body.response_format
        assert.strictEqual(format.type, "json_schema")
        assert.strictEqual(format.json_schema.name, "invoice")
        assert.strictEqual(format.json_schema.strict, true)
        assert.deepStrictEqual(format.json_schema.schema.required, ["number", "total"])
        assert.strictEqual(format.json_schema.schema.additionalProperties, false)
      }).pipe(Effect.provide(modelLayer()))
    )

    it.live(
      "structured output that does not decode is a StructuredOutputError for the repair loop, charged as invalid",
      () =>
        Effect.gen(function* () {
          server.enqueue({ text: '{"number":7}', usage: { prompt: 30, completion: 4 } })
          const charges: Array<Charge> = []
          const error = yield* LanguageModel.generateObject({ prompt: "Read", schema: Invoice }).pipe(
            Effect.flip,
            Effect.provide(Budget.layer({}, { onCharge: (charge) => charges.push(charge) }))
          )
          assert.strictEqual(reasonOf(error), "StructuredOutputError")
          assert.strictEqual(chat().length, 1, "not retried by the provider")
          assert.deepStrictEqual(
            charges.map((c) => c.outcome),
            ["invalid"]
          )
        }).pipe(Effect.provide(modelLayer()))
    )

    it.live("a refusal is a ContentPolicyError", () =>
      Effect.gen(function* () {
        server.enqueue({ refusal: "I can't help with that." })
        const error = yield* LanguageModel.generateObject({ prompt: "x", schema: Invoice }).pipe(Effect.flip)
        assert.strictEqual(reasonOf(error), "ContentPolicyError")
        assert.match(String(error.message), /can't help/)
      }).pipe(Effect.provide(modelLayer()))
    )

    it.live(
      "request options: per model, per call (CallOptions), the output limit narrowed, max_tokens for older servers",
      () =>
        Effect.gen(function* () {
          server.enqueue({ text: "a" }, { text: "b" }, { text: "c" })
          const withOptions = OpenAi.model({
            model: "gpt-4.1-mini",
            maxOutputTokens: 300,
            request: { temperature: 0.2, seed: 7, stop: ["END"] }
          }).pipe(Layer.provide(client()))
          yield* LanguageModel.generateText({ prompt: "x" }).pipe(
            Effect.provideService(OpenAi.CallOptions, {
              temperature: 0,
              user: "u-1",
              reasoningEffort: "low"
            }),
            Effect.provideService(MaxOutputTokens, 50),
            Effect.provide(withOptions)
          )
          yield* LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(withOptions))
          const legacy = OpenAi.model({ model: "llama3.2", maxTokensField: "max_tokens" }).pipe(
            Layer.provide(client())
          )
          yield* LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(legacy))
          const [first, second, third] = chat().map((r) => r.body)
          assert.strictEqual(first.temperature, 0, "the call's option wins")
          assert.strictEqual(first.seed, 7)
          assert.deepStrictEqual(first.stop, ["END"])
          assert.strictEqual(first.user, "u-1")
          assert.strictEqual(first.reasoning_effort, "low")
          assert.strictEqual(first.max_completion_tokens, 50)
          assert.strictEqual(second.temperature, 0.2)
          assert.strictEqual(second.user, undefined)
          assert.strictEqual(second.max_completion_tokens, 300)
          assert.strictEqual(third.max_tokens, 4096)
          assert.strictEqual(third.max_completion_tokens, undefined)
        })
    )

    it.live(
      "reasoning text from a compatible server is a reasoning part; a withheld answer is a ContentPolicyError",
      () =>
        Effect.gen(function* () {
          server.enqueue(
            { reasoning: "The user wants a greeting.", text: "Hello!" },
            { text: "", finishReason: "content_filter" },
            {
              fault: "status",
              status: 400,
              error: { message: "Your request was rejected", code: "content_policy_violation" }
            }
          )
          const response = yield* LanguageModel.generateText({ prompt: "greet" })
          assert.strictEqual(response.reasoningText, "The user wants a greeting.")
          assert.strictEqual(response.text, "Hello!")
          const withheld = yield* LanguageModel.generateText({ prompt: "x" }).pipe(Effect.flip)
          assert.strictEqual(reasonOf(withheld), "ContentPolicyError")
          const rejected = yield* LanguageModel.generateText({ prompt: "x" }).pipe(Effect.flip)
          assert.strictEqual(reasonOf(rejected), "ContentPolicyError")
          assert.strictEqual(chat().length, 3, "none retried")
        }).pipe(Effect.provide(modelLayer()))
    )

    it.live("streamText: text deltas, tool-call argument deltas reassembled, usage in the finish part", () =>
      Effect.gen(function* () {
        server.enqueue({
          text: "Checking both cities now.",
          toolCalls: [
            { name: "GetWeather", arguments: '{"city":"Reykjavik, Iceland"}' },
            { name: "GetTime", arguments: '{"city":"Ulaanbaatar"}' }
          ],
          usage: { prompt: 40, completion: 22 }
        })
        const parts = yield* LanguageModel.streamText({
          prompt: "Weather and time?",
          toolkit: Tools,
          disableToolCallResolution: true
        }).pipe(Stream.runCollect)
        const types = parts.map((part) => part.type)
        const deltas = parts.flatMap((part) => (part.type === "text-delta" ? [part.delta] : []))
        assert.strictEqual(deltas.join(""), "Checking both cities now.")
        assert.isAbove(deltas.length, 1)
        const calls = parts.flatMap((part) => (part.type === "tool-call" ? [[part.name, part.params]] : []))
        assert.deepStrictEqual(calls, [
          ["GetWeather", { city: "Reykjavik, Iceland" }],
          ["GetTime", { city: "Ulaanbaatar" }]
        ])
        const paramDeltas = parts.filter((part) => part.type === "tool-params-delta").length
        if (style === "openai") assert.isAbove(paramDeltas, 4, "arguments arrived in pieces")
        assert.include(types, "tool-params-start")
        assert.include(types, "tool-params-end")
        const finish = parts.find((part) => part.type === "finish")
        assert.strictEqual(finish?.usage.inputTokens.total, 40)
        assert.strictEqual(finish?.usage.outputTokens.total, 22)
        assert.strictEqual(chat()[0]?.body.stream, true)
        assert.deepStrictEqual(chat()[0]?.body.stream_options, { include_usage: true })
      }).pipe(Effect.provide(modelLayer()))
    )

    it.live("embeddings: one vector per input, in order, sized as asked", () =>
      Effect.gen(function* () {
        const model = yield* EmbeddingModel.EmbeddingModel
        const response = yield* model.embedMany(["alpha", "beta", "alpha"])
        assert.strictEqual(response.embeddings.length, 3)
        const [alpha, beta, again] = response.embeddings.map((embedding) => embedding.vector)
        assert.strictEqual(alpha?.length, 16)
        assert.deepStrictEqual(alpha, again)
        assert.notDeepEqual(alpha, beta)
        const seen = server.requests.find((r) => r.path.endsWith("/embeddings"))
        assert.deepStrictEqual(seen?.body, {
          model: "text-embedding-3-small",
          input: ["alpha", "beta", "alpha"],
          encoding_format: "float",
          dimensions: 16
        })
      }).pipe(Effect.provide(OpenAi.embeddings({ dimensions: 16 }).pipe(Layer.provide(client()))))
    )

    it.live("embeddings retry on our policy, and the failure they give up with is marked as retried", () =>
      Effect.gen(function* () {
        const model = yield* EmbeddingModel.EmbeddingModel
        server.enqueue({ fault: "status", status: 503 })
        const response = yield* model.embedMany(["alpha"])
        assert.strictEqual(response.embeddings.length, 1)
        const embeddings = () => server.requests.filter((r) => r.path.endsWith("/embeddings"))
        assert.strictEqual(embeddings().length, 2)
        server.enqueue(...Array.from({ length: 5 }, () => ({ fault: "status" as const, status: 503 })))
        const error = yield* Effect.flip(model.embedMany(["beta"]))
        // One call and its two retries; a step around the call will not retry it again.
        assert.strictEqual(embeddings().length, 2 + 3)
        assert.strictEqual(attemptsMadeOf(error), 3)
        assert.isFalse(isRetryable(error))
      }).pipe(
        Effect.provide(OpenAi.embeddings({ dimensions: 16 }).pipe(Layer.provide(client({ maxRetries: 2 }))))
      )
    )

    describe("faults", () => {
      it.live("429 with retry-after-ms: waits at least that long, then succeeds on the second attempt", () =>
        Effect.gen(function* () {
          server.enqueue(
            {
              fault: "status",
              status: 429,
              headers: { "retry-after-ms": "120" },
              error: { message: "Rate limit reached", code: "rate_limit_exceeded" }
            },
            { text: "ok" }
          )
          const response = yield* LanguageModel.generateText({ prompt: "x" })
          assert.strictEqual(response.text, "ok")
          const [first, second] = chat()
          assert.strictEqual(chat().length, 2)
          assert.isAtLeast(second!.at - first!.at, 110)
        }).pipe(Effect.provide(modelLayer()))
      )

      it.live("429 with retry-after in seconds is honoured", () =>
        Effect.gen(function* () {
          server.enqueue({ fault: "status", status: 429, headers: { "retry-after": "1" } }, { text: "ok" })
          const response = yield* LanguageModel.generateText({ prompt: "x" })
          assert.strictEqual(response.text, "ok")
          const [first, second] = chat()
          assert.isAtLeast(second!.at - first!.at, 950)
        }).pipe(Effect.provide(modelLayer()))
      )

      it.live("insufficient_quota (429) is QuotaExhaustedError and is not retried", () =>
        Effect.gen(function* () {
          server.enqueue({
            fault: "status",
            status: 429,
            error: {
              message: "You exceeded your current quota",
              code: "insufficient_quota",
              type: "insufficient_quota"
            }
          })
          const error = yield* LanguageModel.generateText({ prompt: "x" }).pipe(Effect.flip)
          assert.strictEqual(reasonOf(error), "QuotaExhaustedError")
          assert.strictEqual(chat().length, 1)
        }).pipe(Effect.provide(modelLayer()))
      )

      it.live("500 then 503 then success: three attempts, each metered (two failed, one ok)", () =>
        Effect.gen(function* () {
          server.enqueue(
            { fault: "status", status: 500 },
            { fault: "status", status: 503 },
            { text: "third time" }
          )
          const charges: Array<Charge> = []
          const response = yield* LanguageModel.generateText({ prompt: "x" }).pipe(
            Effect.provide(Budget.layer({}, { onCharge: (charge) => charges.push(charge) }))
          )
          assert.strictEqual(response.text, "third time")
          assert.strictEqual(chat().length, 3)
          assert.deepStrictEqual(
            charges.map((c) => [c.model, c.outcome]),
            [
              ["gpt-4.1-mini", "failed"],
              ["gpt-4.1-mini", "failed"],
              ["gpt-4.1-mini", "ok"]
            ]
          )
          assert.isAbove(charges[2]!.costUsd, 0, "priced from the price table")
        }).pipe(Effect.provide(modelLayer()))
      )

      it.live("5xx on every attempt: InternalProviderError after 1 + maxRetries attempts", () =>
        Effect.gen(function* () {
          server.enqueue(...Array.from({ length: 3 }, () => ({ fault: "status" as const, status: 502 })))
          const error = yield* LanguageModel.generateText({ prompt: "x" }).pipe(Effect.flip)
          assert.strictEqual(reasonOf(error), "InternalProviderError")
          assert.strictEqual(chat().length, 3)
        }).pipe(Effect.provide(modelLayer({ maxRetries: 2 })))
      )

      it.live("401 is an AuthenticationError, not retried, and the key appears nowhere in it", () =>
        Effect.gen(function* () {
          const error = yield* LanguageModel.generateText({ prompt: "x" }).pipe(Effect.flip)
          assert.strictEqual(reasonOf(error), "AuthenticationError")
          assert.strictEqual(chat().length, 1)
          // The server echoed the wrong key it got; ours never leaks either way.
          const shown = `${error.message} ${JSON.stringify(error)} ${String(error)}`
          assert.notInclude(shown, "wrong-key-abcdef123456")
        }).pipe(Effect.provide(modelLayer({ apiKey: Redacted.make("wrong-key-abcdef123456") })))
      )

      it.live("a connection reset is retried", () =>
        Effect.gen(function* () {
          server.enqueue({ fault: "reset" }, { text: "after reset" })
          const response = yield* LanguageModel.generateText({ prompt: "x" })
          assert.strictEqual(response.text, "after reset")
          assert.strictEqual(chat().length, 2)
        }).pipe(Effect.provide(modelLayer()))
      )

      it.live("a stall past the timeout is a NetworkError and leaves no socket open", () =>
        Effect.gen(function* () {
          server.enqueue({ fault: "stall" })
          const error = yield* LanguageModel.generateText({ prompt: "x" }).pipe(Effect.flip)
          assert.strictEqual(reasonOf(error), "NetworkError")
          assert.match(error.message, /No response within/)
          assert.strictEqual(chat().length, 1)
          yield* waitForNoSockets(server)
        }).pipe(Effect.provide(modelLayer({ timeout: "150 millis", maxRetries: 0 })))
      )

      it.live("interrupting a call aborts its HTTP request", () =>
        Effect.gen(function* () {
          server.enqueue({ fault: "stall" })
          const fiber = yield* Effect.forkChild(LanguageModel.generateText({ prompt: "x" }))
          yield* waitFor(() => chat().length === 1)
          assert.isAbove(server.openSockets(), 0)
          yield* Fiber.interrupt(fiber)
          yield* waitForNoSockets(server)
        }).pipe(Effect.provide(modelLayer()))
      )

      it.live("interrupting a stream aborts its HTTP request", () =>
        Effect.gen(function* () {
          server.enqueue({ text: "slow", delayMs: 5_000 })
          const fiber = yield* Effect.forkChild(Stream.runDrain(LanguageModel.streamText({ prompt: "x" })))
          yield* waitFor(() => chat().length === 1)
          yield* Fiber.interrupt(fiber)
          yield* waitForNoSockets(server)
        }).pipe(Effect.provide(modelLayer()))
      )

      it.live(
        "a stream cut mid-way delivers what came, then fails with a NetworkError (not retried after output)",
        () =>
          Effect.gen(function* () {
            server.enqueue({ fault: "cut", after: 3, text: "one two three four five" })
            const seen: Array<string> = []
            const error = yield* LanguageModel.streamText({ prompt: "x" }).pipe(
              Stream.runForEach((part) =>
                Effect.sync(() => part.type === "text-delta" && seen.push(part.delta))
              ),
              Effect.flip
            )
            assert.strictEqual(reasonOf(error), "NetworkError")
            assert.strictEqual(seen.join(""), "one two three ")
            assert.strictEqual(chat().length, 1)
          }).pipe(Effect.provide(modelLayer()))
      )

      it.live(
        "a stream that goes quiet mid-way fails after the timeout with a NetworkError and closes its socket",
        () =>
          Effect.gen(function* () {
            server.enqueue({ fault: "cut", after: 2, text: "one two three four", stall: true })
            const seen: Array<string> = []
            const error = yield* LanguageModel.streamText({ prompt: "x" }).pipe(
              Stream.runForEach((part) =>
                Effect.sync(() => part.type === "text-delta" && seen.push(part.delta))
              ),
              Effect.flip
            )
            assert.strictEqual(reasonOf(error), "NetworkError")
            assert.match(error.message, /No response within/)
            assert.strictEqual(seen.join(""), "one two ")
            yield* waitForNoSockets(server)
          }).pipe(Effect.provide(modelLayer({ timeout: "200 millis" })))
      )

      it.live("a stream that fails before its first part is retried", () =>
        Effect.gen(function* () {
          server.enqueue({ fault: "status", status: 503 }, { text: "streamed" })
          const text = yield* LanguageModel.streamText({ prompt: "x" }).pipe(
            Stream.runFold(
              () => "",
              (acc, part) => (part.type === "text-delta" ? acc + part.delta : acc)
            )
          )
          assert.strictEqual(text, "streamed")
          assert.strictEqual(chat().length, 2)
        }).pipe(Effect.provide(modelLayer()))
      )

      it.live(
        "tool arguments that are not JSON are an InvalidOutputError (whole and streamed), not retried",
        () =>
          Effect.gen(function* () {
            const bad = { toolCalls: [{ name: "GetWeather", arguments: '{"city": "Oslo"' }] }
            server.enqueue(bad, bad)
            const whole = yield* LanguageModel.generateText({ prompt: "x", toolkit: Tools }).pipe(Effect.flip)
            assert.strictEqual(reasonOf(whole), "InvalidOutputError")
            assert.match(whole.message, /not JSON/)
            const streamed = yield* LanguageModel.streamText({ prompt: "x", toolkit: Tools }).pipe(
              Stream.runDrain,
              Effect.flip
            )
            assert.strictEqual(reasonOf(streamed), "InvalidOutputError")
            assert.strictEqual(chat().length, 2)
          }).pipe(Effect.provide(Layer.merge(modelLayer(), ToolsLive)))
      )

      it.live("an empty choices array is an InvalidResponseError, not retried", () =>
        Effect.gen(function* () {
          server.enqueue({ fault: "empty-choices" })
          const error = yield* LanguageModel.generateText({ prompt: "x" }).pipe(Effect.flip)
          assert.strictEqual(reasonOf(error), "InvalidResponseError")
          assert.strictEqual(chat().length, 1)
        }).pipe(Effect.provide(modelLayer()))
      )

      it.live("a 400 names the rejected parameter and is not retried", () =>
        Effect.gen(function* () {
          server.enqueue({
            fault: "status",
            status: 400,
            error: {
              message: "Unsupported value: 'temperature'",
              type: "invalid_request_error",
              param: "temperature",
              code: "unsupported_value"
            }
          })
          const error = yield* LanguageModel.generateText({ prompt: "x" }).pipe(Effect.flip)
          assert.strictEqual(reasonOf(error), "InvalidRequestError")
          assert.strictEqual((error.reason as AiError.InvalidRequestError).parameter, "temperature")
          assert.strictEqual(chat().length, 1)
        }).pipe(Effect.provide(modelLayer()))
      )
    })
  })
}

/** Polls (real time) until `check` holds, failing after 3 s. */
const waitFor = (check: () => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 300; i++) {
      if (check()) return
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.die(new Error("condition not reached in 3 s"))
  })

const waitForNoSockets = (server: FakeOpenAi) => waitFor(() => server.openSockets() === 0)

describe("OpenAi configuration", () => {
  it.live(
    "layerFromEnv reads OPENAI_BASE_URL, OPENAI_API_KEY (as Redacted), OPENAI_ORG_ID and WEFT_MODEL",
    () =>
      Effect.gen(function* () {
        const server = yield* Effect.promise(() => start({ apiKey: "sk-env-key-123456" }))
        yield* Effect.addFinalizer(() => Effect.promise(() => server.close()))
        const env = ConfigProvider.fromEnvRecord({
          OPENAI_BASE_URL: server.url,
          OPENAI_API_KEY: "sk-env-key-123456",
          OPENAI_ORG_ID: "org-weft",
          WEFT_MODEL: "gpt-4.1-nano"
        })
        const response = yield* LanguageModel.generateText({ prompt: "x" }).pipe(
          Effect.provide(OpenAi.layerFromEnv().pipe(Layer.provide(ConfigProvider.layer(env))))
        )
        assert.match(response.text, /gpt-4\.1-nano/)
        const [seen] = server.requests
        assert.strictEqual(seen?.body.model, "gpt-4.1-nano")
        assert.strictEqual(seen?.headers["openai-organization"], "org-weft")
        assert.deepStrictEqual(server.violations, [])
      }).pipe(Effect.scoped)
  )

  it.effect(
    "a missing key with no base URL, a bad timeout or retry count, an empty model are typed errors",
    () =>
      Effect.gen(function* () {
        const missing = yield* Effect.flip(OpenAi.makeClient({}))
        assert.strictEqual(missing.reason._tag, "AuthenticationError")
        const timeout = yield* Effect.flip(
          OpenAi.makeClient({ baseUrl: "http://127.0.0.1:1/v1", timeout: -1 })
        )
        assert.match(timeout.message, /timeout must be a finite duration > 0/)
        const retries = yield* Effect.flip(
          OpenAi.makeClient({ baseUrl: "http://127.0.0.1:1/v1", maxRetries: 1.5 })
        )
        assert.match(retries.message, /maxRetries must be an integer ≥ 0/)
        const model = yield* Layer.build(
          OpenAi.model({ model: "" }).pipe(
            Layer.provide(OpenAi.layerClient({ baseUrl: "http://127.0.0.1:1/v1" }))
          )
        ).pipe(Effect.scoped, Effect.flip)
        assert.match(model.message, /model must be a model name/)
      })
  )

  it("parses retry-after-ms, retry-after in seconds and as an HTTP date", () => {
    const headers = (values: Record<string, string>) => new Headers(values)
    assert.strictEqual(Duration.toMillis(retryAfterOf(headers({ "retry-after-ms": "250" }))!), 250)
    assert.strictEqual(Duration.toMillis(retryAfterOf(headers({ "retry-after": "2" }))!), 2000)
    const now = Date.parse("2026-12-02T08:00:00Z")
    assert.strictEqual(
      Duration.toMillis(retryAfterOf(headers({ "retry-after": "Wed, 02 Dec 2026 08:00:03 GMT" }), now)!),
      3000
    )
    assert.isUndefined(retryAfterOf(headers({ "retry-after": "soon" })))
    assert.isUndefined(retryAfterOf(headers({})))
  })
})
