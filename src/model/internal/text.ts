/**
 * Plain-text analysis for the Local model: content terms (lowercased,
 * stop words dropped, Porter-stemmed) and sentence splitting.
 *
 * Stems with the shared `text/Stemmer` (the one BM25 uses), which strips
 * inflections only: enough to match "budgets"/"budget" and
 * "retrieved"/"retrieve" without a dictionary, deterministically.
 */
import { stem } from "../../text/Stemmer.ts"

export { stem }

// Function words, question words and the instruction verbs that wrap a
// question ("briefly explain…", "based on the following…"), which say nothing
// about the topic. Nouns such as "answer", "question", "passage", "source" or
// "citation" are content words here: users ask about them ("How does Weft check
// citations against sources?"). Instructions written around a prompt's passages
// are kept out of the question by the `Question:` label, not by this list.
const STOP_WORDS = new Set(
  (
    "a about above after again against all also am an and any are as at be because been before being below " +
    "between both but by can cannot could did do does doing done down during each either else ever every few " +
    "for from further had has have having he her here hers herself him himself his how however i if in into is " +
    "it its itself just let like many may me might more most much must my myself neither no nor not now of off " +
    "on once one only or other ought our ours ourselves out over own per please same shall she should since so " +
    "some such than that the their theirs them themselves then there these they this those though through thus " +
    "to too under until up upon us very via was we were what whatever when where whether which while who whom " +
    "whose why will with within without would yet you your yours yourself yourselves " +
    "using use based according following provided given tell explain describe say says said briefly"
  ).split(" ")
)

const ASCII_WORD = /^[a-z]+$/
const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu

/** The words of a text, lowercased, in order. */
export const words = (text: string): Array<string> => {
  const out: Array<string> = []
  for (const match of text.toLowerCase().matchAll(WORD)) out.push(match[0].replace(/['’]s$/, ""))
  return out
}

/** The stemmed content terms of a text, in order (repeats kept). */
export const terms = (text: string): Array<string> => {
  const out: Array<string> = []
  for (const word of words(text)) {
    if (STOP_WORDS.has(word)) continue
    if (word.length < 2 && !/\d/.test(word)) continue
    out.push(ASCII_WORD.test(word) ? stem(word) : word)
  }
  return out
}

// A full stop after one of these does not end a sentence.
const ABBREVIATION = /\b(?:e\.g|i\.e|etc|vs|cf|mr|mrs|ms|dr|prof|inc|ltd|jr|sr|st|no|fig|approx|al)\.$/i
const INITIAL = /(?:^|[\s.])\p{Lu}\.$/u
// A sentence ends before an uppercase letter, a digit or a quote, or before a
// markdown opener: inline code (`` `Step.make` runs… ``, whatever its case) or
// emphasis (`*`, `_`, `**`) on a capital, a digit or inline code.
const SENTENCE_END =
  /[.!?]+["'”’)\]*_`]*(?=\s+(?:["'“‘([]?(?:[\p{Lu}\p{N}]|`)|[*_]{1,3}(?:[\p{Lu}\p{N}]|`)))/gu
const LIST_MARKER = /^\s*(?:[-*•+]|\d+[.)])\s+/

/**
 * Splits a text into sentences. Paragraphs, list items and markdown headings
 * end a sentence; headings, table rows and fenced code are dropped (they are
 * titles and data, not statements to quote). Lines inside a paragraph are joined.
 */
export const sentences = (text: string): Array<string> => {
  const out: Array<string> = []
  const blocks: Array<string> = []
  let current: Array<string> = []
  const flush = () => {
    if (current.length > 0) blocks.push(current.join(" "))
    current = []
  }
  let inCode = false
  for (const line of text.split("\n")) {
    const trimmed = line.trim()
    // Code blocks and table rows are not sentences to quote; they end the one before them.
    if (trimmed.startsWith("```")) {
      inCode = !inCode
      flush()
      continue
    }
    if (inCode || trimmed.startsWith("|") || trimmed.length === 0 || /^#{1,6}\s/.test(trimmed)) {
      flush()
      continue
    }
    if (LIST_MARKER.test(trimmed)) flush()
    current.push(trimmed.replace(LIST_MARKER, ""))
  }
  flush()
  for (const block of blocks) {
    const flat = block.replace(/\s+/g, " ")
    let start = 0
    for (const match of flat.matchAll(SENTENCE_END)) {
      const end = match.index + match[0].length
      const candidate = flat.slice(start, end).trim()
      // "e.g." or "(e.g.)" or "*i.e.*": look past closing quotes, brackets and emphasis.
      const stop = candidate.replace(/["'”’)\]*_`]+$/u, "")
      if (ABBREVIATION.test(stop) || INITIAL.test(stop)) continue
      if (candidate.length > 0) out.push(candidate)
      start = end
    }
    const rest = flat.slice(start).trim()
    if (rest.length > 0) out.push(rest)
  }
  return out
}
