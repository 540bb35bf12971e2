/**
 * Fallback chains: the next model answers when one fails in a way the chain
 * names, each model gets its own attempts, every attempt is metered and
 * priced under the model that made it, a failure the chain does not name and
 * a budget refusal stop it, a stream moves on only before its first part, and
 * the attempts are told (which model answered, why the others did not) —
 * with Scripted models, and with two OpenAI models on the fake server.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Schedule, Stream } from "effect"
import { AiError, LanguageModel, Model } from "effect/ai"
import * as Budget from "../../src/budget/Budget.ts"
import { refusalOf } from "../../src/budget/BudgetError.ts"
import { defaultPrices } from "../../src/budget/Prices.ts"
import type { Charge } from "../../src/budget/Usage.ts"
import * as Fallback from "../../src/model/Fallback.ts"
import * as OpenAi from "../../src/model/OpenAi.ts"
import * as Scripted from "../../src/model/Scripted.ts"
import { type FakeOpenAi, start } from "../fixtures/openai/server.ts"

const rateLimited = new AiError.RateLimitError({})
const serverError = new AiError.InternalProviderError({ description: "boom" })
const badRequest = new AiError.InvalidRequestError({ description: "bad parameter" })

const recorder = () => {
  const charges: Array<Charge> = []
  const attempts: Array<Fallback.Attempt> = []
  return {
    charges,
    attempts,
    budget: Budget.layer({}, { onCharge: (charge) => charges.push(charge) }),
    onAttempt: (attempt: Fallback.Attempt) => attempts.push(attempt)
  }
}

describe("Fallback", () => {
  it.effect("moves to the next model on a rate limit; each attempt is metered under its own model", () =>
    Effect.gen(function* () {
      const primary = yield* Scripted.make([{ fail: rateLimited }], { model: "primary" })
      const secondary = yield* Scripted.make(["from the secondary"], { model: "secondary" })
      const r = recorder()
      const response = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
        Effect.provide(r.budget),
        Effect.provide(
          Fallback.layer([{ model: primary.layer }, { model: secondary.layer }], { onAttempt: r.onAttempt })
        )
      )
      assert.strictEqual(response.text, "from the secondary")
      assert.deepStrictEqual(
        r.charges.map((c) => [c.model, c.outcome]),
        [
          ["primary", "failed"],
          ["secondary", "ok"]
        ]
      )
      assert.deepStrictEqual(
        r.attempts.map((a) => [a.model, a.step, a.attempt, a.outcome]),
        [
          ["primary", 0, 1, "failed"],
          ["secondary", 1, 1, "ok"]
        ]
      )
      assert.match(String(r.attempts[0]?.error), /^RateLimitError/)
    })
  )

  it.live("gives each model its attempts before moving on", () =>
    Effect.gen(function* () {
      const primary = yield* Scripted.make([{ fail: serverError }, { fail: serverError }, "unused"], {
        model: "primary"
      })
      const secondary = yield* Scripted.make(["second"], { model: "secondary" })
      const response = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
        Effect.provide(
          Fallback.layer([
            { model: primary.layer, attempts: 2, schedule: Schedule.spaced("1 millis") },
            { model: secondary.layer }
          ])
        )
      )
      assert.strictEqual(response.text, "second")
      assert.strictEqual(yield* primary.calls, 2)
      assert.strictEqual(yield* secondary.calls, 1)
    })
  )

  it.effect("does not move on for a failure the chain does not name, nor for a budget refusal", () =>
    Effect.gen(function* () {
      const primary = yield* Scripted.make([{ fail: badRequest }, "expensive answer"], { model: "gpt-4.1" })
      const secondary = yield* Scripted.make([{ repeat: "never" }], { model: "secondary" })
      const chain = Fallback.layer([{ model: primary.layer }, { model: secondary.layer }])
      const error = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
        Effect.provide(chain),
        Effect.flip
      )
      assert.strictEqual(AiError.isAiError(error) && error.reason._tag, "InvalidRequestError")
      assert.strictEqual(yield* secondary.calls, 0)

      const cheap = yield* Scripted.make(["first", "second"], { model: "primary" })
      const spare = yield* Scripted.make([{ repeat: "never" }], { model: "spare" })
      const overBudget = yield* Effect.gen(function* () {
        yield* LanguageModel.generateText({ prompt: "one" })
        return yield* LanguageModel.generateText({ prompt: "two" })
      }).pipe(
        Effect.provide(Budget.layer({ modelCalls: 1 })),
        Effect.provide(Fallback.layer([{ model: cheap.layer }, { model: spare.layer }])),
        Effect.flip
      )
      assert.strictEqual(refusalOf(overBudget)?.reason._tag, "BudgetExceeded")
      assert.strictEqual(yield* spare.calls, 0, "a budget refusal does not move down the chain")
    })
  )

  it.effect("switchOn names what moves the chain on", () =>
    Effect.gen(function* () {
      const primary = yield* Scripted.make([{ fail: badRequest }], { model: "primary" })
      const secondary = yield* Scripted.make(["second"], { model: "secondary" })
      const response = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
        Effect.provide(
          Fallback.layer([{ model: primary.layer }, { model: secondary.layer }], {
            switchOn: ["InvalidRequestError"]
          })
        )
      )
      assert.strictEqual(response.text, "second")
    })
  )

  it.effect("a stream moves on before its first part", () =>
    Effect.gen(function* () {
      const primary = yield* Scripted.make([{ fail: rateLimited }], { model: "primary" })
      const secondary = yield* Scripted.make(["streamed answer"], { model: "secondary" })
      const text = yield* LanguageModel.streamText({ prompt: "hi" }).pipe(
        Stream.runFold(
          () => "",
          (acc, part) => (part.type === "text-delta" ? acc + part.delta : acc)
        ),
        Effect.provide(Fallback.layer([{ model: primary.layer }, { model: secondary.layer }]))
      )
      assert.strictEqual(text, "streamed answer")
    })
  )

  it.effect("provides the first model's name, provider 'fallback', and refuses attempts < 1", () =>
    Effect.gen(function* () {
      const primary = yield* Scripted.make([], { model: "primary" })
      const name = yield* Model.ModelName.pipe(Effect.provide(Fallback.layer([{ model: primary.layer }])))
      assert.strictEqual(name, "primary")
      const error = yield* Layer.build(Fallback.layer([{ model: primary.layer, attempts: 0 }])).pipe(
        Effect.scoped,
        Effect.flip
      )
      assert.match(error.message, /attempts must be an integer ≥ 1/)
    })
  )

  it.effect(
    "plan gives the chain as an ExecutionPlan for Effect.withExecutionPlan over a larger effect",
    () =>
      Effect.gen(function* () {
        const primary = yield* Scripted.make([{ fail: serverError }], { model: "primary" })
        const secondary = yield* Scripted.make(["second"], { model: "secondary" })
        const chain = yield* Fallback.plan([{ model: primary.layer }, { model: secondary.layer }])
        const text = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
          Effect.map((response) => response.text.toUpperCase()),
          Effect.withExecutionPlan(chain)
        )
        assert.strictEqual(text, "SECOND")
        const invalid = yield* Effect.flip(Fallback.plan([{ model: primary.layer, attempts: -1 }]))
        assert.match(invalid.message, /steps\[0\]\.attempts/)
      })
  )

  describe("with OpenAI models on the fake server", () => {
    let server: FakeOpenAi
    beforeAll(async () => {
      server = await start()
    })
    afterAll(() => server.close())

    it.live("a 429 on gpt-4.1 falls to gpt-4.1-mini; each attempt priced under its model", () =>
      Effect.gen(function* () {
        server.enqueue(
          { fault: "status", status: 429, headers: { "retry-after-ms": "1" } },
          { text: "the mini answers", usage: { prompt: 1000, completion: 100 } }
        )
        const r = recorder()
        const chain = Fallback.layer(
          [{ model: OpenAi.model("gpt-4.1") }, { model: OpenAi.model("gpt-4.1-mini") }],
          {
            onAttempt: r.onAttempt
          }
        ).pipe(
          Layer.provide(
            OpenAi.layerClient({
              baseUrl: server.url,
              apiKey: Redacted.make("sk-fallback-test"),
              maxRetries: 0
            })
          )
        )
        const response = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
          Effect.provide(r.budget),
          Effect.provide(chain)
        )
        assert.strictEqual(response.text, "the mini answers")
        assert.deepStrictEqual(
          server.requests.map((request) => request.body.model),
          ["gpt-4.1", "gpt-4.1-mini"]
        )
        assert.deepStrictEqual(
          r.charges.map((c) => [c.model, c.outcome]),
          [
            ["gpt-4.1", "failed"],
            ["gpt-4.1-mini", "ok"]
          ]
        )
        const mini = defaultPrices["gpt-4.1-mini"]!
        assert.closeTo(
          r.charges[1]!.costUsd,
          (1000 * mini.inputPerMillion + 100 * mini.outputPerMillion) / 1e6,
          1e-12
        )
        assert.deepStrictEqual(
          r.attempts.map((a) => [a.model, a.provider, a.outcome]),
          [
            ["gpt-4.1", "openai", "failed"],
            ["gpt-4.1-mini", "openai", "ok"]
          ]
        )
        assert.deepStrictEqual(server.violations, [])
      })
    )
  })
})
