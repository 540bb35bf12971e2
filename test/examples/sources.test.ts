/**
 * How sources are shown: citations renumbered in order of first use (the
 * flagship's `showSources`) and the quoted sentence found in each cited
 * passage, whatever the answer's wording (`PassageFormat.quotedSentences`,
 * which the RAG workflow's citations carry as `quote`).
 */
import { assert, describe, it } from "@effect/vitest"
import { renumber, showSources } from "../../examples/sources.ts"
import { quotedSentences, quoteSentences } from "../../src/model/PassageFormat.ts"
import type { Rag } from "../../src/rag/index.ts"

const citation = (n: number, sourceId: string, quote = `first words of ${sourceId}`): Rag.Citation => ({
  n,
  sourceId,
  score: 10 - n,
  excerpt: `first words of ${sourceId}`,
  quote
})

describe("renumber", () => {
  it("numbers citations from [1] in order of first use, groups included, and reorders the sources", () => {
    const shown = renumber(
      "Leave is 27 days [3]. Bonuses are paid in March [2, 3]. Travel is booked centrally [5].",
      [citation(3, "leave.md"), citation(2, "pay.md"), citation(5, "travel.md")]
    )
    assert.strictEqual(
      shown.answer,
      "Leave is 27 days [1]. Bonuses are paid in March [2, 1]. Travel is booked centrally [3]."
    )
    assert.deepStrictEqual(
      shown.order.map((c) => [c.n, c.passage, c.sourceId]),
      [
        [1, 3, "leave.md"],
        [2, 2, "pay.md"],
        [3, 5, "travel.md"]
      ]
    )
  })

  it("leaves an answer already numbered from [1] as it is", () => {
    const answer = "A [1]. B [2]."
    assert.strictEqual(renumber(answer, [citation(1, "a.md"), citation(2, "b.md")]).answer, answer)
  })
})

describe("quotedSentences", () => {
  const passage =
    "# Leave\n\nThe leave year starts in January. Full-time staff get 27 days of annual leave a year. " +
    "Unused days lapse at the end of March.\n\n- Part-time staff get leave pro rata."

  it("finds the sentence an extractive answer copied, not the passage's first one", () => {
    assert.strictEqual(
      quotedSentences("Full-time staff get 27 days of annual leave a year [2].", 2, passage),
      "Full-time staff get 27 days of annual leave a year."
    )
  })

  it("finds the sentence a paraphrase draws on, and every sentence when several are cited, in passage order", () => {
    assert.strictEqual(
      quotedSentences(
        "Days not taken by the end of March lapse [1]. Staff working full-time receive 27 days each year [1].",
        1,
        passage
      ),
      "Full-time staff get 27 days of annual leave a year. … Unused days lapse at the end of March."
    )
  })

  it("reads only the answer's sentences that cite this passage", () => {
    assert.strictEqual(
      quotedSentences(
        "Part-time staff get leave pro rata [1]. The leave year starts in January [2].",
        1,
        passage
      ),
      "Part-time staff get leave pro rata."
    )
  })

  it("gives nothing when no sentence of the passage matches what the answer says", () => {
    assert.isUndefined(quotedSentences("Offices open at nine [1].", 1, passage))
  })
})

describe("showSources", () => {
  it("renumbers the answer and its sources, each keeping its quote", () => {
    const shown = showSources(
      "Full-time staff get 27 days of annual leave a year [4]. Expenses are filed monthly [2].",
      [
        citation(4, "leave.md", "Full-time staff get 27 days of annual leave a year."),
        citation(2, "expenses.md")
      ]
    )
    assert.strictEqual(
      shown.answer,
      "Full-time staff get 27 days of annual leave a year [1]. Expenses are filed monthly [2]."
    )
    assert.deepStrictEqual(
      shown.citations.map((c) => [c.n, c.passage, c.quote]),
      [
        [1, 4, "Full-time staff get 27 days of annual leave a year."],
        [2, 2, "first words of expenses.md"]
      ]
    )
  })
})

describe("quoteSentences", () => {
  it("splits after sentence ends and at list items, dropping list markers and headings", () => {
    assert.deepStrictEqual(quoteSentences("# Title\n\nOne. Two? `Three` is code.\n- Four\n1. Five"), [
      "One.",
      "Two?",
      "`Three` is code.",
      "Four",
      "Five"
    ])
  })

  it("splits as the Local model does: not inside inline code or brackets", () => {
    assert.deepStrictEqual(
      quoteSentences('It replies `No answer.` and stops. A scene ("She left. Why?") is read whole. Done.'),
      ["It replies `No answer.` and stops.", 'A scene ("She left. Why?") is read whole.', "Done."]
    )
  })
})
