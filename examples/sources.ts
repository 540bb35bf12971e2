/**
 * How the flagship shows an answer's sources so a reader can check them at a
 * glance: citations renumbered from [1] in order of first use (the model cites
 * passages by their rank, so an answer may open with [2]), and for each source
 * the sentence the answer quoted, found in the cited passage, rather than the
 * passage's first words.
 *
 * Both work from the data alone — the answer's text, its citations and the
 * passages retrieved — whatever model wrote the answer.
 */
import type { Rag } from "../src/rag/index.ts"

/** A citation as shown: `n` its number in the shown answer, `passage` its number in the prompt. */
export interface ShownCitation extends Rag.Citation {
  readonly passage: number
  /** The sentences of the passage the answer drew on, in passage order. */
  readonly quote: string
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

/** Sentences of a text: split after . ! ? and at line breaks (list items, headings). */
export const sentences = (text: string): Array<string> =>
  text
    .split(/\n+/)
    .map((line) => line.replace(/^\s*(?:[-*+]|\d+\.|#+)\s+/, ""))
    .flatMap((line) => line.split(/(?<=[.!?]["”’)]?)\s+(?=["“‘(`*_]?[\p{Lu}\d`])/u))
    .map((s) => s.trim())
    .filter((s) => /[\p{L}\p{N}]/u.test(s))

const words = (text: string): Set<string> => new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])

/** How much two word sets share: 2|A∩B| / (|A| + |B|), from 0 to 1. */
const overlap = (a: Set<string>, b: Set<string>): number => {
  if (a.size === 0 || b.size === 0) return 0
  let shared = 0
  for (const w of a) if (b.has(w)) shared += 1
  return (2 * shared) / (a.size + b.size)
}

/**
 * The sentences of `passage` that the answer's sentences citing passage `n`
 * drew on: for each such answer sentence, the passage sentence sharing the
 * most words with it (an extractive model's copy scores 1). Undefined when no
 * passage sentence shares enough with what the answer says.
 */
export const quotedSentences = (answer: string, n: number, passage: string): string | undefined => {
  const candidates = sentences(passage).map((text, index) => ({ text, index, words: words(text) }))
  const picked = new Set<number>()
  for (const claim of sentences(answer)) {
    const cites = [...claim.matchAll(CITATION)].some((m) =>
      m[1]!.split(",").some((x) => Number(x.trim()) === n)
    )
    if (!cites) continue
    const claimWords = words(claim.replace(CITATION, " "))
    let best: { index: number; score: number } | undefined
    for (const candidate of candidates) {
      const score = overlap(claimWords, candidate.words)
      if (best === undefined || score > best.score) best = { index: candidate.index, score }
    }
    if (best !== undefined && best.score >= 0.3) picked.add(best.index)
  }
  if (picked.size === 0) return undefined
  return [...picked]
    .sort((a, b) => a - b)
    .map((i) => candidates[i]!.text)
    .join(" … ")
}

/**
 * The citations as a reader checks them: renumbered in order of first use,
 * each with the sentences it supports (or the citation's own excerpt when the
 * passage is not at hand or no sentence matches).
 */
export const showSources = (
  answer: string,
  citations: ReadonlyArray<Rag.Citation>,
  passageText: (n: number) => string | undefined
): { readonly answer: string; readonly citations: ReadonlyArray<ShownCitation> } => {
  const { answer: shownAnswer, order } = renumber(answer, citations)
  const shown = order.map((c): ShownCitation => {
    const text = passageText(c.passage)
    return {
      ...c,
      quote: (text === undefined ? undefined : quotedSentences(answer, c.passage, text)) ?? c.excerpt
    }
  })
  return { answer: shownAnswer, citations: shown }
}
