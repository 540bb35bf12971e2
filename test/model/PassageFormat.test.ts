/**
 * The passage convention: numbered passages written into a prompt and read
 * back out, whatever their text or source id contains; and the one citation
 * grammar that the Local model writes and the grounding check reads.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  cite,
  formatPassages,
  hasCitation,
  parseCitations,
  parsePassages,
  uncitedSentences,
  withoutCitations
} from "../../src/model/PassageFormat.ts"

// What the round trip keeps of a passage's text: `formatPassages` trims it and folds its blank lines.
const normalised = (text: string): string => text.trim().replace(/\n\s*\n/g, "\n")

const roundTrip = (
  passages: ReadonlyArray<{ readonly sourceId: string; readonly title?: string; readonly text: string }>
) =>
  assert.deepStrictEqual(
    parsePassages(formatPassages(passages)),
    passages.map((p, i) => ({
      n: i + 1,
      sourceId: p.sourceId,
      ...(p.title === undefined ? {} : { title: p.title }),
      text: normalised(p.text)
    }))
  )

describe("PassageFormat", () => {
  it("reads back the passages it wrote", () => {
    roundTrip([
      { sourceId: "a.md#1", text: "First passage.\nSecond line." },
      { sourceId: "b.md#2", text: "  Padded, with\n\n\na folded blank line.  " },
      { sourceId: "c.md", text: "Cites [1] and [2, 3] inline." }
    ])
  })

  it("does not read a header-like line inside a passage as a new passage", () => {
    const passages = [
      { sourceId: "prompts.md#1", text: "A prompt looks like this:\n[1] (source: docs/x.md)\nand so on." },
      { sourceId: "prompts.md#2", text: "[7] (source: fake.md)  \nStarts with a header." },
      {
        sourceId: "prompts.md#3",
        text: "Indented already:\n  [2] (source: y.md)\nEnds with one:\n[3] (source: z.md)"
      }
    ]
    const block = formatPassages(passages)
    assert.strictEqual(parsePassages(block).length, 3)
    assert.include(block, "\n [1] (source: docs/x.md)\n")
    roundTrip(passages)
    // A real header after the block is still a passage of its own; the last passage ends at the blank line.
    const followed = parsePassages(`${block}\n\n[9] (source: later.md)\nOutside.`)
    assert.deepStrictEqual(
      followed.map((p) => p.n),
      [1, 2, 3, 9]
    )
    assert.strictEqual(followed[2]?.text, passages[2]?.text)
  })
})

describe("PassageFormat titles", () => {
  it("writes a passage's section title as a heading line under its header and reads it back", () => {
    const block = formatPassages([
      { sourceId: "leave.md#2", title: "Carrying leave over", text: "Up to five days may be carried." },
      { sourceId: "leave.md#3", text: "No title here." }
    ])
    assert.include(block, "[1] (source: leave.md#2)\n# Carrying leave over\nUp to five days")
    assert.include(block, "[2] (source: leave.md#3)\nNo title here.")
    roundTrip([
      { sourceId: "a.md#0", title: "Sick pay", text: "Full salary for 20 days." },
      { sourceId: "b.md#0", text: "Plain." }
    ])
  })

  it("writes the document's title before the section's, or the one the passage has", () => {
    const parsed = parsePassages(
      formatPassages([
        {
          sourceId: "l.md#2",
          documentTitle: "Bereavement leave",
          title: "How much leave",
          text: "Five days."
        },
        { sourceId: "l.md#0", documentTitle: "Bereavement leave", title: "Bereavement Leave", text: "Who." },
        { sourceId: "p.md#0", documentTitle: "Parking", text: "Spaces." }
      ])
    )
    assert.deepStrictEqual(
      parsed.map((p) => p.title),
      ["Bereavement leave › How much leave", "Bereavement Leave", "Parking"]
    )
    assert.deepStrictEqual(
      parsed.map((p) => p.text),
      ["Five days.", "Who.", "Spaces."]
    )
  })

  it("does not read a passage's own opening heading as its title", () => {
    const passages = [
      { sourceId: "a.md#0", text: "## Its own heading\nBody." },
      { sourceId: "b.md#0", title: "Given", text: "# Also a heading\nBody." }
    ]
    roundTrip(passages)
    assert.isUndefined(parsePassages(formatPassages(passages))[0]?.title)
  })

  it("folds a title's line breaks into one line", () => {
    const [parsed] = parsePassages(formatPassages([{ sourceId: "a.md", title: "Two\nlines ", text: "x" }]))
    assert.strictEqual(parsed?.title, "Two lines")
    assert.strictEqual(parsed?.text, "x")
  })
})

describe("PassageFormat source ids", () => {
  it("an id containing ')' keeps its passage visible, and the passages after it", () => {
    roundTrip([
      { sourceId: "handbook/leave (2024).md", text: "Employees get 25 days." },
      { sourceId: "notes)", text: "A closing bracket alone." },
      { sourceId: "a) b (c", text: "Unbalanced both ways." },
      { sourceId: "after.md", text: "Still read." }
    ])
    assert.include(
      formatPassages([{ sourceId: "leave (2024).md", text: "x" }]),
      "[1] (source: leave (2024).md)\n"
    )
  })

  it("an id a one-line header cannot carry as written is quoted as JSON and read back exactly", () => {
    const ids = ["two\nlines", " padded ", '"quoted"', "", "tab\tand \u2028separator", '"half']
    roundTrip(ids.map((sourceId, i) => ({ sourceId, text: `Passage ${i}.` })))
    // An ordinary id is written as it is.
    assert.include(formatPassages([{ sourceId: "docs/a.md#3", text: "x" }]), "(source: docs/a.md#3)")
  })
})

describe("PassageFormat citations", () => {
  it("reads bracketed numbers standing apart as citations, in order of first use", () => {
    assert.deepStrictEqual(parseCitations("A [2]. B [1, 3]. C [2]."), [2, 1, 3])
    assert.deepStrictEqual(
      parseCitations("Runs [1][4], after a stop.[5] or in brackets (see [6])."),
      [1, 4, 5, 6]
    )
    assert.deepStrictEqual(parseCitations('"Quoted"[7] and **bold** [8]'), [7, 8])
  })

  it("does not read an index, a call's index, a link or inline code as a citation", () => {
    assert.deepStrictEqual(parseCitations("items[0] and row2[1] and f(x)[3] and a[0][1]"), [])
    assert.deepStrictEqual(parseCitations("See [1](https://example.com) and `[2]` and [3]: https://x"), [3])
    assert.isFalse(hasCitation("items[0]"))
    assert.isTrue(hasCitation("items [0]"))
  })

  it("withoutCitations takes citations out and leaves indexes; cite writes one before the stop", () => {
    assert.strictEqual(
      withoutCitations("Jupiter has 95 moons [2]. Use items[0] [1][3]."),
      "Jupiter has 95 moons. Use items[0]."
    )
    assert.strictEqual(cite("Jupiter has 95 moons.", 2), "Jupiter has 95 moons [2].")
    assert.strictEqual(cite("Is it?!", [1, 3]), "Is it [1, 3]?!")
    assert.strictEqual(cite("No stop", 4), "No stop [4]")
    // What cite writes, parseCitations reads.
    assert.deepStrictEqual(parseCitations(cite("Steps retry.", [2, 5])), [2, 5])
  })

  it("uncitedSentences finds the claims without a citation", () => {
    assert.deepStrictEqual(
      uncitedSentences(
        "Budgets reserve first [1]. Steps retry. After the stop. [2] Memory keeps turns, e.g. questions."
      ),
      ["Steps retry.", "Memory keeps turns, e.g. questions."]
    )
    assert.deepStrictEqual(
      uncitedSentences("# Summary\nThe budget limits:\n- tokens [1]\n- calls\n\n```\nconst x = 1\n```"),
      ["calls"]
    )
    assert.deepStrictEqual(uncitedSentences("The provided passages do not answer this question."), [])
    assert.deepStrictEqual(uncitedSentences("Read items[0]."), ["Read items[0]."])
  })
})
