/**
 * The whole pipeline on your own documents: `Rag.ask` runs the question
 * through interpret → retrieve → assemble → model → validate → store, with the
 * offline Local model, a Retriever over inline documents and in-memory Memory.
 *
 *   npm run snippet -- rag
 */
import { Console, Effect, Layer } from "effect"
import { Local, Memory, Rag, Report, Retriever } from "weft-ai"

const documents = [
  {
    sourceId: "handbook/leave.md",
    text: "# Leave\n\nEmployees get 25 days of paid leave a year. Unused leave expires at the end of March."
  },
  {
    sourceId: "handbook/expenses.md",
    text: "# Expenses\n\nTravel expenses are refunded within 30 days. Receipts must be uploaded to the portal."
  }
]

// Memory is needed only because the questions below use a session.
const services = Layer.mergeAll(Local.layer(), Retriever.layerDocuments(documents), Memory.layerInMemory)

const program = Effect.gen(function* () {
  const first = yield* Rag.ask("How many days of paid leave do employees get?", {
    sessionId: "alice",
    budget: { modelCalls: 5, wallTime: "10 seconds" }
  })
  yield* Console.log(`A: ${first.output.answer}`)
  for (const c of first.output.citations) yield* Console.log(`   [${c.n}] ${c.sourceId} — ${c.excerpt}`)

  // A short follow-up in the same session is made standalone with the question before it.
  const second = yield* Rag.ask("And when does unused leave expire?", { sessionId: "alice" })
  yield* Console.log(`\nA: ${second.output.answer}`)
  yield* Console.log(`\n${Report.timeline(second.trace)}\n\n${Report.usage(second.usage)}`)
})

Effect.runPromise(Effect.provide(program, services))
