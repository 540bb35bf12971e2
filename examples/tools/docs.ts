/**
 * A search over Weft's bundled docs for the example agents: the `docs/`
 * folder indexed once by the project's Retriever (BM25, `Retriever.layerFolder`),
 * and `SearchDocs`, the effect/ai Tool an agent calls with a query. A result
 * is the best passages with their sources; the model is sent them in the
 * numbered passage format (`PassageFormat`), so it can quote and cite them.
 */
import { fileURLToPath } from "node:url"
import { Effect, Schema } from "effect"
import { Prompt, Tool } from "effect/ai"
import { formatPassages } from "../../src/model/PassageFormat.ts"
import { Retriever } from "../../src/retrieval/Retriever.ts"
import * as Retrievers from "../../src/retrieval/Retriever.ts"
import { SearchFailed, ToolError, toolError } from "./ToolError.ts"

/** The bundled docs: Weft's guides. */
export const DOCS_FOLDER = fileURLToPath(new URL("../../docs", import.meta.url))

/** Passages a search returns unless the call asks for another number. */
export const DEFAULT_LIMIT = 3

/** The Retriever over the bundled docs (read and indexed when the layer is built). */
export const layerDocs = Retrievers.layerFolder(DOCS_FOLDER)

export const Hit = Schema.Struct({
  sourceId: Schema.String,
  title: Schema.optional(Schema.String),
  text: Schema.String,
  score: Schema.Number
})

export const SearchResult = Schema.Struct({ query: Schema.String, hits: Schema.Array(Hit) })

export const SearchDocs = Tool.make("search_docs", {
  description:
    "Search Weft's documentation for the passages about a topic, best first. The guides cover getting started, " +
    "concepts, workflows and steps, agents, tools, approvals and handoffs, models, budgets and usage, " +
    "retrieval, memory, validation and the repair loop, and observability.",
  parameters: Schema.Struct({
    query: Schema.String.check(Schema.isMinLength(2), Schema.isMaxLength(500)).annotate({
      description: "the topic to look for"
    }),
    limit: Schema.optional(
      Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10 })).annotate({
        description: "how many passages, 1 to 10"
      })
    )
  }),
  success: SearchResult,
  failure: ToolError,
  failureMode: "return",
  toModelOutput: (result) => [
    Prompt.makePart("text", {
      text:
        result.hits.length === 0
          ? `No passage of the docs matches "${result.query}".`
          : formatPassages(result.hits)
    })
  ]
})

/** The search's handler, over the Retriever in context (see `layerDocs`). */
export const searchDocs = (params: { readonly query: string; readonly limit?: number | undefined }) =>
  Retriever.use((retriever) =>
    retriever.retrieve(params.query, { topK: params.limit ?? DEFAULT_LIMIT })
  ).pipe(
    Effect.map((passages) => ({
      query: params.query,
      hits: passages.map((p) => ({
        sourceId: p.sourceId,
        ...(p.title === undefined ? {} : { title: p.title }),
        text: p.text,
        score: p.score
      }))
    })),
    Effect.mapError((error) =>
      toolError(new SearchFailed({ query: params.query, description: error.message }))
    )
  )
