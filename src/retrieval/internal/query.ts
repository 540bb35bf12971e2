/**
 * What the in-memory Retriever and the SQL index share about a query: checking
 * its options (`topK`, `minScore`, `where`, `tokenBudget`, `expand`) and
 * fitting the passages found into the context's token budget, so both answer a
 * query the same way.
 */
import { Effect } from "effect"
import { checkInteger, InvalidOption, show } from "../../core/InvalidOption.ts"
import { countText, warm } from "../../text/Tokens.ts"
import * as Filter from "../Filter.ts"
import type * as Bm25 from "../Bm25.ts"
import { EmptyQuery, fail, invalidOption, QueryTooLong, type RetrievalError } from "../RetrievalError.ts"
import type { RetrieveOptions } from "../Retriever.ts"

export const defaultTopK = 5

/** What an expanded term counts for when `expandWeight` is not given. */
export const defaultExpandWeight = 0.5

/** The options every search takes. */
export interface QueryOptions {
  readonly topK?: number | undefined
  readonly minScore?: number | undefined
  readonly where?: Filter.Filter | undefined
  readonly tokenBudget?: number | undefined
}

export interface CheckedQuery {
  readonly topK: number
  readonly minScore: number
  readonly where: Filter.Filter | undefined
  readonly tokenBudget: number | undefined
}

/**
 * Checks a query and its options: `EmptyQuery` for a blank query,
 * `InvalidOption` for a bad `topK`, `minScore`, `where` or `tokenBudget`, and
 * `QueryTooLong` when the query alone takes more tokens than `tokenBudget`.
 */
export const checkQuery = (
  query: string,
  options: QueryOptions | undefined
): Effect.Effect<CheckedQuery, RetrievalError> =>
  Effect.gen(function* () {
    if (query.trim().length === 0) return yield* fail(new EmptyQuery())
    const topK = options?.topK ?? defaultTopK
    const badTopK = checkInteger("topK", topK, 1)
    if (badTopK !== undefined) return yield* fail(badTopK)
    const minScore = options?.minScore ?? 0
    if (typeof minScore !== "number" || Number.isNaN(minScore)) {
      return yield* fail(
        new InvalidOption({ option: "minScore", value: show(minScore), expected: "a number" })
      )
    }
    const where = options?.where === undefined ? undefined : yield* Filter.validate(options.where)
    const tokenBudget = options?.tokenBudget
    if (tokenBudget !== undefined) {
      const badBudget = checkInteger("tokenBudget", tokenBudget, 1)
      if (badBudget !== undefined) return yield* fail(badBudget)
      yield* warm
      const queryTokens = countText(query)
      if (queryTokens > tokenBudget) return yield* fail(new QueryTooLong({ queryTokens, tokenBudget }))
    }
    return { topK, minScore, where, tokenBudget }
  })

/** The tokens a passage takes in a prompt: its heading and its text. */
export const passageTokens = (passage: {
  readonly title?: string | undefined
  readonly text: string
}): number => countText(passage.title === undefined ? passage.text : `${passage.title}\n${passage.text}`)

/**
 * The passages, best first, that fit in `tokenBudget` together: it stops at the
 * first passage that would take the total past the budget (a lower-ranked,
 * shorter passage is not put before a better one).
 */
export const fitBudget = <P extends { readonly title?: string | undefined; readonly text: string }>(
  passages: ReadonlyArray<P>,
  tokenBudget: number | undefined
): ReadonlyArray<P> => {
  if (tokenBudget === undefined) return passages
  const kept: Array<P> = []
  let used = 0
  for (const passage of passages) {
    used += passageTokens(passage)
    if (used > tokenBudget) break
    kept.push(passage)
  }
  return kept
}

/** The `expand`/`expandWeight` options as BM25's `QueryExpansion` (`InvalidOption` for a weight outside 0–1). */
export const expansionOf = (
  options: RetrieveOptions | undefined
): Effect.Effect<Bm25.QueryExpansion | undefined, RetrievalError> => {
  const expandWeight = options?.expandWeight ?? defaultExpandWeight
  if (typeof expandWeight !== "number" || !(expandWeight >= 0 && expandWeight <= 1)) {
    return Effect.fail(invalidOption("expandWeight", show(expandWeight), "a number from 0 to 1"))
  }
  return Effect.succeed(
    options?.expand === undefined ? undefined : { related: options.expand, weight: expandWeight }
  )
}

/**
 * `expansionOf` for a Retriever whose search runs in SQL (`layerSql`,
 * `Hybrid.layerSql`): a closure `filter` cannot run there, so it fails with
 * `InvalidOption` (give a `Filter` as `where`).
 */
export const sqlExpansionOf = (
  options: RetrieveOptions | undefined
): Effect.Effect<Bm25.QueryExpansion | undefined, RetrievalError> =>
  options?.filter === undefined
    ? expansionOf(options)
    : Effect.fail(invalidOption("filter", "a function", "a Filter given as `where`"))
