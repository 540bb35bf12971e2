/**
 * How the flagship shows an answer's sources so a reader can check them at a
 * glance: citations renumbered from [1] in order of first use (the model cites
 * passages by their rank, so an answer may open with [2]); each source shows
 * the sentence the answer quoted (the citation's `quote`).
 *
 * It works from the data alone — the answer's text and its citations —
 * whatever model wrote the answer.
 */
import type { Rag } from "../src/rag/index.ts"

/** A citation as shown: `n` its number in the shown answer, `passage` its number in the prompt. */
export interface ShownCitation extends Rag.Citation {
  readonly passage: number
}

const CITATION = /\[(\d+(?:\s*,\s*\d+)*)\]/g

/**
 * The answer with its citations renumbered 1, 2, 3… in order of first use,
 * and the citations with their new numbers, sorted by them. A number the
 * citations do not list is left as it is.
 */
export const renumber = (
  answer: string,
  citations: ReadonlyArray<Rag.Citation>
): {
  readonly answer: string
  readonly order: ReadonlyArray<Rag.Citation & { readonly passage: number }>
} => {
  const cited = new Set(citations.map((c) => c.n))
  const order: Array<number> = []
  for (const match of answer.matchAll(CITATION)) {
    for (const n of match[1]!.split(",").map((x) => Number(x.trim()))) {
      if (cited.has(n) && !order.includes(n)) order.push(n)
    }
  }
  // Citations the text never shows (none, normally) keep their place after the rest.
  for (const c of citations) if (!order.includes(c.n)) order.push(c.n)
  const shown = new Map(order.map((n, i) => [n, i + 1]))
  const text = answer.replace(
    CITATION,
    (_, group: string) =>
      `[${group
        .split(",")
        .map((x) => shown.get(Number(x.trim())) ?? Number(x.trim()))
        .join(", ")}]`
  )
  const byN = new Map(citations.map((c) => [c.n, c]))
  return { answer: text, order: order.map((n) => ({ ...byN.get(n)!, n: shown.get(n)!, passage: n })) }
}

/**
 * The citations as a reader checks them: renumbered in order of first use,
 * each with the sentences it supports (`quote`, which the workflow finds in
 * the cited passage).
 */
export const showSources = (
  answer: string,
  citations: ReadonlyArray<Rag.Citation>
): { readonly answer: string; readonly citations: ReadonlyArray<ShownCitation> } => {
  const { answer: shownAnswer, order } = renumber(answer, citations)
  return { answer: shownAnswer, citations: order }
}
