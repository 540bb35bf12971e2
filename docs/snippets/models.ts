/**
 * Models: the same `effect/ai` calls answered by the offline Local model and
 * by the Scripted test double. Swapping the model is swapping the layer.
 *
 *   npm run snippet -- models
 */
import { Console, Effect, Schema, Stream } from "effect"
import { LanguageModel } from "effect/ai"
import { Local, Meter, PassageFormat, Scripted } from "weft-ai"

const prompt = [
  "Passages:",
  "",
  PassageFormat.formatPassages([
    {
      sourceId: "budget.md",
      text: "The Budget refuses a call that would cross a limit. Refusals are typed."
    },
    { sourceId: "steps.md", text: "A Step times out an attempt that takes longer than its timeout." }
  ]),
  "",
  "Question: What does the Budget do with a call that would cross a limit?"
].join("\n")

// Code that needs a model asks for `LanguageModel`; it does not know which one it gets.
const ask = Effect.map(LanguageModel.generateText({ prompt }), (response) => ({
  text: response.text,
  finish: response.finishReason,
  usage: `${response.usage.inputTokens.total} in / ${response.usage.outputTokens.total} out`
}))

const Invoice = Schema.Struct({ customer: Schema.String, total: Schema.Number, paid: Schema.Boolean })

const program = Effect.gen(function* () {
  // The Local model: extractive, deterministic, cites the passage it quotes.
  yield* Console.log("Local:   ", yield* Effect.provide(ask, Local.layer()))

  // The same code with a scripted answer.
  yield* Console.log("Scripted:", yield* Effect.provide(ask, Scripted.layer(["A scripted answer [1]."])))

  // Narrow the output limit around one call: the Local model stops at 8 tokens.
  const short = yield* ask.pipe(
    Effect.provideService(Meter.MaxOutputTokens, 8),
    Effect.provide(Local.layer())
  )
  yield* Console.log("8 tokens:", short)

  // JSON mode: the Local model fills the object from "Label: value" lines.
  const invoice = yield* LanguageModel.generateObject({
    prompt: "Customer: Acme Ltd\nTotal: 1,250.50 EUR\nPaid: no",
    schema: Invoice
  }).pipe(Effect.provide(Local.layer()))
  yield* Console.log("object:  ", invoice.value)

  // Streaming works too: the Local model streams its answer word by word.
  const deltas = yield* LanguageModel.streamText({ prompt }).pipe(
    Stream.filter((part) => part.type === "text-delta"),
    Stream.runCount,
    Effect.provide(Local.layer())
  )
  yield* Console.log(`stream:   ${deltas} text deltas`)
})

Effect.runPromise(program)
