/**
 * How retrieved passages are written into a prompt and how citations to them
 * are read back out of an answer.
 *
 * One plain-text convention shared by prompt assembly, the Local model (which
 * reads passages back from its prompt) and the grounding validator (which
 * checks that every `[n]` an answer cites names a passage it was given):
 *
 *     [1] (source: docs/concepts.md#3)
 *     Budgets are checked before each call…
 *
 * Passages are numbered from 1 in the order given. A passage's own blank
 * lines are folded, so a blank line always ends a passage: the block ends at
 * the first blank line that is not followed by another passage header.
 */

/**
 * The sentence a model is asked to answer with when the passages it was given
 * do not answer the question. An answer that says only this cites nothing and
 * is still grounded: it claims nothing.
 */
export const UNANSWERED = "The provided passages do not answer this question."

/** Whether an answer is the `UNANSWERED` sentence (ignoring case, spacing and a final stop). */
export const isUnanswered = (text: string): boolean =>
  text.replace(/\s+/g, " ").trim().replace(/\.$/, "").toLowerCase() === UNANSWERED.slice(0, -1).toLowerCase()

export interface FormattablePassage {
  /** Where the passage came from, e.g. `docs/concepts.md#3`. */
  readonly sourceId: string
  readonly text: string
}

export interface ParsedPassage {
  /** The passage's number in the prompt, from 1. */
  readonly n: number
  readonly sourceId: string
  readonly text: string
}

// A line of passage text that would read as a header, with any spaces before it.
const HEADER_LIKE = /^( *\[\d+\] \(source: [^)\n]*\)[ \t]*)$/gm
// The same line as `formatPassages` escaped it: one more space in front.
const ESCAPED_HEADER = /^ ( *\[\d+\] \(source: [^)\n]*\)[ \t]*)$/gm

/**
 * Writes passages as a numbered block, each headed `[n] (source: id)`. A line
 * of passage text that looks like a header is indented by one more space (so
 * it is not read back as a new passage); `parsePassages` takes the space off.
 */
export const formatPassages = (passages: ReadonlyArray<FormattablePassage>): string =>
  passages
    .map((p, i) => {
      const text = p.text
        .trim()
        .replace(/\n\s*\n/g, "\n")
        .replace(HEADER_LIKE, " $1")
      return `[${i + 1}] (source: ${p.sourceId})\n${text}`
    })
    .join("\n\n")

const HEADER = /^\[(\d+)\] \(source: ([^)\n]*)\)[ \t]*$/gm

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
    return {
      n: Number(match[1]),
      sourceId: match[2]!.trim(),
      text: body.replace(ESCAPED_HEADER, "$1").trim()
    }
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

const CITATION = /\[(\d+(?:\s*,\s*\d+)*)\]/g

/** The passage numbers an answer cites, as `[2]` or `[1, 3]`, in order of first use. */
export const parseCitations = (text: string): Array<number> => {
  const seen = new Set<number>()
  for (const match of text.matchAll(CITATION)) {
    for (const n of match[1]!.split(",")) seen.add(Number(n.trim()))
  }
  return [...seen]
}
