/**
 * Retrieval: index a few documents in memory with BM25 and query them.
 *
 * `Retriever.layerDocuments` chunks the documents (about 180 words a chunk by
 * default, 40 words of overlap) and builds the index once; `retrieve(query)`
 * returns the best passages with their source id, heading and score.
 *
 *   npm run snippet -- retrieve
 */
import { Console, Effect } from "effect"
import { Retriever, retrieve } from "weft-ai"

const documents = [
  {
    sourceId: "guides/budget.md",
    text: [
      "# Budgets",
      "The Budget reserves the worst case of each model call before the call is made.",
      "A call that would cross a limit is refused with a BudgetError and never reaches the model.",
      "## Prices",
      "Costs come from a price table in USD per million tokens."
    ].join("\n\n")
  },
  {
    sourceId: "guides/retries.md",
    text: "# Retries\n\nA Step retries a failed attempt on its Schedule when the error is retryable."
  },
  {
    sourceId: "notes/cooking.txt",
    text: "Bread needs flour, water, salt and yeast. Let the dough rest for an hour."
  }
]

const program = Effect.gen(function* () {
  const passages = yield* retrieve("How are model calls limited by the budget?", { topK: 3 })
  for (const p of passages) {
    yield* Console.log(`${p.score.toFixed(2)}  ${p.id}  (${p.title ?? "no heading"})\n      ${p.text}`)
  }

  // A filter keeps only some sources; it is applied before topK.
  const guides = yield* retrieve("retry", { filter: (p) => p.sourceId.startsWith("guides/") })
  yield* Console.log(`\nguides about retries: ${guides.map((p) => p.id).join(", ")}`)

  // A query sharing no word with the corpus finds nothing; it is not an error.
  const none = yield* retrieve("quantum chromodynamics")
  yield* Console.log(`passages about physics: ${none.length}`)

  // A blank query is a typed RetrievalError.
  const error = yield* Effect.flip(retrieve("   "))
  yield* Console.log(`${error._tag} (${error.reason}): ${error.message}`)
})

Effect.runPromise(Effect.provide(program, Retriever.layerDocuments(documents)))
