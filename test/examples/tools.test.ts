/**
 * The example agents' local tools: the unit converter, the calculator (parsed,
 * never evaluated as code) and the docs search, each as a plain function with
 * typed errors and as an effect/ai Tool run through its Toolkit — and the
 * Local model calling them from a request and answering from their results.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { LanguageModel, Prompt } from "effect/ai"
import {
  AssistantTools,
  convert,
  describeConversion,
  evaluate,
  layer as toolsLayer,
  type ToolError
} from "../../examples/tools/index.ts"
import { MAX_DEPTH, MAX_LENGTH } from "../../examples/tools/calculator.ts"
import * as Local from "../../src/model/Local.ts"

const reasonOf = <A>(effect: Effect.Effect<A, ToolError>) =>
  Effect.map(Effect.flip(effect), (error) => error.reason)

const close = (actual: number, expected: number, digits = 6) =>
  assert.closeTo(actual, expected, 10 ** -digits * Math.max(1, Math.abs(expected)))

describe("unit converter", () => {
  it.effect("converts length, mass, temperature, volume and time", () =>
    Effect.gen(function* () {
      close((yield* convert(5, "km", "mi")).result, 3.10685596)
      close((yield* convert(1, "mile", "feet")).result, 5280)
      close((yield* convert(212, "°F", "celsius")).result, 100)
      close((yield* convert(-40, "celsius", "fahrenheit")).result, -40)
      close((yield* convert(0, "K", "°C")).result, -273.15)
      close((yield* convert(10, "kilograms", "lb")).result, 22.0462262)
      close((yield* convert(1, "gallon", "litres")).result, 3.785411784)
      close((yield* convert(2, "fl oz", "ml")).result, 59.147059125)
      close((yield* convert(1.5, "hours", "min")).result, 90)
      close((yield* convert(1, "week", "days")).result, 7)
    })
  )

  it.effect("reads a unit's spellings whatever their case, and reports the symbols", () =>
    Effect.gen(function* () {
      const conversion = yield* convert(5, "KM", "Miles")
      assert.strictEqual(conversion.from, "km")
      assert.strictEqual(conversion.to, "mi")
      assert.strictEqual(describeConversion(conversion), "5 km = 3.10686 mi")
    })
  )

  it.effect("fails with UnknownUnit for a unit it does not know, and IncompatibleUnits across kinds", () =>
    Effect.gen(function* () {
      const unknown = yield* reasonOf(convert(1, "parsec", "km"))
      assert.strictEqual(unknown._tag, "UnknownUnit")
      assert.strictEqual(unknown.message, 'unknown unit "parsec"')
      const across = yield* reasonOf(convert(1, "kg", "km"))
      assert.strictEqual(across._tag, "IncompatibleUnits")
      assert.strictEqual(across.message, "cannot convert mass (kg) to length (km)")
    })
  )
})

describe("calculator", () => {
  const value = (expression: string) => evaluate(expression)

  it.effect("follows precedence, associativity, unary minus, decimals, functions and constants", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* value("2 + 3 * 4"), 14)
      assert.strictEqual(yield* value("(2 + 3) * 4"), 20)
      assert.strictEqual(yield* value("10 - 4 - 3"), 3)
      assert.strictEqual(yield* value("24 / 4 / 3"), 2)
      assert.strictEqual(yield* value("2 ^ 3 ^ 2"), 512)
      assert.strictEqual(yield* value("-2 ^ 2"), -4)
      assert.strictEqual(yield* value("2 ^ -1"), 0.5)
      assert.strictEqual(yield* value("--3"), 3)
      assert.strictEqual(yield* value("-(1 - 4) * 2"), 6)
      assert.strictEqual(yield* value(".5 + 1.25"), 1.75)
      assert.strictEqual(yield* value("1.5e3 + 1"), 1501)
      assert.strictEqual(yield* value("sqrt(16) + abs(-3)"), 7)
      assert.strictEqual(yield* value("min(3, 1, 2) + max(4, 9)"), 10)
      assert.strictEqual(yield* value("round(2.5) + floor(1.9) + ceil(1.1)"), 6)
      assert.strictEqual(yield* value("log(1000)"), 3)
      assert.strictEqual(yield* value("12 × 3 ÷ 4"), 9)
      close(yield* value("2 * pi"), 2 * Math.PI)
      close(yield* value("ln(e)"), 1)
    })
  )

  it.effect("reports bad input with a typed reason and the position", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [string, string, string]> = [
        ["2 +", "InvalidExpression", "the expression ends too early at position 4"],
        ["(1 + 2", "InvalidExpression", 'expected ")"'],
        ["2 3", "InvalidExpression", 'unexpected "3" at position 3'],
        ["foo(1)", "InvalidExpression", 'unknown name "foo"'],
        ["sqrt(1, 2)", "InvalidExpression", "sqrt takes 1 argument, got 2"],
        ["", "InvalidExpression", "the expression is empty"],
        ["2 $ 3", "InvalidExpression", 'unexpected character "$" at position 3'],
        ["1 / (3 - 3)", "DivisionByZero", 'division by zero in "1 / (3 - 3)"'],
        ["sqrt(-1)", "OutOfDomain", "the square root of a negative number"],
        ["ln(0)", "OutOfDomain", "the logarithm of a number ≤ 0"],
        ["(-8) ^ 0.5", "OutOfDomain", "a negative number raised to a fractional power"],
        ["10 ^ 400", "OutOfDomain", "a result too large to represent"]
      ]
      for (const [expression, tag, message] of cases) {
        const reason = yield* reasonOf(value(expression))
        assert.strictEqual(reason._tag, tag, expression)
        assert.include(reason.message, message, expression)
      }
    })
  )

  it.effect("never runs code: JavaScript in an expression is a parse error", () =>
    Effect.gen(function* () {
      for (const expression of [
        "process.exit(1)",
        "constructor.constructor('return 1')()",
        "this",
        "[1] + 1"
      ]) {
        const reason = yield* reasonOf(value(expression))
        assert.strictEqual(reason._tag, "InvalidExpression", expression)
      }
    })
  )

  it.effect("bounds the work: too long or too deeply nested expressions are refused", () =>
    Effect.gen(function* () {
      const deep = `${"(".repeat(MAX_DEPTH + 1)}1${")".repeat(MAX_DEPTH + 1)}`
      assert.include((yield* reasonOf(value(deep))).message, `nesting deeper than ${MAX_DEPTH}`)
      const unary = `${"-".repeat(MAX_DEPTH + 1)}1`
      assert.include((yield* reasonOf(value(unary))).message, `nesting deeper than ${MAX_DEPTH}`)
      const long = "1+".repeat(MAX_LENGTH) + "1"
      assert.include((yield* reasonOf(value(long))).message, `longer than ${MAX_LENGTH} characters`)
      // Just inside the bounds still works.
      assert.strictEqual(yield* value(`${"(".repeat(MAX_DEPTH - 1)}1${")".repeat(MAX_DEPTH - 1)}`), 1)
    })
  )
})

const layer = toolsLayer.pipe(Layer.provideMerge(NodeServices.layer))

describe("the toolkit", () => {
  it.layer(Layer.mergeAll(layer, Local.layer()), { timeout: 60_000 })((it) => {
    const run = (name: "convert_units" | "calculate" | "search_docs", params: any) =>
      Effect.gen(function* () {
        const toolkit = yield* AssistantTools
        const stream = yield* toolkit.handle(name, params)
        const results = yield* Stream.runCollect(stream)
        return Array.from(results).at(-1)!
      })

    it.effect("runs each tool through its Schema and handler, failures as results", () =>
      Effect.gen(function* () {
        const converted = yield* run("convert_units", { value: 100, from: "°C", to: "°F" })
        assert.isFalse(converted.isFailure)
        assert.deepStrictEqual(converted.result, { value: 100, from: "°C", result: 212, to: "°F" })
        const divided = yield* run("calculate", { expression: "1/0" })
        assert.isTrue(divided.isFailure)
        assert.strictEqual((divided.result as ToolError).reason._tag, "DivisionByZero")
      })
    )

    it.effect("searches the bundled docs, best passages first, as many as asked", () =>
      Effect.gen(function* () {
        const found = yield* run("search_docs", { query: "repair loop maxAttempts", limit: 2 })
        assert.isFalse(found.isFailure)
        const hits = (
          found.result as { hits: ReadonlyArray<{ sourceId: string; text: string; score: number }> }
        ).hits
        assert.strictEqual(hits.length, 2)
        assert.strictEqual(hits[0]!.sourceId, "validation.md")
        assert.isAtLeast(hits[0]!.score, hits[1]!.score)
        const blank = yield* run("search_docs", { query: "   " })
        assert.isTrue(blank.isFailure)
        assert.strictEqual((blank.result as ToolError).reason._tag, "SearchFailed")
      })
    )

    it.effect("the Local model calls the tools from a request and answers from their results", () =>
      Effect.gen(function* () {
        const toolkit = yield* AssistantTools
        const prompt = Prompt.make("Convert 5 km to miles and calculate (2 + 3) * 4")
        const first = yield* LanguageModel.generateText({ prompt, toolkit })
        assert.deepStrictEqual(
          first.toolCalls.map((call) => [call.name, call.params]),
          [
            ["convert_units", { value: 5, from: "km", to: "miles" }],
            ["calculate", { expression: "(2 + 3) * 4" }]
          ]
        )
        const second = yield* LanguageModel.generateText({
          prompt: Prompt.concat(prompt, Prompt.fromResponseParts(first.content)),
          toolkit
        })
        assert.strictEqual(second.text, "convert_units: 5 km = 3.10686 mi\ncalculate: (2 + 3) * 4 = 20")
      })
    )

    it.effect("the Local model searches the docs and quotes the passage, citing its file", () =>
      Effect.gen(function* () {
        const toolkit = yield* AssistantTools
        const prompt = Prompt.make("Search the docs for how many attempts the repair loop makes")
        const first = yield* LanguageModel.generateText({ prompt, toolkit })
        assert.deepStrictEqual(
          first.toolCalls.map((call) => call.name),
          ["search_docs"]
        )
        const second = yield* LanguageModel.generateText({
          prompt: Prompt.concat(prompt, Prompt.fromResponseParts(first.content)),
          toolkit
        })
        assert.match(second.text, /^search_docs: /)
        assert.match(second.text, /\[[\w/-]+\.md\]/)
      })
    )
  })
})
