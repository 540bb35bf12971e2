/**
 * The Local model answers or honestly declines: it declines when its passages
 * share words with the question but not what it asks for, stops adding
 * sentences once they stop answering, and keeps sentences that name a bare
 * keyword question.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Local from "../../src/model/Local.ts"
import { formatPassages, parseCitations, UNANSWERED } from "../../src/model/PassageFormat.ts"

const handbook = formatPassages([
  {
    sourceId: "leave.md#1",
    text:
      "Full-time staff get 27 days of annual leave a year, plus public holidays. " +
      "Part-time staff get the same entitlement in proportion to their hours. " +
      "The leave year runs from 1 April to 31 March."
  },
  {
    sourceId: "billing.md#2",
    text:
      "The Starter plan costs 12 euros per user per month and the Team plan 25 euros per user per month. " +
      "Paying yearly gives two months free."
  },
  {
    sourceId: "performance.md#3",
    text:
      "Promotions are proposed by the manager and decided by a promotion committee. " +
      "The committee meets twice a year, in June and in December."
  },
  {
    sourceId: "support.md#4",
    text:
      "Support is available by chat and by email from 8am to 8pm. " +
      "Phone support is reserved for customers on the Team plan."
  }
])

const ask = (passages: string, question: string) =>
  Effect.gen(function* () {
    const model = yield* Local.make()
    const response = yield* model.generateText({ prompt: `${passages}\n\nQuestion: ${question}` })
    return response.text
  })

describe("Local declining what its passages do not answer", () => {
  it.effect("declines when the passages share a word with the question but not its topic", () =>
    Effect.gen(function* () {
      // "annual" is in the leave passage; nothing speaks of a bonus.
      const text = yield* ask(handbook, "How much is the annual bonus?")
      assert.strictEqual(text, UNANSWERED)
      assert.deepStrictEqual(parseCitations(text), [])
    })
  )

  it.effect("declines a question about a kind of thing the passages never name", () =>
    Effect.gen(function* () {
      const text = yield* ask(handbook, "How much does the Enterprise plan cost?")
      assert.strictEqual(text, UNANSWERED)
    })
  )

  it.effect("declines a question about something no passage mentions, whatever it shares", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* ask(handbook, "Are dogs allowed in the office on Fridays?"), UNANSWERED)
      assert.strictEqual(yield* ask(handbook, "What colour is the Team plan logo?"), UNANSWERED)
    })
  )

  it.effect("declines a question asking for a number when the matching sentence holds none", () =>
    Effect.gen(function* () {
      const text = yield* ask(handbook, "What is the phone number of customer support?")
      assert.strictEqual(text, UNANSWERED)
    })
  )

  it.effect("reads a passage's source name as what it is about", () =>
    Effect.gen(function* () {
      const named = formatPassages([
        { sourceId: "notes/relocation.md#0", text: "We decided to sign the lease in May." }
      ])
      const text = yield* ask(named, "What did we decide about relocation?")
      assert.strictEqual(text, "We decided to sign the lease in May [1].")
      // The same sentence from a source whose name says nothing does not cover "relocation".
      const unnamed = formatPassages([
        { sourceId: "notes/n1.md#0", text: "We decided to sign the lease in May." }
      ])
      assert.strictEqual(yield* ask(unnamed, "What did we decide about relocation?"), UNANSWERED)
    })
  )

  it.effect("reads a passage's section title as what it is about", () =>
    Effect.gen(function* () {
      const titled = formatPassages([
        { sourceId: "notes/n1.md#0", title: "Relocation", text: "We decided to sign the lease in May." }
      ])
      assert.strictEqual(
        yield* ask(titled, "What did we decide about relocation?"),
        "We decided to sign the lease in May [1]."
      )
    })
  )

  it.effect("matches an everyday synonym of a question word", () =>
    Effect.gen(function* () {
      // "pricing" for "charge": the passage need not use the question's word.
      const notes = formatPassages([{ sourceId: "notes/n1.md#0", text: "We decided to charge per seat." }])
      assert.strictEqual(
        yield* ask(notes, "What did we decide about pricing?"),
        "We decided to charge per seat [1]."
      )
    })
  )

  it.effect("still answers a paraphrase of a passage sentence, citing it", () =>
    Effect.gen(function* () {
      const text = yield* ask(handbook, "How many days of annual leave does a full-time employee receive?")
      assert.include(text, "27 days of annual leave")
      assert.deepStrictEqual(parseCitations(text), [1])
      const plans = yield* ask(handbook, "What does the Team plan cost per month?")
      assert.include(plans, "25 euros per user per month")
      assert.deepStrictEqual(parseCitations(plans), [2])
    })
  )
})

describe("Local choosing the sentences of an answer", () => {
  it.effect("prefers the sentence with the kind of answer asked for (a time for 'when')", () =>
    Effect.gen(function* () {
      const text = yield* ask(handbook, "When does the promotion committee meet?")
      assert.include(text, "in June and in December [3]")
    })
  )

  it.effect("adds no sentence that does not answer the question", () =>
    Effect.gen(function* () {
      // Other sentences share "plan", "support" or "year"; only one answers.
      const text = yield* ask(handbook, "Which customers can use phone support?")
      assert.strictEqual(text, "Phone support is reserved for customers on the Team plan [4].")
    })
  )

  it.effect("adds a second sentence when it answers a part of the question the first does not", () =>
    Effect.gen(function* () {
      const text = yield* ask(
        handbook,
        "How many days of annual leave do full-time staff get, and when does the leave year run?"
      )
      assert.include(text, "27 days of annual leave")
      assert.include(text, "The leave year runs from 1 April to 31 March [1].")
    })
  )

  it.effect("keeps the sentences naming a bare keyword question", () =>
    Effect.gen(function* () {
      const docs = formatPassages([
        {
          sourceId: "steps.md#1",
          text:
            "A workflow is a sequence of named steps. `Step.forEachSettled` runs an effect for every item and " +
            "keeps each outcome, so one failure does not stop the others. Steps are traced."
        },
        { sourceId: "budget.md#2", text: "Every model call is checked against the budget first." }
      ])
      const text = yield* ask(docs, "Step.forEachSettled")
      assert.include(text, "`Step.forEachSettled` runs an effect for every item")
      assert.deepStrictEqual(parseCitations(text), [1])
    })
  )

  it.effect("does not take a sentence that quotes the whole question for its answer", () =>
    Effect.gen(function* () {
      const docs = formatPassages([
        {
          sourceId: "guide.md#1",
          text: 'With no question given, the example asks "How are budgets checked before a call?" by default.'
        },
        { sourceId: "budget.md#2", text: "Budgets are checked before each call by reserving its worst case." }
      ])
      const text = yield* ask(docs, "How are budgets checked before a call?")
      assert.strictEqual(text, "Budgets are checked before each call by reserving its worst case [2].")
    })
  )

  it.effect("gives the same answer or the same refusal every time", () =>
    Effect.gen(function* () {
      for (const question of ["When does the promotion committee meet?", "How much is the annual bonus?"]) {
        assert.strictEqual(yield* ask(handbook, question), yield* ask(handbook, question))
      }
    })
  )
})
