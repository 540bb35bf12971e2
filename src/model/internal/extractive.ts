/**
 * The Local model's text mode: find the question and the passages in a
 * prompt, pick the passage sentences that best answer it, cite each one.
 *
 * Sentences are ranked by BM25 over the passages' sentences (idf-weighted
 * overlap with the question's stemmed content terms, saturated by sentence
 * length). Everything here is a pure function of the prompt.
 */
import type { Prompt } from "effect/ai"
import { type ParsedPassage, parsePassages, UNANSWERED, withoutPassages } from "../PassageFormat.ts"
import { countText, messageText } from "../../text/Tokens.ts"
import { sentences, terms } from "./text.ts"

/** The reply when no passage sentence shares a content term with the question. */
export const NO_ANSWER = UNANSWERED

/** The reply when the prompt carries no passages at all. */
export const NO_PASSAGES = "No passages were provided, so this question cannot be answered."

/** At most this many sentences make an answer. */
const MAX_SENTENCES = 3
/** A further sentence must score at least this share of the best one. */
const MIN_RELATIVE_SCORE = 0.5
const K1 = 1.2
const B = 0.75

export interface Request {
  readonly passages: ReadonlyArray<ParsedPassage>
  readonly question: string
}

const QUESTION_LABEL = /(?:^|\n)[ \t]*(?:\*\*)?question(?:\*\*)?[ \t]*:[ \t]*/gi

/** The text after the last `Question:` label, up to a blank line or an `Answer:` label. */
const labelledQuestion = (text: string): string | undefined => {
  let last: RegExpExecArray | undefined
  for (const match of text.matchAll(QUESTION_LABEL)) last = match
  if (last === undefined) return undefined
  const rest = text.slice(last.index + last[0].length)
  const end = rest.search(/\n\s*\n|\n[ \t]*(?:\*\*)?answer(?:\*\*)?[ \t]*:/i)
  return (end >= 0 ? rest.slice(0, end) : rest).trim()
}

/**
 * Reads the passages and the question out of a prompt.
 *
 * Passages come from the latest user message that has any (else from the
 * system messages). The question is the latest `Question:` label, or the
 * passage message's own text; user messages after it without either are
 * feedback on an earlier answer (a repair turn), so the original question
 * still stands.
 */
export const readRequest = (prompt: Prompt.Prompt): Request => {
  const messages = prompt.content
  let passages: ReadonlyArray<ParsedPassage> = []
  let passageIndex = -1
  let lastUser = -1
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!
    if (message.role !== "user") continue
    if (lastUser < 0) lastUser = i
    const found = parsePassages(messageText(message))
    if (found.length > 0) {
      passages = found
      passageIndex = i
      break
    }
  }
  if (passages.length === 0) {
    for (let i = messages.length - 1; i >= 0 && passages.length === 0; i--) {
      const message = messages[i]!
      if (message.role === "system") passages = parsePassages(message.content)
    }
  }
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!
    if (message.role !== "user") continue
    const text = messageText(message)
    // A `Question:` line inside a passage (a FAQ, say) is not the user's question.
    const labelled = labelledQuestion(withoutPassages(text)) ?? labelledQuestion(text)
    if (labelled !== undefined) return { passages, question: labelled }
    if (i === passageIndex) return { passages, question: withoutPassages(text) }
  }
  const fallback = lastUser >= 0 ? messageText(messages[lastUser]!) : ""
  return { passages, question: fallback.trim() }
}

interface Candidate {
  readonly passage: number
  readonly passageOrder: number
  readonly position: number
  readonly text: string
  readonly terms: ReadonlyArray<string>
  score: number
}

// A citation a passage already carries (`… moons [2].`, `[1, 3]`, `[1][2]`): a
// bracketed number list at the start or after whitespace, not followed by a
// word or a link target. An index glued to a word (`name[1]`) is text, not a citation.
const EXISTING_CITATION = /(?:^|\s+)(?:\[\d+(?:\s*,\s*\d+)*\])+(?![\p{L}\p{N}_(])/gu

/** A sentence with its passage's citation before the final full stop (or after it, if quoted). */
const cite = (sentence: string, n: number): string => {
  const match = /[.!?]+$/.exec(sentence)
  return match === null ? `${sentence} [${n}]` : `${sentence.slice(0, match.index)} [${n}]${match[0]}`
}

/** Scores every passage sentence against the question (BM25, sentences as documents). */
const rank = (
  passages: ReadonlyArray<ParsedPassage>,
  question: string,
  questionTerms: ReadonlySet<string>
): Array<Candidate> => {
  const candidates: Array<Candidate> = []
  passages.forEach((passage, passageOrder) => {
    sentences(passage.text).forEach((sentence, position) => {
      const text = sentence.replace(EXISTING_CITATION, "").trim()
      // A sentence that restates the question (e.g. a question line that ran
      // into the last passage) is not an answer to it.
      if (text.length > 0 && !text.includes(question)) {
        candidates.push({ passage: passage.n, passageOrder, position, text, terms: terms(text), score: 0 })
      }
    })
  })
  const documentFrequency = new Map<string, number>()
  let totalLength = 0
  for (const candidate of candidates) {
    totalLength += candidate.terms.length
    for (const term of new Set(candidate.terms)) {
      documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1)
    }
  }
  const count = candidates.length
  const averageLength = count === 0 ? 1 : Math.max(1, totalLength / count)
  for (const candidate of candidates) {
    const frequency = new Map<string, number>()
    for (const term of candidate.terms) {
      if (questionTerms.has(term)) frequency.set(term, (frequency.get(term) ?? 0) + 1)
    }
    let score = 0
    for (const [term, tf] of frequency) {
      const df = documentFrequency.get(term) ?? 0
      const idf = Math.log(1 + (count - df + 0.5) / (df + 0.5))
      score += (idf * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * candidate.terms.length) / averageLength))
    }
    candidate.score = score
  }
  return candidates
}

const inReadingOrder = (a: Candidate, b: Candidate): number =>
  a.passageOrder - b.passageOrder || a.position - b.position

const byScore = (a: Candidate, b: Candidate): number => b.score - a.score || inReadingOrder(a, b)

const render = (chosen: ReadonlyArray<Candidate>): string =>
  [...chosen]
    .sort(inReadingOrder)
    .map((candidate) => cite(candidate.text, candidate.passage))
    .join(" ")

/**
 * The extractive answer to a request: up to three cited sentences, the best
 * first in rank, shown in reading order, that together fit `maxOutputTokens`
 * (the best one is always kept; the caller truncates it if it alone is too long).
 */
export const answer = (request: Request, maxOutputTokens: number): string => {
  if (request.passages.length === 0) return summarise(request.question, maxOutputTokens) ?? NO_PASSAGES
  const questionTerms = new Set(terms(request.question))
  if (questionTerms.size === 0) return NO_ANSWER
  const ranked = rank(request.passages, request.question, questionTerms)
    .filter((candidate) => candidate.score > 0)
    .sort(byScore)
  const best = ranked[0]
  if (best === undefined) return NO_ANSWER
  const chosen: Array<Candidate> = [best]
  for (const candidate of ranked.slice(1)) {
    if (chosen.length >= MAX_SENTENCES || candidate.score < best.score * MIN_RELATIVE_SCORE) break
    if (chosen.some((c) => c.text === candidate.text)) continue
    if (countText(render([...chosen, candidate])) <= maxOutputTokens) chosen.push(candidate)
  }
  return render(chosen)
}

/**
 * An extractive summary of the material in a request without passages: the
 * message's first paragraph is taken as the instruction ("Summarise this:")
 * and the rest as the material. The material's most central sentences — those
 * whose terms recur most across it — are kept, up to three and within
 * `maxOutputTokens`, in reading order. `undefined` when there is no material
 * (a single paragraph is a question, not something to summarise).
 */
export const summarise = (text: string, maxOutputTokens: number): string | undefined => {
  const paragraphs = text.split(/\n\s*\n/).filter((p) => p.trim().length > 0)
  if (paragraphs.length < 2) return undefined
  const material = sentences(paragraphs.slice(1).join("\n\n"))
    .map((sentence, position) => ({ sentence, position, terms: terms(sentence) }))
    .filter((s) => s.terms.length > 0)
  if (material.length === 0) return undefined
  const frequency = new Map<string, number>()
  for (const s of material) for (const term of s.terms) frequency.set(term, (frequency.get(term) ?? 0) + 1)
  const scored = material
    .map((s) => ({
      ...s,
      score:
        [...new Set(s.terms)].reduce((sum, term) => sum + (frequency.get(term) ?? 0), 0) /
        Math.sqrt(s.terms.length)
    }))
    .sort((a, b) => b.score - a.score || a.position - b.position)
  const chosen: Array<(typeof scored)[number]> = []
  for (const s of scored) {
    if (chosen.length >= MAX_SENTENCES) break
    const next = [...chosen, s].sort((a, b) => a.position - b.position)
    if (chosen.length === 0 || countText(next.map((c) => c.sentence).join(" ")) <= maxOutputTokens)
      chosen.push(s)
  }
  return chosen
    .sort((a, b) => a.position - b.position)
    .map((c) => c.sentence.trim())
    .join(" ")
}

/**
 * Cuts a text to at most `maxTokens` tokens, at a word boundary; says whether
 * it had to cut.
 */
export const truncate = (
  text: string,
  maxTokens: number
): { readonly text: string; readonly truncated: boolean } => {
  if (countText(text) <= maxTokens) return { text, truncated: false }
  const ends: Array<number> = []
  for (const match of text.matchAll(/\S+/g)) ends.push(match.index + match[0].length)
  // The longest prefix of whole words that fits; token counts grow with the prefix.
  let low = 0
  let high = ends.length
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (countText(text.slice(0, ends[mid - 1])) <= maxTokens) low = mid
    else high = mid - 1
  }
  if (low > 0) return { text: text.slice(0, ends[low - 1]), truncated: true }
  // Not even one word fits: cut inside the first word, character by character.
  let cut = ""
  for (const char of text.trimStart()) {
    if (countText(cut + char) > maxTokens) break
    cut += char
  }
  return { text: cut, truncated: true }
}
