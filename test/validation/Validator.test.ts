import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Schema } from "effect"
import { Scripted } from "../../src/model/index.ts"
import { Validator } from "../../src/validation/index.ts"

const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })

describe("Validator checks", () => {
  it("grounding rejects a citation of a passage that was not retrieved", () => {
    const result = Validator.grounded(3)("Budgets are reserved before calls [1]. Steps retry [4].")
    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) {
      assert.strictEqual(result.failure[0]?.check, "grounding")
      assert.match(result.failure[0]!.message, /\[4\]/)
    }
  })

  it("grounding accepts citations of retrieved passages and returns them", () => {
    assert.deepStrictEqual(Validator.grounded(3)("A [1]. B [2, 3]. C [1]."), Result.succeed([1, 2, 3]))
  })

  it("grounding requires a citation, unless the answer says the passages do not answer", () => {
    assert.isTrue(Result.isFailure(Validator.grounded(3)("Budgets are reserved before calls.")))
    assert.isTrue(
      Result.isSuccess(Validator.grounded(3)("The provided passages do not answer this question."))
    )
  })

  it("json decodes with the Schema and reports the decode issue", () => {
    assert.deepStrictEqual(
      Validator.json(Person)('{"name":"Ada","age":36}'),
      Result.succeed({ name: "Ada", age: 36 })
    )
    const bad = Validator.json(Person)('{"name":"Ada"}')
    assert.isTrue(Result.isFailure(bad) && /age/.test(bad.failure[0]!.message))
    assert.isTrue(Result.isFailure(Validator.json(Person)("not json")))
  })

  it("all gathers every issue; rules check length, banned words and e-mails", () => {
    const check = Validator.all(
      Validator.nonEmpty,
      Validator.maxLength(10),
      Validator.banned(["secret"]),
      Validator.noEmails
    )
    const result = check("the secret is ada@example.com")
    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) {
      assert.deepStrictEqual(
        result.failure.map((i) => i.check),
        ["maxLength", "banned", "noEmails"]
      )
    }
  })
})

describe("generateValidated (the repair loop)", () => {
  it.effect("succeeds on attempt k, re-asking with the issues each time", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([
        "No citation here.",
        "Cites a ghost [9].",
        "Grounded answer [2]."
      ])
      const result = yield* Validator.generateValidated({
        prompt: "Question: what?",
        check: Validator.grounded(3),
        maxAttempts: 5
      }).pipe(Effect.provide(scripted.layer))
      assert.strictEqual(result.attempts.length, 3)
      assert.deepStrictEqual(result.value, [2])
      assert.strictEqual(result.text, "Grounded answer [2].")
      const prompts = yield* scripted.prompts
      assert.strictEqual(prompts.length, 3)
      // The third prompt carries both rejected answers and the issue that sank the second.
      const last = JSON.stringify(prompts[2])
      assert.include(last, "Cites a ghost [9].")
      assert.include(last, "only passages [1]–[3] were retrieved")
    })
  )

  it.effect("fails typed after N attempts, carrying every attempt", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["bad 1", "bad 2", "bad 3", "never asked [1]"])
      const error = yield* Effect.flip(
        Validator.generateValidated({ prompt: "q", check: Validator.grounded(2), maxAttempts: 3 }).pipe(
          Effect.provide(scripted.layer)
        )
      )
      assert.strictEqual(error._tag, "ValidationFailed")
      if (error._tag !== "ValidationFailed") return
      assert.deepStrictEqual(
        error.attempts.map((a) => a.text),
        ["bad 1", "bad 2", "bad 3"]
      )
      assert.isTrue(error.attempts.every((a) => a.issues.length > 0))
      assert.strictEqual(yield* scripted.calls, 3)
    })
  )

  it.effect("the Validator's own rules apply to every output", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["Call me at ada@example.com [1].", "Ask the front desk [1]."])
      const result = yield* Validator.generateValidated({ prompt: "q", check: Validator.grounded(1) }).pipe(
        Effect.provide(scripted.layer),
        Effect.provide(Validator.layer([Validator.noEmails]))
      )
      assert.strictEqual(result.attempts.length, 2)
      assert.strictEqual(result.attempts[0]?.issues[0]?.check, "noEmails")
    })
  )

  it.effect(
    "structured output: a reply that does not decode is repaired; a schema that cannot be filled fails typed",
    () =>
      Effect.gen(function* () {
        const scripted = yield* Scripted.make([
          { object: { name: "Ada" } },
          { object: { name: "Ada", age: 36 } }
        ])
        const result = yield* Validator.generateObjectValidated({
          prompt: "Name: Ada, age 36",
          schema: Person
        }).pipe(Effect.provide(scripted.layer))
        assert.deepStrictEqual(result.value, { name: "Ada", age: 36 })
        assert.strictEqual(result.attempts[0]?.issues[0]?.check, "schema")

        const never = yield* Scripted.make([{ object: {} }, { object: {} }])
        const error = yield* Effect.flip(
          Validator.generateObjectValidated({ prompt: "nothing", schema: Person, maxAttempts: 2 }).pipe(
            Effect.provide(never.layer)
          )
        )
        assert.strictEqual(error._tag, "ValidationFailed")
      })
  )
})
