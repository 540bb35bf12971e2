/**
 * The Validator: checks (grounding with PassageFormat's citation grammar, a
 * citation in every sentence, JSON, rules), the repair loop with every rejected
 * answer in its prompt, its one typed error, and the per-call policy.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Result, Schedule, Schema } from "effect"
import { TestClock } from "effect/testing"
import { AiError, type Prompt } from "effect/ai"
import { Scripted } from "../../src/model/index.ts"
import { Validator } from "../../src/validation/index.ts"

const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })

const rateLimited = (retryAfter?: Duration.Input) => ({
  fail: new AiError.RateLimitError(
    retryAfter === undefined ? {} : { retryAfter: Duration.fromInputUnsafe(retryAfter) }
  )
})
// What a budget refusal looks like inside a model call: not retryable.
const refused = { fail: new AiError.QuotaExhaustedError({}) }

/** A message's role and its text, for comparing conversations. */
const turns = (prompt: Prompt.Prompt) =>
  prompt.content.map((message) => ({
    role: message.role,
    text:
      typeof message.content === "string"
        ? message.content
        : message.content.map((part) => ("text" in part ? part.text : "")).join("")
  }))

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
    assert.deepStrictEqual(Validator.grounded(3)("A [1][3]. B.[2]"), Result.succeed([1, 3, 2]))
  })

  it("grounding requires a citation, unless the answer says the passages do not answer", () => {
    assert.isTrue(Result.isFailure(Validator.grounded(3)("Budgets are reserved before calls.")))
    assert.isTrue(
      Result.isSuccess(Validator.grounded(3)("The provided passages do not answer this question."))
    )
  })

  it("grounding reads citations with PassageFormat's grammar: an index like items[0] is not a citation", () => {
    // The Local model does not take `items[0]` for a citation, so grounding does not either.
    assert.deepStrictEqual(Validator.grounded(2)("Read items[0] first [2]."), Result.succeed([2]))
    const uncited = Validator.grounded(2)("Read items[0] and f(x)[1], then see [1](https://example.com).")
    assert.isTrue(Result.isFailure(uncited))
    if (Result.isFailure(uncited)) assert.match(uncited.failure[0]!.message, /cites no passage/)
    // A bracketed number standing apart is a citation, and [0] names no passage.
    assert.isTrue(Result.isFailure(Validator.grounded(2)("The first item is [0].")))
  })

  it("citeEverySentence names each sentence without a citation", () => {
    assert.deepStrictEqual(
      Validator.citeEverySentence("Budgets reserve first [1]. Steps retry [2]."),
      Result.succeed("Budgets reserve first [1]. Steps retry [2].")
    )
    // A citation just after the stop counts for its sentence; a list intro and a heading are not claims.
    assert.isTrue(
      Result.isSuccess(
        Validator.citeEverySentence(
          "## Budgets\nThe budget limits three things: [1]\n- tokens [1]\n- calls.[2]"
        )
      )
    )
    assert.isTrue(
      Result.isSuccess(Validator.citeEverySentence("The provided passages do not answer this question."))
    )
    const result = Validator.citeEverySentence(
      "Budgets reserve first [1]. Steps retry on rate limits. The trace shows it all [2]. Memory keeps turns."
    )
    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) {
      assert.strictEqual(result.failure[0]?.check, "citeEverySentence")
      assert.match(result.failure[0]!.message, /^2 sentence\(s\) cite no passage/)
      assert.include(result.failure[0]!.message, '"Steps retry on rate limits."')
      assert.include(result.failure[0]!.message, '"Memory keeps turns."')
      assert.notInclude(result.failure[0]!.message, "Budgets reserve first")
    }
    // `grounded` alone accepts what citeEverySentence rejects: the rule is stricter.
    assert.isTrue(Result.isSuccess(Validator.grounded(2)("Budgets reserve first [1]. Steps retry.")))
    assert.isTrue(Result.isFailure(Validator.citeEverySentence("Budgets reserve first [1]. Steps retry.")))
    // An index is not a citation here either.
    assert.isTrue(Result.isFailure(Validator.citeEverySentence("Read items[0].")))
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

  it.effect("validate fails with ValidationError reason Rejected, carrying the text and its issues", () =>
    Effect.gen(function* () {
      const rejected = yield* Validator.validate("no citation", Validator.grounded(2)).pipe(
        Effect.map(() => undefined),
        Effect.catchReason("ValidationError", "Rejected", (reason) => Effect.succeed(reason))
      )
      assert.strictEqual(rejected?.text, "no citation")
      assert.strictEqual(rejected?.issues[0]?.check, "grounding")
    })
  )
})

describe("generateValidated (the repair loop)", () => {
  it.effect("the repair prompt carries every rejected answer and every issue, in order", () =>
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
      // The third prompt is the whole conversation: the question, then each rejected
      // answer followed by the repair request listing that answer's own issues.
      const third = turns(prompts[2]!)
      assert.deepStrictEqual(
        third.map((t) => t.role),
        ["user", "assistant", "user", "assistant", "user"]
      )
      assert.strictEqual(third[0]?.text, "Question: what?")
      assert.strictEqual(third[1]?.text, "No citation here.")
      assert.strictEqual(third[2]?.text, Validator.repairRequest(result.attempts[0]!.issues))
      assert.match(third[2]!.text, /cites no passage/)
      assert.strictEqual(third[3]?.text, "Cites a ghost [9].")
      assert.strictEqual(third[4]?.text, Validator.repairRequest(result.attempts[1]!.issues))
      assert.match(third[4]!.text, /only passages \[1\]–\[3\] were retrieved/)
      // The second prompt is the first one plus the first rejection, nothing else.
      assert.deepStrictEqual(turns(prompts[1]!), third.slice(0, 3))
    })
  )

  it.effect(
    "fails with ValidationError reason RepairExhausted after N attempts, carrying every attempt",
    () =>
      Effect.gen(function* () {
        const scripted = yield* Scripted.make(["bad 1", "bad 2", "bad 3", "never asked [1]"])
        const exhausted = yield* Validator.generateValidated({
          prompt: "q",
          check: Validator.grounded(2),
          maxAttempts: 3
        }).pipe(
          Effect.provide(scripted.layer),
          Effect.map(() => undefined),
          Effect.catchReason("ValidationError", "RepairExhausted", (reason) => Effect.succeed(reason))
        )
        assert.isDefined(exhausted)
        assert.deepStrictEqual(
          exhausted!.attempts.map((a) => a.text),
          ["bad 1", "bad 2", "bad 3"]
        )
        assert.isTrue(exhausted!.attempts.every((a) => a.issues.length > 0))
        assert.match(exhausted!.message, /^Output failed validation after 3 attempt\(s\): grounding: /)
        assert.isFalse(exhausted!.isRetryable)
        assert.strictEqual(yield* scripted.calls, 3)
      })
  )

  it.effect(
    "maxAttempts 0, NaN, Infinity or 1.5 is InvalidOption naming it and the value; nothing is asked",
    () =>
      Effect.gen(function* () {
        for (const [maxAttempts, shown] of [
          [0, "0"],
          [Number.NaN, "NaN"],
          [Number.POSITIVE_INFINITY, "Infinity"],
          [1.5, "1.5"]
        ] as const) {
          const scripted = yield* Scripted.make(["Fine [1]."])
          const error = yield* Effect.flip(
            Validator.generateValidated({ prompt: "q", check: Validator.grounded(1), maxAttempts }).pipe(
              Effect.provide(scripted.layer)
            )
          )
          assert.strictEqual(error._tag, "ValidationError")
          if (error._tag !== "ValidationError") continue
          assert.strictEqual(error.reason._tag, "InvalidOption")
          if (error.reason._tag !== "InvalidOption") continue
          assert.strictEqual(error.reason.option, "maxAttempts")
          assert.strictEqual(error.reason.value, shown)
          assert.match(error.message, /^maxAttempts must be an integer ≥ 1, got /)
          assert.strictEqual(yield* scripted.calls, 0)
        }
        const objects = yield* Effect.flip(
          Validator.generateObjectValidated({ prompt: "q", schema: Person, maxAttempts: 0 }).pipe(
            Effect.provide(Scripted.layer([]))
          )
        )
        assert.strictEqual(objects._tag === "ValidationError" && objects.reason._tag, "InvalidOption")
      })
  )

  it.effect(
    "a budget refusal passes straight through: not repaired, not retried, even under a retry policy",
    () =>
      Effect.gen(function* () {
        const scripted = yield* Scripted.make(["No citation.", refused, "Never asked [1]."])
        const error = yield* Effect.flip(
          Validator.generateValidated({
            prompt: "q",
            check: Validator.grounded(1),
            callPolicy: { retry: Schedule.recurs(5) }
          }).pipe(Effect.provide(scripted.layer))
        )
        assert.strictEqual(error._tag, "AiError")
        assert.strictEqual(error._tag === "AiError" && error.reason._tag, "QuotaExhaustedError")
        assert.strictEqual(yield* scripted.calls, 2)

        const objects = yield* Scripted.make([refused, { object: { name: "Ada", age: 36 } }])
        const objectError = yield* Effect.flip(
          Validator.generateObjectValidated({
            prompt: "q",
            schema: Person,
            callPolicy: { retry: Schedule.recurs(5) }
          }).pipe(Effect.provide(objects.layer))
        )
        assert.strictEqual(objectError._tag === "AiError" && objectError.reason._tag, "QuotaExhaustedError")
        assert.strictEqual(yield* objects.calls, 1)
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
        assert.strictEqual(error._tag === "ValidationError" && error.reason._tag, "RepairExhausted")
      })
  )
})

describe("the per-call policy", () => {
  it.effect("a rate limit on attempt 2 retries that call: 3 model calls, attempt 1 not repeated", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["No citation.", rateLimited(), "Grounded [1]."])
      const retries: Array<Validator.CallRetry> = []
      const result = yield* Validator.generateValidated({
        prompt: "Question: what?",
        check: Validator.grounded(1),
        callPolicy: {
          retry: Schedule.recurs(3),
          onRetry: (retry) => Effect.sync(() => retries.push(retry))
        }
      }).pipe(Effect.provide(scripted.layer))
      assert.strictEqual(yield* scripted.calls, 3)
      assert.deepStrictEqual(
        result.attempts.map((a) => a.text),
        ["No citation.", "Grounded [1]."]
      )
      const prompts = yield* scripted.prompts
      // The first question was asked once; the retry repeated attempt 2's conversation exactly.
      assert.strictEqual(prompts.filter((p) => p.content.length === 1).length, 1)
      assert.deepStrictEqual(turns(prompts[2]!), turns(prompts[1]!))
      assert.strictEqual(prompts[1]!.content.length, 3)
      assert.deepStrictEqual(
        retries.map((r) => [r.attempt, r.call, r.error._tag === "AiError" && r.error.reason._tag]),
        [[2, 2, "RateLimitError"]]
      )
    })
  )

  it.effect("a rate limit's retryAfter stretches the schedule's delay", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([rateLimited("30 seconds"), "Grounded [1]."])
      const fiber = yield* Validator.generateValidated({
        prompt: "q",
        check: Validator.grounded(1),
        callPolicy: { retry: Schedule.spaced("10 millis") }
      }).pipe(Effect.provide(scripted.layer), Effect.forkChild)
      yield* TestClock.adjust("29 seconds")
      assert.strictEqual(yield* scripted.calls, 1)
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.text, "Grounded [1].")
      assert.strictEqual(yield* scripted.calls, 2)
    })
  )

  it.effect("the timeout applies to each call, not to the loop: three 40 s answers pass a 60 s timeout", () =>
    Effect.gen(function* () {
      const slow = (reply: string): Scripted.Entry => ({ delay: "40 seconds", reply })
      const scripted = yield* Scripted.make([
        slow("No citation."),
        slow("Still none."),
        slow("Grounded [1].")
      ])
      const fiber = yield* Validator.generateValidated({
        prompt: "q",
        check: Validator.grounded(1),
        callPolicy: { timeout: "60 seconds" }
      }).pipe(Effect.provide(scripted.layer), Effect.forkChild)
      yield* TestClock.adjust("120 seconds")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.attempts.length, 3)
    })
  )

  it.effect(
    "a call that times out fails with reason CallTimeout (retryable), or is retried under a schedule",
    () =>
      Effect.gen(function* () {
        const stuck = yield* Scripted.make([{ delay: "2 minutes", reply: "Late [1]." }])
        const fiber = yield* Validator.generateValidated({
          prompt: "q",
          check: Validator.grounded(1),
          callPolicy: { timeout: "60 seconds" }
        }).pipe(
          Effect.provide(stuck.layer),
          Effect.map(() => undefined),
          Effect.catchReason("ValidationError", "CallTimeout", (reason) => Effect.succeed(reason)),
          Effect.forkChild
        )
        yield* TestClock.adjust("60 seconds")
        const timedOut = yield* Fiber.join(fiber)
        assert.strictEqual(timedOut?.attempt, 1)
        assert.isTrue(timedOut?.isRetryable)
        assert.match(timedOut!.message, /took longer than 1m/)

        const recovers = yield* Scripted.make([{ delay: "2 minutes", reply: "Late [1]." }, "On time [1]."])
        const retried = yield* Validator.generateValidated({
          prompt: "q",
          check: Validator.grounded(1),
          callPolicy: { timeout: "60 seconds", retry: Schedule.recurs(1) }
        }).pipe(Effect.provide(recovers.layer), Effect.forkChild)
        yield* TestClock.adjust("60 seconds")
        const result = yield* Fiber.join(retried)
        assert.strictEqual(result.text, "On time [1].")
        assert.strictEqual(result.attempts.length, 1)
      })
  )

  it.effect("a timeout that is not a duration > 0 is InvalidOption naming callPolicy.timeout", () =>
    Effect.gen(function* () {
      for (const [timeout, shown] of [
        ["soon", '"soon"'],
        [-5, "-5"],
        [0, "0"]
      ] as const) {
        const error = yield* Effect.flip(
          Validator.generateValidated({
            prompt: "q",
            check: Validator.grounded(1),
            callPolicy: { timeout: timeout as Duration.Input }
          }).pipe(Effect.provide(Scripted.layer(["Fine [1]."])))
        )
        assert.isTrue(error._tag === "ValidationError" && error.reason._tag === "InvalidOption")
        if (error._tag !== "ValidationError" || error.reason._tag !== "InvalidOption") continue
        assert.strictEqual(error.reason.option, "callPolicy.timeout")
        assert.strictEqual(error.reason.value, shown)
      }
    })
  )

  it.effect("structured output: a reply that does not decode is repaired, not retried by the policy", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([
        { object: { name: "Ada" } },
        { object: { name: "Ada", age: 36 } }
      ])
      const retries: Array<Validator.CallRetry> = []
      const result = yield* Validator.generateObjectValidated({
        prompt: "Name: Ada, age 36",
        schema: Person,
        callPolicy: { retry: Schedule.recurs(3), onRetry: (r) => Effect.sync(() => retries.push(r)) }
      }).pipe(Effect.provide(scripted.layer))
      assert.strictEqual(result.attempts.length, 2)
      assert.strictEqual(retries.length, 0)
      // The second call carried the rejected reply and its schema issue.
      const second = turns((yield* scripted.prompts)[1]!)
      assert.strictEqual(second[1]?.text, '{"name":"Ada"}')
      assert.match(second[2]!.text, /schema: /)
    })
  )
})
