/**
 * The price table knows the current OpenAI models (input, cached input,
 * output), so a cost limit works out of the box with the OpenAI provider; a
 * model it does not know, with a cost limit set, is a typed error naming it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Schedule } from "effect"
import { LanguageModel } from "effect/ai"
import * as Budget from "../../src/budget/Budget.ts"
import { refusalOf } from "../../src/budget/BudgetError.ts"
import { costOf, defaultPrices, resolvePrices } from "../../src/budget/Prices.ts"
import * as OpenAi from "../../src/model/OpenAi.ts"
import { start } from "../fixtures/openai/server.ts"

describe("OpenAI prices", () => {
  it("has input, cached input and output prices for the current chat models", () => {
    for (const model of [
      "gpt-5",
      "gpt-5-mini",
      "gpt-5-nano",
      "gpt-4.1",
      "gpt-4.1-mini",
      "gpt-4.1-nano",
      "gpt-4o",
      "gpt-4o-mini",
      "o3",
      "o4-mini"
    ]) {
      const price = defaultPrices[model]
      assert.isDefined(price, model)
      assert.isAbove(price!.inputPerMillion, 0, model)
      assert.isAbove(price!.outputPerMillion, price!.inputPerMillion, model)
      assert.isBelow(price!.cachedInputPerMillion ?? Infinity, price!.inputPerMillion, model)
    }
    assert.isDefined(defaultPrices[OpenAi.DEFAULT_MODEL], "the provider's default model is priced")
  })

  it("charges cached input tokens at the cached price", () => {
    const price = defaultPrices["gpt-4.1"]!
    // 1M input of which 400k cached: 600k × $2 + 400k × $0.50, plus 100k output × $8.
    assert.closeTo(costOf(price, 1_000_000, 100_000, 400_000), 1.2 + 0.2 + 0.8, 1e-9)
    assert.closeTo(costOf(price, 1_000_000, 0), 2, 1e-9)
  })

  it("accepts an override without a cached price and refuses a negative one", () => {
    const table = resolvePrices({
      mine: { inputPerMillion: 1, outputPerMillion: 2, cachedInputPerMillion: undefined }
    })
    assert.isTrue("mine" in table)
    const refused = resolvePrices({
      mine: { inputPerMillion: 1, outputPerMillion: 2, cachedInputPerMillion: -1 }
    })
    assert.isFalse("mine" in refused)
  })

  it.live("a cost limit with an unpriced OpenAI-compatible model is an UnknownModel error naming it", () =>
    Effect.gen(function* () {
      const server = yield* Effect.promise(() => start())
      yield* Effect.addFinalizer(() => Effect.promise(() => server.close()))
      const error = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
        Effect.provide(Budget.layer({ costUsd: 1 })),
        Effect.provide(
          OpenAi.model("llama3.2:3b").pipe(
            Layer.provide(
              OpenAi.layerClient({
                baseUrl: server.url,
                backoff: Schedule.spaced("1 millis"),
                apiKey: Redacted.make("x")
              })
            )
          )
        ),
        Effect.flip
      )
      const refusal = refusalOf(error)
      assert.strictEqual(refusal?.reason._tag, "UnknownModel")
      assert.match(String(refusal?.message), /llama3\.2:3b/)
      assert.strictEqual(server.requests.length, 0, "refused before any request")
    }).pipe(Effect.scoped)
  )
})
