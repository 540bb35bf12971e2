/**
 * How retrieved passages are written into a prompt and how citations to them
 * are read back out of an answer: the one citation grammar Weft has.
 *
 * Prompt assembly writes passages with `formatPassages`, the Local model reads
 * them back with `parsePassages`, and both the Local model (which writes cited
 * answers) and the grounding validator (which checks them) read and write
 * citations through the functions here, so a text that cites for one cites for
 * the other.
 *
 *     [1] (source: docs/concepts.md#3)
 *     # Budgets
 *     Budgets are checked before each call…
 *
 * A passage's title, when it has one, is the line after its header, written
 * as a level-one markdown heading: its document's title and its section's,
 * joined by ` › ` (`# Bereavement leave › How much leave`), or whichever of
 * the two it has (`# Budgets`). So a reader — a model, or the Local model's
 * matcher — knows what the passage is about even when its sentences do not
 * name the topic. A passage text that itself opens
 * with a heading is written with one space in front (still a heading to a
 * markdown reader), so it is not read back as the title.
 *
 * Passages are numbered from 1 in the order given. A header is one line; the
 * source id runs to the line's last `)`, so an id may itself contain
 * parentheses. An id that a plain header could not carry (a line break,
 * spaces at either end, a leading `"`, or empty) is written as a JSON string.
 * A passage's own blank lines are folded, so a blank line always ends a
 * passage: the block ends at the first blank line that is not followed by
 * another passage header.
 *
 * A citation is a passage number in square brackets, or several separated by
 * commas (`[2]`, `[1, 3]`, runs like `[1][2]`), standing apart from the words
 * around it: an index glued to a word or a call (`items[0]`, `f(x)[1]`), a
 * markdown link (`[1](url)`) or a bracket inside inline code is not one.
 */
import { sentences } from "./internal/text.ts"

/**
 * The sentence a model is asked to answer with when the passages it was given
 * do not answer the question. An answer that says only this cites nothing and
 * is still grounded: it claims nothing.
 */
export const UNANSWERED = "The provided passages do not answer this question."

const UNANSWERED_KEY = UNANSWERED.slice(0, -1).toLowerCase()

/** Whether an answer is the `UNANSWERED` sentence (ignoring case, spacing and a final stop). */
export const isUnanswered = (text: string): boolean =>
  text.replace(/\s+/g, " ").trim().replace(/\.$/, "").toLowerCase() === UNANSWERED_KEY

export interface FormattablePassage {
  /** Where the passage came from, e.g. `docs/concepts.md#3`. */
  readonly sourceId: string
  /** The heading of the section the passage is from, if any (a retrieved `Passage`'s `title`). */
  readonly title?: string | undefined
  /** The title of the document the passage is from, if any (a retrieved `Passage`'s `documentTitle`). */
  readonly documentTitle?: string | undefined
  readonly text: string
}

export interface ParsedPassage {
  /** The passage's number in the prompt, from 1. */
  readonly n: number
  readonly sourceId: string
  /** The passage's title line, when the prompt gave one (its document's and its section's titles). */
  readonly title?: string
  readonly text: string
}

// ---- passages ---------------------------------------------------------------

// A header: the id runs to the last `)` on the line (ids may contain parentheses).
const HEADER = /^\[(\d+)\] \(source: (.*)\)[ \t]*$/gm
// A line of passage text that would read as a header, with any spaces before it.
const HEADER_LIKE = /^( *\[\d+\] \(source: .*\)[ \t]*)$/gm
// The same line as `formatPassages` escaped it: one more space in front.
const ESCAPED_HEADER = /^ ( *\[\d+\] \(source: .*\)[ \t]*)$/gm
// The title line after a header, and a passage's own opening heading as `formatPassages` escaped it.
const TITLE = /^# (.*)$/
const OPENING_HEADING = /^#{1,6}[ \t]/
const ESCAPED_OPENING_HEADING = /^ (#{1,6}[ \t])/
// What a plain, one-line header cannot carry as written.
const NEEDS_QUOTING = /[\r\n\u2028\u2029]|^\s|\s$|^"|^$/

/** A source id as a header writes it: as is, or as a JSON string when it must be. */
const encodeSourceId = (id: string): string =>
  NEEDS_QUOTING.test(id)
    ? JSON.stringify(id)
        .replace(/\u2028/g, "\\u2028")
        .replace(/\u2029/g, "\\u2029")
    : id

const decodeSourceId = (written: string): string => {
  const id = written.trim()
  if (id.length >= 2 && id.startsWith('"') && id.endsWith('"')) {
    try {
      const decoded: unknown = JSON.parse(id)
      if (typeof decoded === "string") return decoded
    } catch {
      // Not JSON after all: an id that merely starts and ends with a quote.
    }
  }
  return id
}

/** A title as one line: its line breaks and runs of spaces folded. */
const titleLine = (title: string | undefined): string | undefined => {
  const line = title?.replace(/\s+/g, " ").trim()
  return line === undefined || line.length === 0 ? undefined : line
}

/** A passage's title line: its document's title and its section's, or the one it has. */
const passageTitle = (p: FormattablePassage): string | undefined => {
  const section = titleLine(p.title)
  const document = titleLine(p.documentTitle)
  if (document === undefined || section === undefined) return section ?? document
  return document.toLowerCase() === section.toLowerCase() ? section : `${document} › ${section}`
}

/**
 * Writes passages as a numbered block, each headed `[n] (source: id)` and,
 * when it has a title, `# title` on the next line (see `passageTitle`). A line of passage text that
 * looks like a header, or an opening heading, is indented by one more space
 * (so it is not read back as a new passage or a title); `parsePassages` takes
 * the space off.
 */
export const formatPassages = (passages: ReadonlyArray<FormattablePassage>): string =>
  passages
    .map((p, i) => {
      const text = p.text
        .trim()
        .replace(/\n\s*\n/g, "\n")
        .replace(HEADER_LIKE, " $1")
        .replace(OPENING_HEADING, " $&")
      const title = passageTitle(p)
      const header = `[${i + 1}] (source: ${encodeSourceId(p.sourceId)})`
      return title === undefined ? `${header}\n${text}` : `${header}\n# ${title}\n${text}`
    })
    .join("\n\n")

/** A passage's body as written: its title line (if any) and its text, unescaped. */
const readBody = (body: string): { readonly title?: string; readonly text: string } => {
  const lines = body.replace(/^[ \t]*\r?\n/, "").split("\n")
  const title = TITLE.exec(lines[0] ?? "")
  const rest = (title === null ? lines : lines.slice(1)).join("\n").replace(ESCAPED_OPENING_HEADING, "$1")
  const text = rest.replace(ESCAPED_HEADER, "$1").trim()
  return title === null ? { text } : { title: title[1]!.trim(), text }
}

/** The passages in a text, and where their block starts and ends. */
const scanPassages = (
  text: string
): { readonly passages: Array<ParsedPassage>; readonly start: number; readonly end: number } => {
  const headers = [...text.matchAll(HEADER)]
  let end = 0
  const passages = headers.map((match, i) => {
    const start = match.index + match[0].length
    let body = text.slice(start, headers[i + 1]?.index ?? text.length)
    // A blank line ends a passage (its own blank lines were folded when it was written).
    const blank = body.search(/\n[ \t]*\n/)
    if (blank >= 0) body = body.slice(0, blank)
    end = start + body.length
    return { n: Number(match[1]), sourceId: decodeSourceId(match[2]!), ...readBody(body) }
  })
  return { passages, start: headers[0]?.index ?? 0, end }
}

/** Reads back the passages `formatPassages` wrote, from anywhere in a text. */
export const parsePassages = (text: string): Array<ParsedPassage> => scanPassages(text).passages

/** A text with its passage block taken out (what was written around the passages). */
export const withoutPassages = (text: string): string => {
  const { passages, start, end } = scanPassages(text)
  return passages.length === 0 ? text.trim() : `${text.slice(0, start)}\n${text.slice(end)}`.trim()
}

// ---- citations --------------------------------------------------------------

// A run of bracketed number lists (`[2]`, `[1, 3]`, `[1][2]`) standing apart:
// not glued to a word, a call, another bracket or inline code before it, and
// not followed by a word, a link target, another bracket or inline code.
const RUN = String.raw`(?<![\p{L}\p{N}_)\]\x60])(?:\[\d+(?:\s*,\s*\d+)*\])+(?![\p{L}\p{N}_(\[\x60])`
const CITATION_RUN = new RegExp(RUN, "gu")
const ANY_CITATION = new RegExp(RUN, "u")
// A run with the spaces before it, as `withoutCitations` removes it.
const SPACED_RUN = new RegExp(String.raw`[ \t]*${RUN}`, "gu")
// A sentence's stop with the citations written after it (`claim. [1]`).
const STOP_THEN_RUN = new RegExp(String.raw`([.!?]+)((?:[ \t]*${RUN})+)`, "gu")
const NUMBER_LIST = /\[([^\]]*)\]/g

/** The passage numbers an answer cites, as `[2]` or `[1, 3]`, in order of first use. */
export const parseCitations = (text: string): Array<number> => {
  const seen = new Set<number>()
  for (const run of text.matchAll(CITATION_RUN)) {
    for (const list of run[0].matchAll(NUMBER_LIST)) {
      for (const n of list[1]!.split(",")) seen.add(Number(n.trim()))
    }
  }
  return [...seen]
}

/** Whether a text cites any passage. */
export const hasCitation = (text: string): boolean => ANY_CITATION.test(text)

/** A text with its citations (and the spaces before them) taken out; an index like `items[0]` stays. */
export const withoutCitations = (text: string): string => text.replace(SPACED_RUN, "")

/**
 * A sentence citing passages `ns`, the citation before its final stop:
 * `cite("Jupiter has 95 moons.", 2)` is `"Jupiter has 95 moons [2]."`.
 */
export const cite = (sentence: string, ns: number | ReadonlyArray<number>): string => {
  const citation = `[${typeof ns === "number" ? ns : ns.join(", ")}]`
  const stop = /[.!?]+$/.exec(sentence)
  return stop === null ? `${sentence} ${citation}` : `${sentence.slice(0, stop.index)} ${citation}${stop[0]}`
}

/**
 * The sentences of an answer that cite no passage. A citation written just
 * after a sentence's stop (`claim. [1]`) counts for that sentence. Not claims,
 * so never reported: the `UNANSWERED` sentence, a line that introduces what
 * follows (ending in `:`), headings, table rows, code blocks and fragments with
 * no letter or digit.
 */
export const uncitedSentences = (text: string): Array<string> =>
  sentences(text.replace(STOP_THEN_RUN, (_, stop: string, runs: string) => ` ${runs.trim()}${stop}`)).filter(
    (sentence) =>
      !hasCitation(sentence) &&
      /[\p{L}\p{N}]/u.test(sentence) &&
      !/:["'”’)*_`]*$/u.test(sentence) &&
      !isUnanswered(sentence)
  )

// ---- quotes -----------------------------------------------------------------

/**
 * A text's sentences for quoting, as the Local model and the grounding check
 * read them (`sentences`): split after . ! ? (not inside inline code or
 * brackets, nor after an abbreviation), at list items and blank lines;
 * headings, code blocks and table rows are not sentences to quote.
 */
export const quoteSentences = (text: string): Array<string> =>
  sentences(text).filter((sentence) => /[\p{L}\p{N}]/u.test(sentence))

const wordSet = (text: string): Set<string> => new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])

/** How much two word sets share: 2|A∩B| / (|A| + |B|), from 0 to 1. */
const overlap = (a: Set<string>, b: Set<string>): number => {
  if (a.size === 0 || b.size === 0) return 0
  let shared = 0
  for (const word of a) if (b.has(word)) shared += 1
  return (2 * shared) / (a.size + b.size)
}

/** How much of an answer sentence a passage sentence must share to be what it quotes. */
const MIN_QUOTE_OVERLAP = 0.3

/**
 * The sentences of passage `n`'s text that an answer's sentences citing `[n]`
 * drew on, in passage order and joined by " … ": for each such answer
 * sentence, the passage sentence sharing the most words with it (an
 * extractive model's copy shares all). Undefined when none shares enough —
 * the answer then paraphrases too freely to point at a sentence.
 */
export const quotedSentences = (answer: string, n: number, passage: string): string | undefined => {
  const candidates = quoteSentences(passage).map((text, index) => ({ text, index, words: wordSet(text) }))
  const picked = new Set<number>()
  for (const claim of quoteSentences(answer)) {
    if (!parseCitations(claim).includes(n)) continue
    const claimWords = wordSet(withoutCitations(claim))
    let best: { index: number; score: number } | undefined
    for (const candidate of candidates) {
      const score = overlap(claimWords, candidate.words)
      if (best === undefined || score > best.score) best = { index: candidate.index, score }
    }
    if (best !== undefined && best.score >= MIN_QUOTE_OVERLAP) picked.add(best.index)
  }
  if (picked.size === 0) return undefined
  return [...picked]
    .sort((a, b) => a - b)
    .map((index) => candidates[index]!.text)
    .join(" … ")
}
