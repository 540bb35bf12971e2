/**
 * The Local model: extractive cited answers from prompt passages, the output
 * limit, honest usage, JSON mode through `generateObject`, streaming, and
 * determinism — all through the `effect/ai` LanguageModel contract.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema, Stream } from "effect"
import { LanguageModel, Model, Prompt } from "effect/ai"
import * as Local from "../../src/model/Local.ts"
import { Meter } from "../../src/budget/index.ts"
import { formatPassages, parseCitations } from "../../src/model/PassageFormat.ts"
import { countPrompt, countText } from "../../src/text/Tokens.ts"

const passages = formatPassages([
  {
    sourceId: "garden/tomatoes.md#1",
    text:
      "Tomato plants need at least six hours of direct sunlight each day. Water them deeply twice a week, " +
      "e.g. on Monday and Thursday. Mulch keeps the soil moist in summer."
  },
  {
    sourceId: "astronomy/jupiter.md#2",
    text:
      "Jupiter is the largest planet in the Solar System. Its Great Red Spot is a storm wider than Earth. " +
      "Astronomers have confirmed 95 moons orbiting Jupiter."
  },
  {
    sourceId: "weft/budgets.md#3",
    text:
      "Weft checks the budget before every model call. The check reserves the prompt tokens plus the maximum " +
      "output tokens. A call that would overspend fails with BudgetExceeded before it reaches the provider."
  },
  {
    sourceId: "kitchen/bread.md#4",
    text:
      "Bread dough rises best in a warm kitchen. Knead the dough for ten minutes until it is smooth. " +
      "Bake the loaf at 220 degrees for thirty minutes."
  }
])

const ask = (question: string) =>
  `Answer using only the passages below. Cite them as [n].\n\n${passages}\n\nQuestion: ${question}`

const generate = (prompt: Prompt.RawInput) => LanguageModel.generateText({ prompt })

describe("Local", () => {
  it.layer(Local.layer())((it) => {
    it.effect("answers from the relevant passage and cites its number", () =>
      Effect.gen(function* () {
        const response = yield* generate(ask("What happens when a model call would overspend the budget?"))
        assert.include(response.text, "fails with BudgetExceeded")
        assert.deepStrictEqual(parseCitations(response.text), [3])
        assert.strictEqual(response.finishReason, "stop")
      })
    )

    it.effect("matches inflected forms of the question's words", () =>
      Effect.gen(function* () {
        const response = yield* generate(ask("How many moons orbit Jupiter?"))
        assert.include(response.text, "95 moons")
        assert.deepStrictEqual(parseCitations(response.text), [2])
      })
    )

    it.effect("finds the question in the user text when it has no Question label", () =>
      Effect.gen(function* () {
        const response = yield* generate(`${passages}\n\nHow long should bread dough be kneaded?`)
        assert.include(response.text, "Knead the dough for ten minutes")
        assert.deepStrictEqual(parseCitations(response.text), [4])
      })
    )

    it.effect("keeps abbreviations inside one sentence", () =>
      Effect.gen(function* () {
        const response = yield* generate(ask("How often should tomatoes be watered?"))
        assert.include(response.text, "Water them deeply twice a week, e.g. on Monday and Thursday [1].")
      })
    )

    it.effect("says the passages do not answer a question they share no content term with", () =>
      Effect.gen(function* () {
        const response = yield* generate(ask("What is the capital of France?"))
        assert.strictEqual(response.text, "The provided passages do not answer this question.")
        assert.deepStrictEqual(parseCitations(response.text), [])
      })
    )

    it.effect("says plainly that it cannot answer without passages", () =>
      Effect.gen(function* () {
        const response = yield* generate("What is the largest planet?")
        assert.include(response.text, "No passages were provided")
        assert.deepStrictEqual(parseCitations(response.text), [])
      })
    )

    it.effect("treats system messages as instructions and answers the user's question", () =>
      Effect.gen(function* () {
        const response = yield* generate([
          { role: "system", content: "You are a planet expert. Question: what is Mulch?" },
          { role: "user", content: ask("Which planet is the largest?") }
        ])
        assert.include(response.text, "Jupiter is the largest planet")
      })
    )

    it.effect("answers the original question again on a repair turn", () =>
      Effect.gen(function* () {
        const original = yield* generate(ask("How many moons orbit Jupiter?"))
        const repaired = yield* generate([
          { role: "user", content: ask("How many moons orbit Jupiter?") },
          { role: "assistant", content: original.text },
          {
            role: "user",
            content: "Your answer was too short. Please fix the sunlight details in your answer."
          }
        ])
        assert.strictEqual(repaired.text, original.text)
      })
    )

    it.effect("takes a later labelled question as a follow-up on the earlier passages", () =>
      Effect.gen(function* () {
        const first = yield* generate(ask("How many moons orbit Jupiter?"))
        const followUp = yield* generate([
          { role: "user", content: ask("How many moons orbit Jupiter?") },
          { role: "assistant", content: first.text },
          { role: "user", content: "Question: How long should the loaf bake?" }
        ])
        assert.include(followUp.text, "thirty minutes")
        assert.deepStrictEqual(parseCitations(followUp.text), [4])
      })
    )

    it.effect("does not mistake a question inside a passage, or one run into it, for an answer", () =>
      Effect.gen(function* () {
        const faq = formatPassages([
          {
            sourceId: "faq.md#1",
            text: "Question: How are refunds issued?\nRefunds are issued within 14 days."
          },
          { sourceId: "shipping.md#2", text: "Parcels ship from Lyon. Shipping takes three days." }
        ])
        const labelled = yield* generate(`Question: How many days does shipping take?\n\n${faq}`)
        assert.strictEqual(labelled.text, "Shipping takes three days [2].")
        const runOn = yield* generate(`${faq}\nQuestion: How are refunds issued?`)
        assert.strictEqual(runOn.text, "Refunds are issued within 14 days [1].")
      })
    )

    it.effect("reports usage as the token counts of the prompt and the answer", () =>
      Effect.gen(function* () {
        const prompt = Prompt.make(ask("How many moons orbit Jupiter?"))
        const response = yield* generate(prompt)
        assert.strictEqual(response.usage.inputTokens.total, countPrompt(prompt))
        assert.strictEqual(response.usage.outputTokens.total, countText(response.text))
      })
    )

    it.effect("gives the same answer to the same prompt", () =>
      Effect.gen(function* () {
        const first = yield* generate(ask("How long should the loaf bake?"))
        const second = yield* generate(ask("How long should the loaf bake?"))
        assert.strictEqual(first.text, second.text)
        assert.include(first.text, "thirty minutes")
      })
    )

    it.effect("streams the same text it generates, then a finish part with usage", () =>
      Effect.gen(function* () {
        const prompt = ask("What does the budget check reserve?")
        const generated = yield* generate(prompt)
        const parts = yield* Stream.runCollect(LanguageModel.streamText({ prompt }))
        const deltas = parts.flatMap((part) => (part.type === "text-delta" ? [part.delta] : []))
        assert.isAbove(deltas.length, 1)
        assert.strictEqual(deltas.join(""), generated.text)
        const types = parts.map((part) => part.type)
        assert.isBelow(types.indexOf("text-start"), types.indexOf("text-delta"))
        const finish = parts[parts.length - 1]
        assert(finish?.type === "finish")
        assert.strictEqual(finish.reason, "stop")
        assert.strictEqual(finish.usage.outputTokens.total, countText(generated.text))
      })
    )

    it.effect("provides its Model.ModelName", () =>
      Effect.gen(function* () {
        assert.strictEqual(yield* Effect.service(Model.ModelName), "weft-local")
      })
    )
  })

  describe("maxOutputTokens", () => {
    it.effect("cuts the answer to the limit and reports finish reason length", () =>
      Effect.gen(function* () {
        const response = yield* generate(ask("What happens when a model call would overspend the budget?"))
        assert.strictEqual(response.finishReason, "length")
        assert.isAtMost(countText(response.text), 6)
        assert.isAbove(response.text.length, 0)
        assert.strictEqual(response.usage.outputTokens.total, countText(response.text))
        const full = yield* generate(ask("What happens when a model call would overspend the budget?")).pipe(
          Effect.provide(Local.layer())
        )
        assert.isTrue(full.text.startsWith(response.text))
      }).pipe(Effect.provide(Local.layer({ maxOutputTokens: 6 })))
    )

    it.effect("drops lower-ranked sentences that would not fit rather than cutting them", () =>
      Effect.gen(function* () {
        const wide = yield* generate(
          ask("What should bread dough do in the kitchen and how long is it kneaded?")
        )
        assert.lengthOf(wide.text.match(/\[4\]/g) ?? [], 2)
        // Room for either sentence alone, not for both.
        const longest = Math.max(...wide.text.split(/(?<=\[4\]\.) /).map((sentence) => countText(sentence)))
        const narrow = yield* generate(
          ask("What should bread dough do in the kitchen and how long is it kneaded?")
        ).pipe(Effect.provideService(Meter.MaxOutputTokens, longest + 1))
        assert.strictEqual(narrow.finishReason, "stop")
        assert.lengthOf(narrow.text.match(/\[4\]/g) ?? [], 1)
      }).pipe(Effect.provide(Local.layer()))
    )

    it.effect("honours a narrower Meter.MaxOutputTokens limit around one call", () =>
      Effect.gen(function* () {
        const response = yield* generate(ask("How many moons orbit Jupiter?")).pipe(
          Effect.provideService(Meter.MaxOutputTokens, 3)
        )
        assert.strictEqual(response.finishReason, "length")
        assert.isAtMost(countText(response.text), 3)
      }).pipe(Effect.provide(Local.layer()))
    )
  })

  it.layer(Local.layer())("generateObject", (it) => {
    const Person = Schema.Struct({
      name: Schema.String,
      age: Schema.Int,
      email: Schema.String
    })

    it.effect("fills a struct from labelled lines", () =>
      Effect.gen(function* () {
        const response = yield* LanguageModel.generateObject({
          prompt: "Extract the contact.\n\nName: Ada Lovelace\nAge: 36\nEmail: ada@example.com\n",
          schema: Person
        })
        assert.deepStrictEqual(response.value, { name: "Ada Lovelace", age: 36, email: "ada@example.com" })
        assert.strictEqual(response.usage.outputTokens.total, countText(response.text))
      })
    )

    it.effect("fills enums, lists, booleans, optional and nested fields from free-form labels", () =>
      Effect.gen(function* () {
        const Ticket = Schema.Struct({
          customerName: Schema.String,
          priority: Schema.Literals(["low", "normal", "urgent"]),
          tags: Schema.Array(Schema.String),
          isEscalated: Schema.Boolean,
          estimateHours: Schema.Number,
          note: Schema.optional(Schema.String),
          shippingAddress: Schema.Struct({ city: Schema.String, zip_code: Schema.String })
        })
        const response = yield* LanguageModel.generateObject({
          prompt: [
            { role: "system", content: "Fill the ticket." },
            {
              role: "user",
              content:
                "- Customer name: **Grace Hopper**\n" +
                "- Priority: this one is URGENT\n" +
                "- Tags: billing, refunds and login\n" +
                "- Escalated: yes\n" +
                "The estimate is about 2.5 hours of work.\n\n" +
                "Shipping address:\nCity: Arlington\nZip code: 22201\n"
            }
          ],
          schema: Ticket
        })
        assert.deepStrictEqual(response.value, {
          customerName: "Grace Hopper",
          priority: "urgent",
          tags: ["billing", "refunds", "login"],
          isEscalated: true,
          estimateHours: 2.5,
          shippingAddress: { city: "Arlington", zip_code: "22201" }
        })
      })
    )

    it.effect("fills classes and nested schemas referenced by identifier, and constant tags", () =>
      Effect.gen(function* () {
        class Author extends Schema.Class<Author>("Author")({ name: Schema.String, born: Schema.Int }) {}
        const Book = Schema.TaggedStruct("Book", { title: Schema.String, author: Author })
        const response = yield* LanguageModel.generateObject({
          prompt: "Title: On Computable Numbers\nName: Alan Turing\nThe author was born in 1912.",
          schema: Book
        })
        assert.strictEqual(response.value._tag, "Book")
        assert.strictEqual(response.value.title, "On Computable Numbers")
        assert.instanceOf(response.value.author, Author)
        assert.deepStrictEqual({ ...response.value.author }, { name: "Alan Turing", born: 1912 })
      })
    )

    it.effect("fails with a typed StructuredOutputError when the text lacks required fields", () =>
      Effect.gen(function* () {
        const error = yield* LanguageModel.generateObject({
          prompt: "Name: Ada Lovelace\nThe weather is nice today.",
          schema: Person
        }).pipe(Effect.flip)
        assert.strictEqual(error._tag, "AiError")
        assert.strictEqual(error.reason._tag, "StructuredOutputError")
        assert.include(error.message, "age")
        assert(error.reason._tag === "StructuredOutputError")
        assert.deepStrictEqual(JSON.parse(error.reason.responseText), { name: "Ada Lovelace" })
      })
    )
  })

  it.live("can be interrupted at once while it reads a thousand passages", () =>
    Effect.gen(function* () {
      const model = yield* Local.make()
      const topics = "budget leave salary travel office remote policy expense review contract".split(" ")
      const many = formatPassages(
        Array.from({ length: 1_000 }, (_, i) => ({
          sourceId: `notes/${i}.md`,
          text: Array.from(
            { length: 30 },
            (_, s) =>
              `Clause ${s} of note ${i} covers ${topics[(i + s) % 10]} and ${topics[(i * 7 + s) % 10]}.`
          ).join(" ")
        }))
      )
      const prompt = `${many}\n\nQuestion: What covers travel?`
      const whole = performance.now()
      const answered = yield* model.generateText({ prompt })
      const wholeMs = performance.now() - whole
      assert.match(answered.text, /travel \[\d+\]/)
      const fiber = yield* Effect.forkChild(model.generateText({ prompt }))
      // The interrupt is sent when the sleep ends, which is only once the answer yields: the
      // time from then to the fiber's end is what a Ctrl-C waits.
      const due = performance.now() + 30
      yield* Effect.sleep("30 millis")
      const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
      const took = performance.now() - due
      assert.isTrue(Exit.hasInterrupts(exit), "the answer was interrupted, not finished")
      // The answer yields every 10 ms (4–31 ms measured here on a loaded 2-core machine); without
      // that, the interrupt waits for the whole answer. A quarter of it proves the yield and
      // leaves room for a runner busy with other test files.
      assert.isBelow(took, wholeMs / 4, `whole answer ${wholeMs.toFixed(0)} ms`)
    })
  )

  it.effect("Local.make alone builds a LanguageModel service", () =>
    Effect.gen(function* () {
      const model = yield* Local.make({ model: "custom-local" })
      const response = yield* model.generateText({ prompt: ask("How many moons orbit Jupiter?") })
      assert.deepStrictEqual(parseCitations(response.text), [2])
      const metadata = response.content.find((part) => part.type === "response-metadata")
      assert.strictEqual(metadata?.modelId, "custom-local")
    })
  )
})

describe("Local summarising material without passages", () => {
  it.effect("keeps the material's most central sentences, not the instruction", () =>
    Effect.gen(function* () {
      const model = yield* Local.make()
      const response = yield* model.generateText({
        prompt:
          "Summarise this report.\n\nThe solar farm produced more power in June than in any month before. " +
          "Cloudy weather in March lowered the output of the solar farm. The canteen menu changed. " +
          "The solar farm will add a battery to store power for the evening."
      })
      assert.notInclude(response.text, "Summarise")
      assert.include(response.text, "solar farm")
      assert.notInclude(response.text, "canteen")
    })
  )
})

describe("Local quoting passages that carry code, citations and header-like lines", () => {
  it.effect("quotes a sentence that opens with inline code on its own", () =>
    Effect.gen(function* () {
      const model = yield* Local.make()
      const block = formatPassages([
        {
          sourceId: "workflows.md#2",
          text:
            "A workflow is a sequence of steps. `Step.make` runs an effect as a named step with a retry policy. " +
            "Steps are traced."
        }
      ])
      const response = yield* model.generateText({ prompt: `${block}\n\nQuestion: What does Step.make do?` })
      assert.strictEqual(response.text, "`Step.make` runs an effect as a named step with a retry policy [1].")
    })
  )

  it.effect("keeps an index glued to a word and strips only the passage's own citations", () =>
    Effect.gen(function* () {
      const model = yield* Local.make()
      const block = formatPassages([
        {
          sourceId: "arrays.md#1",
          text: "The second element is read as `items[1]` in the loop. Arrays start at zero [2, 3]."
        }
      ])
      const indexed = yield* model.generateText({
        prompt: `${block}\n\nQuestion: How is the second element read?`
      })
      assert.strictEqual(indexed.text, "The second element is read as `items[1]` in the loop [1].")
      const cited = yield* model.generateText({ prompt: `${block}\n\nQuestion: Where do arrays start?` })
      assert.strictEqual(cited.text, "Arrays start at zero [1].")
      assert.deepStrictEqual(parseCitations(cited.text), [1])
    })
  )

  it.effect("does not take a header-like line inside a passage for a passage of its own", () =>
    Effect.gen(function* () {
      const model = yield* Local.make()
      const block = formatPassages([
        {
          sourceId: "prompts.md#1",
          text: "Each passage in a prompt is headed like this:\n[2] (source: docs/budget.md)\nThe header names the source."
        }
      ])
      const response = yield* model.generateText({
        prompt: `${block}\n\nQuestion: What does the header of a passage name?`
      })
      assert.deepStrictEqual(parseCitations(response.text), [1])
      assert.include(response.text, "The header names the source [1].")
    })
  )

  it.effect("answers questions about citations, sources and answers by those words", () =>
    Effect.gen(function* () {
      const model = yield* Local.make()
      const block = formatPassages([
        {
          sourceId: "overview.md#1",
          text: "Weft runs workflows as Effect programs. Every run has a budget."
        },
        {
          sourceId: "validation.md#2",
          text: "The grounding check compares each citation in an answer with the retrieved sources."
        }
      ])
      const response = yield* model.generateText({
        prompt: `${block}\n\nQuestion: How does Weft check citations against sources?`
      })
      assert.strictEqual(
        response.text,
        "The grounding check compares each citation in an answer with the retrieved sources [2]."
      )
    })
  )
})

describe("Local quoting markdown passages", () => {
  it.effect("never quotes table rows or code, only sentences", () =>
    Effect.gen(function* () {
      const model = yield* Local.make()
      const block = formatPassages([
        {
          sourceId: "bench.md",
          text:
            "The index builds in 350 ms over ten thousand chunks.\n\n| index | build ms |\n| --- | --- |\n| bm25 index | 350 |\n\n" +
            "```ts\nconst index = build(chunks) // index build\n```"
        }
      ])
      const response = yield* model.generateText({
        prompt: `${block}\n\nQuestion: How long does the index build take?`
      })
      assert.strictEqual(response.text, "The index builds in 350 ms over ten thousand chunks [1].")
    })
  )
})
