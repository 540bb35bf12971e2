/**
 * The Local model's tool use, through the effect/ai contract with a real
 * Toolkit: it calls a tool the request clearly asks for with the parameters
 * filled from the request, answers otherwise, makes no call it cannot fill,
 * honours the tool choice, makes parallel calls for a request of several
 * parts, is deterministic, and answers from the tool results it is given.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Schema, Stream } from "effect"
import { type AiError, LanguageModel, Prompt, Tool, Toolkit } from "effect/ai"
import * as Local from "../../src/model/Local.ts"

const Temperature = Schema.Literals(["celsius", "fahrenheit", "kelvin"])

const ConvertTemperature = Tool.make("convert_temperature", {
  description: "Convert a temperature between celsius, fahrenheit and kelvin.",
  parameters: Schema.Struct({ value: Schema.Finite, from: Temperature, to: Temperature }),
  success: Schema.Struct({ value: Schema.Number, unit: Temperature }),
  toModelOutput: (result) => [Prompt.makePart("text", { text: `${result.value} ${result.unit}` })]
})

const GetWeather = Tool.make("get_weather", {
  description: "Get the current weather forecast for a city.",
  parameters: Schema.Struct({
    city: Schema.String.check(Schema.isMinLength(2)),
    unit: Schema.optional(Schema.Literals(["celsius", "fahrenheit"]))
  }),
  success: Schema.Struct({ city: Schema.String, forecast: Schema.String, temperature: Schema.Number })
})

const Multiply = Tool.make("multiply", {
  description: "Multiply two numbers.",
  parameters: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  success: Schema.Number
})

const SearchNotes = Tool.make("search_notes", {
  description: "Search the team's meeting notes for passages about a topic.",
  parameters: Schema.Struct({ query: Schema.String }),
  success: Schema.Array(Schema.Struct({ sourceId: Schema.String, text: Schema.String }))
})

const Failing = Tool.make("check_inventory", {
  description: "Check the warehouse inventory stock of a product.",
  parameters: Schema.Struct({ product: Schema.String }),
  failure: Schema.Struct({ _tag: Schema.Literal("OutOfStock"), product: Schema.String }),
  failureMode: "return"
})

const SendEmail = Tool.make("send_email", {
  description: "Send an email message to a recipient.",
  parameters: Schema.Struct({
    // The `u` flag lets Schema export the pattern to the JSON Schema a model sees.
    to: Schema.String.check(Schema.isPattern(/^[^@\s]+@[^@\s]+\.[a-z]+$/u)),
    subject: Schema.String,
    body: Schema.optional(Schema.String)
  })
})

const toolkit = Toolkit.make(ConvertTemperature, GetWeather, Multiply, SearchNotes, Failing)

const toKelvin = (value: number, unit: string) =>
  unit === "celsius" ? value + 273.15 : unit === "fahrenheit" ? ((value - 32) * 5) / 9 + 273.15 : value
const fromKelvin = (kelvin: number, unit: string) =>
  unit === "celsius" ? kelvin - 273.15 : unit === "fahrenheit" ? ((kelvin - 273.15) * 9) / 5 + 32 : kelvin

const handlers = toolkit.toLayer({
  convert_temperature: ({ value, from, to }) =>
    Effect.succeed({ value: Math.round(fromKelvin(toKelvin(value, from), to) * 100) / 100, unit: to }),
  get_weather: ({ city }) => Effect.succeed({ city, forecast: "light rain", temperature: 14 }),
  multiply: ({ a, b }) => Effect.succeed(a * b),
  search_notes: () =>
    Effect.succeed([
      {
        sourceId: "notes/2026-11-03.md",
        text:
          "The team agreed to move the release to Thursday. Priya will write the migration guide before the " +
          "release. The office coffee machine is broken again."
      },
      {
        sourceId: "notes/2026-11-10.md",
        text: "The migration guide is finished and reviewed. The release went out on Thursday without incidents."
      }
    ]),
  check_inventory: ({ product }) => Effect.fail({ _tag: "OutOfStock" as const, product })
})

const layer = Layer.mergeAll(Local.layer(), handlers)

const calls = (response: {
  readonly toolCalls: ReadonlyArray<{ readonly name: string; readonly params: unknown }>
}) => response.toolCalls.map((call) => ({ name: call.name, params: call.params }))

describe("Local model tool calls", () => {
  it.layer(layer)((it) => {
    it.effect("calls the tool a request clearly asks for, with its parameters filled from the request", () =>
      Effect.gen(function* () {
        const response = yield* LanguageModel.generateText({
          prompt: "Convert 100 fahrenheit to celsius",
          toolkit
        })
        assert.deepStrictEqual(calls(response), [
          { name: "convert_temperature", params: { value: 100, from: "fahrenheit", to: "celsius" } }
        ])
        assert.strictEqual(response.finishReason, "tool-calls")
        assert.strictEqual(response.text, "")
        // effect/ai ran the handler with the decoded parameters.
        assert.deepStrictEqual(
          response.toolResults.map((r) => r.result),
          [{ value: 37.78, unit: "celsius" }]
        )
      })
    )

    it.effect("reads which unit is wanted from the wording, not only the order", () =>
      Effect.gen(function* () {
        const asked = yield* LanguageModel.generateText({
          prompt: "How many kelvin is -40 celsius?",
          toolkit,
          disableToolCallResolution: true
        })
        assert.deepStrictEqual(calls(asked), [
          { name: "convert_temperature", params: { value: -40, from: "celsius", to: "kelvin" } }
        ])
        const into = yield* LanguageModel.generateText({
          prompt: "What is 300 kelvin in fahrenheit?",
          toolkit,
          disableToolCallResolution: true
        })
        assert.deepStrictEqual(calls(into), [
          { name: "convert_temperature", params: { value: 300, from: "kelvin", to: "fahrenheit" } }
        ])
      })
    )

    it.effect("fills a free-text parameter with what the request asks about, without the asking words", () =>
      Effect.gen(function* () {
        const response = yield* LanguageModel.generateText({
          prompt: "What's the weather forecast in Lisbon in fahrenheit?",
          toolkit,
          disableToolCallResolution: true
        })
        assert.deepStrictEqual(calls(response), [
          { name: "get_weather", params: { city: "Lisbon", unit: "fahrenheit" } }
        ])
        const search = yield* LanguageModel.generateText({
          prompt: "Search the meeting notes for the release date",
          toolkit,
          disableToolCallResolution: true
        })
        assert.deepStrictEqual(calls(search), [{ name: "search_notes", params: { query: "release date" } }])
        // After "for", a word of the tool's description ("passages", "topic") is the topic's own.
        const topic = yield* LanguageModel.generateText({
          prompt: "Search the notes for passages on topic modelling",
          toolkit,
          disableToolCallResolution: true
        })
        assert.deepStrictEqual(calls(topic), [
          { name: "search_notes", params: { query: "passages on topic modelling" } }
        ])
      })
    )

    it.effect(
      "fills strings by their Schema: a word the pattern accepts, a quoted text, a label, the rest",
      () =>
        Effect.gen(function* () {
          const emails = Toolkit.make(SendEmail)
          const send = (prompt: string) =>
            LanguageModel.generateText({ prompt, toolkit: emails, disableToolCallResolution: true }).pipe(
              Effect.provide(emails.toLayer({ send_email: () => Effect.void }))
            )
          assert.deepStrictEqual(calls(yield* send('Email bob@example.com about "Lunch": see you at noon')), [
            {
              name: "send_email",
              params: { to: "bob@example.com", subject: "Lunch", body: "see you at noon" }
            }
          ])
          assert.deepStrictEqual(
            calls(yield* send("Send an email to ann@example.org, subject: Budget review")),
            [{ name: "send_email", params: { to: "ann@example.org", subject: "Budget review" } }]
          )
          // No address the pattern accepts, or no subject: no call.
          assert.deepStrictEqual(calls(yield* send('Send an email to Bob about "Lunch"')), [])
          assert.deepStrictEqual(calls(yield* send("Send an email to bob@example.com")), [])
        })
    )

    it.effect(
      "a lone patterned string takes the free text when the pattern accepts it, else the word it accepts",
      () =>
        Effect.gen(function* () {
          const Evaluate = Tool.make("evaluate", {
            description: "Evaluate an arithmetic expression.",
            parameters: Schema.Struct({
              expression: Schema.String.check(Schema.isPattern(/^[\d\s.+\-*/()]+$/u))
            })
          })
          const LookupOrder = Tool.make("lookup_order", {
            description: "Look up the status of a customer order by its number.",
            parameters: Schema.Struct({
              orderId: Schema.String.check(Schema.isPattern(/^[A-Z]{2}-\d{4,}$/u))
            })
          })
          const tools = Toolkit.make(Evaluate, LookupOrder)
          const ask = (prompt: string) =>
            LanguageModel.generateText({ prompt, toolkit: tools, disableToolCallResolution: true }).pipe(
              Effect.provide(tools.toLayer({ evaluate: () => Effect.void, lookup_order: () => Effect.void }))
            )
          assert.deepStrictEqual(calls(yield* ask("Evaluate 12 * (3 + 4) please")), [
            { name: "evaluate", params: { expression: "12 * (3 + 4)" } }
          ])
          assert.deepStrictEqual(calls(yield* ask("What is the status of order AB-12345 today?")), [
            { name: "lookup_order", params: { orderId: "AB-12345" } }
          ])
          assert.deepStrictEqual(calls(yield* ask("What is the status of my order?")), [])
        })
    )

    it.effect("words of the description's topic list stay in the free text; its lead phrase's go", () =>
      Effect.gen(function* () {
        const Handbook = Tool.make("search_handbook", {
          description: "Search the staff handbook: leave, expenses, travel and equipment.",
          parameters: Schema.Struct({ query: Schema.String })
        })
        const tools = Toolkit.make(Handbook)
        const ask = (prompt: string) =>
          LanguageModel.generateText({ prompt, toolkit: tools, disableToolCallResolution: true }).pipe(
            Effect.provide(tools.toLayer({ search_handbook: () => Effect.void }))
          )
        assert.deepStrictEqual(calls(yield* ask("How do travel expenses work?")), [
          { name: "search_handbook", params: { query: "travel expenses work" } }
        ])
        assert.deepStrictEqual(calls(yield* ask("Search the staff handbook for equipment")), [
          { name: "search_handbook", params: { query: "equipment" } }
        ])
        // Only the description's words: they are the topic.
        assert.deepStrictEqual(calls(yield* ask("Leave?")), [
          { name: "search_handbook", params: { query: "Leave" } }
        ])
      })
    )

    it.effect("answers without a call when no tool matches the request", () =>
      Effect.gen(function* () {
        const response = yield* LanguageModel.generateText({
          prompt: "Who wrote Pride and Prejudice?",
          toolkit
        })
        assert.deepStrictEqual(calls(response), [])
        assert.strictEqual(response.finishReason, "stop")
        // Nothing to answer from either: it says which tools it has.
        assert.strictEqual(
          response.text,
          "None of my tools (convert_temperature, get_weather, multiply, search_notes, check_inventory) fits " +
            "this request, and no passages were provided to answer it from."
        )
        // With passages in the prompt, it answers from them as it would without tools.
        const grounded = yield* LanguageModel.generateText({
          prompt:
            "[1] (source: books.md)\nPride and Prejudice was written by Jane Austen in 1813.\n\n" +
            "Question: Who wrote Pride and Prejudice?",
          toolkit
        })
        assert.deepStrictEqual(calls(grounded), [])
        assert.include(grounded.text, "Jane Austen")
        assert.include(grounded.text, "[1]")
      })
    )

    it.effect("makes no call when the tool matches but its required parameters are not in the request", () =>
      Effect.gen(function* () {
        // No number to convert.
        const noValue = yield* LanguageModel.generateText({
          prompt: "Convert some fahrenheit to celsius",
          toolkit
        })
        assert.deepStrictEqual(calls(noValue), [])
        // One number where two are required.
        const oneNumber = yield* LanguageModel.generateText({ prompt: "Multiply 6 please", toolkit })
        assert.deepStrictEqual(calls(oneNumber), [])
        const both = yield* LanguageModel.generateText({ prompt: "Multiply 6 by 7", toolkit })
        assert.deepStrictEqual(calls(both), [{ name: "multiply", params: { a: 6, b: 7 } }])
        assert.deepStrictEqual(
          both.toolResults.map((r) => r.result),
          [42]
        )
      })
    )

    it.effect("makes parallel calls for a request of several parts, each filled from its own part", () =>
      Effect.gen(function* () {
        const response = yield* LanguageModel.generateText({
          prompt: "Convert 20 celsius to fahrenheit and multiply 3 by 4, then what is the weather in Oslo?",
          toolkit
        })
        assert.deepStrictEqual(calls(response), [
          { name: "convert_temperature", params: { value: 20, from: "celsius", to: "fahrenheit" } },
          { name: "multiply", params: { a: 3, b: 4 } },
          { name: "get_weather", params: { city: "Oslo" } }
        ])
        assert.strictEqual(new Set(response.toolCalls.map((c) => c.id)).size, 3)
        assert.strictEqual(response.toolResults.length, 3)
      })
    )

    it.effect("keeps a part that asks for no tool of its own with the part before it", () =>
      Effect.gen(function* () {
        const response = yield* LanguageModel.generateText({
          prompt: "Search the notes for the release and the migration guide",
          toolkit,
          disableToolCallResolution: true
        })
        assert.deepStrictEqual(calls(response), [
          { name: "search_notes", params: { query: "release and the migration guide" } }
        ])
      })
    )

    it.effect('toolChoice "none" makes no call; a oneOf leaves out the other tools', () =>
      Effect.gen(function* () {
        const none = yield* LanguageModel.generateText({
          prompt: "Convert 100 fahrenheit to celsius",
          toolkit,
          toolChoice: "none"
        })
        assert.deepStrictEqual(calls(none), [])
        const oneOf = yield* LanguageModel.generateText({
          prompt: "Convert 100 fahrenheit to celsius",
          toolkit,
          toolChoice: { oneOf: ["multiply"] }
        })
        assert.deepStrictEqual(calls(oneOf), [])
      })
    )

    it.effect('toolChoice "required" calls the closest fillable tool, and fails typed when none fills', () =>
      Effect.gen(function* () {
        // No tool is clearly meant, but the search can take the request as its query.
        const auto = yield* LanguageModel.generateText({ prompt: "Thursday release", toolkit })
        assert.deepStrictEqual(calls(auto), [])
        const required = yield* LanguageModel.generateText({
          prompt: "Thursday release",
          toolkit: Toolkit.make(SearchNotes, Multiply),
          toolChoice: "required",
          disableToolCallResolution: true
        })
        assert.deepStrictEqual(calls(required), [
          { name: "search_notes", params: { query: "Thursday release" } }
        ])

        const impossible = yield* Effect.exit(
          LanguageModel.generateText({
            prompt: "Hello!",
            toolkit: Toolkit.make(Multiply),
            toolChoice: "required"
          })
        )
        assert.isTrue(Exit.isFailure(impossible))
        if (Exit.isFailure(impossible)) {
          const error = impossible.cause.reasons.find((r) => r._tag === "Fail")
          assert.isDefined(error)
          const aiError = (error as unknown as { error: AiError.AiError }).error
          assert.strictEqual(aiError.reason._tag, "InvalidRequestError")
          assert.include(aiError.message, "multiply (a, b)")
        }
      })
    )

    it.effect("a named tool choice calls that tool when its parameters fill, else fails typed", () =>
      Effect.gen(function* () {
        const named = yield* LanguageModel.generateText({
          prompt: "Tell me about Lisbon",
          toolkit,
          toolChoice: { tool: "get_weather" },
          disableToolCallResolution: true
        })
        assert.deepStrictEqual(calls(named), [{ name: "get_weather", params: { city: "Lisbon" } }])
        const unfillable = yield* Effect.exit(
          LanguageModel.generateText({
            prompt: "Tell me about Lisbon",
            toolkit,
            toolChoice: { tool: "convert_temperature" }
          })
        )
        assert.isTrue(Exit.isFailure(unfillable))
      })
    )

    it.effect("is deterministic: the same prompt gets the same calls, ids included", () =>
      Effect.gen(function* () {
        const prompt = "Convert 20 celsius to kelvin and multiply 2 by 21"
        const first = yield* LanguageModel.generateText({ prompt, toolkit, disableToolCallResolution: true })
        const second = yield* LanguageModel.generateText({ prompt, toolkit, disableToolCallResolution: true })
        assert.deepStrictEqual(
          second.toolCalls.map((c) => [c.id, c.name, c.params]),
          first.toolCalls.map((c) => [c.id, c.name, c.params])
        )
        assert.strictEqual(first.toolCalls.length, 2)
      })
    )

    it.effect("round trip: given the tool results, it answers from them, quoting and naming the tool", () =>
      Effect.gen(function* () {
        const prompt = Prompt.make("Convert 100 fahrenheit to celsius and multiply 6 by 7")
        const first = yield* LanguageModel.generateText({ prompt, toolkit })
        assert.strictEqual(first.toolResults.length, 2)
        const followUp = Prompt.concat(prompt, Prompt.fromResponseParts(first.content))
        const second = yield* LanguageModel.generateText({ prompt: followUp, toolkit })
        assert.deepStrictEqual(calls(second), [])
        assert.strictEqual(second.text, "convert_temperature: 37.78 celsius\nmultiply: 42")
      })
    )

    it.effect(
      "answers from a search result by quoting the passage sentence that answers, citing its source",
      () =>
        Effect.gen(function* () {
          const prompt = Prompt.make("Search the meeting notes for who writes the migration guide")
          const first = yield* LanguageModel.generateText({ prompt, toolkit })
          assert.deepStrictEqual(calls(first), [
            { name: "search_notes", params: { query: "who writes the migration guide" } }
          ])
          const second = yield* LanguageModel.generateText({
            prompt: Prompt.concat(prompt, Prompt.fromResponseParts(first.content)),
            toolkit
          })
          assert.include(second.text, "Priya will write the migration guide before the release.")
          assert.include(second.text, "[notes/2026-11-03.md]")
          assert.notInclude(second.text, "coffee")
        })
    )

    it.effect("quotes a tool's own model output when the result came as a bare value", () =>
      Effect.gen(function* () {
        // What a caller that runs handlers itself sends back: the encoded value, no model output.
        const prompt = Prompt.make([
          { role: "user", content: "Convert 100 fahrenheit to celsius" },
          {
            role: "assistant",
            content: [
              {
                type: "tool-call",
                id: "c1",
                name: "convert_temperature",
                params: { value: 100, from: "fahrenheit", to: "celsius" }
              }
            ]
          },
          {
            role: "tool",
            content: [
              {
                type: "tool-result",
                id: "c1",
                name: "convert_temperature",
                isFailure: false,
                result: { value: 37.78, unit: "celsius" }
              }
            ]
          }
        ])
        const response = yield* LanguageModel.generateText({ prompt, toolkit })
        assert.strictEqual(response.text, "convert_temperature: 37.78 celsius")
      })
    )

    it.effect(
      "a result of a tool no longer offered (a handoff's) is history: the offered tools are matched",
      () =>
        Effect.gen(function* () {
          const prompt = Prompt.make([
            { role: "user", content: "Multiply 6 by 7" },
            {
              role: "assistant",
              content: [{ type: "tool-call", id: "h1", name: "transfer_to_math", params: {} }]
            },
            {
              role: "tool",
              content: [
                {
                  type: "tool-result",
                  id: "h1",
                  name: "transfer_to_math",
                  isFailure: false,
                  result: "Transferred to math."
                }
              ]
            }
          ])
          const response = yield* LanguageModel.generateText({
            prompt,
            toolkit,
            disableToolCallResolution: true
          })
          assert.deepStrictEqual(calls(response), [{ name: "multiply", params: { a: 6, b: 7 } }])
        })
    )

    it.effect("reports a tool's failure result as a failure, naming the tool", () =>
      Effect.gen(function* () {
        const prompt = Prompt.make("Check the inventory stock of blue mugs")
        const first = yield* LanguageModel.generateText({ prompt, toolkit })
        assert.deepStrictEqual(calls(first), [{ name: "check_inventory", params: { product: "blue mugs" } }])
        assert.isTrue(first.toolResults[0]!.isFailure)
        const second = yield* LanguageModel.generateText({
          prompt: Prompt.concat(prompt, Prompt.fromResponseParts(first.content)),
          toolkit
        })
        assert.strictEqual(second.text, "check_inventory failed: OutOfStock: blue mugs")
      })
    )

    it.effect("streams tool calls as tool-call parts", () =>
      Effect.gen(function* () {
        const parts = yield* LanguageModel.streamText({
          prompt: "Multiply 6 by 7",
          toolkit,
          disableToolCallResolution: true
        }).pipe(Stream.runCollect)
        const toolCalls = Array.from(parts).filter((part) => part.type === "tool-call")
        assert.deepStrictEqual(
          toolCalls.map((part) => [part.name, part.params]),
          [["multiply", { a: 6, b: 7 }]]
        )
      })
    )

    it.effect("without tools it answers as before", () =>
      Effect.gen(function* () {
        const response = yield* LanguageModel.generateText({ prompt: "Multiply 6 by 7" })
        assert.deepStrictEqual(calls(response), [])
        assert.strictEqual(response.finishReason, "stop")
      })
    )
  })
})
