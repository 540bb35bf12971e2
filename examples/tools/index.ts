/**
 * The example agents' local tools as one effect/ai Toolkit: a unit converter,
 * a calculator that parses instead of evaluating code, and a search over
 * Weft's bundled docs. `layer` provides every handler (the search reads and
 * indexes `docs/` when it is built).
 */
import { Effect, Layer } from "effect"
import { Toolkit } from "effect/ai"
import { Retriever } from "../../src/retrieval/Retriever.ts"
import { Calculate, calculate } from "./calculator.ts"
import { layerDocs, SearchDocs, searchDocs } from "./docs.ts"
import { ConvertUnits, convertUnits } from "./units.ts"

export { Calculate, evaluate } from "./calculator.ts"
export { DOCS_FOLDER, layerDocs, SearchDocs } from "./docs.ts"
export * from "./ToolError.ts"
export { ConvertUnits, convert, describeConversion, formatNumber, UNIT_NAMES } from "./units.ts"

export const AssistantTools = Toolkit.make(ConvertUnits, Calculate, SearchDocs)

/** The handlers of `AssistantTools`, the search over the Retriever in context. */
export const handlers = AssistantTools.toLayer(
  Effect.gen(function* () {
    const retriever = yield* Retriever
    return {
      convert_units: convertUnits,
      calculate,
      search_docs: (params) => Effect.provideService(searchDocs(params), Retriever, retriever)
    }
  })
)

/** The handlers of `AssistantTools`, the search over the bundled docs. */
export const layer = Layer.provide(handlers, layerDocs)
