/**
 * The passage convention: numbered passages written into a prompt and read
 * back out, whatever their text contains.
 */
import { assert, describe, it } from "@effect/vitest"
import { formatPassages, parsePassages } from "../../src/model/PassageFormat.ts"

// What the round trip keeps of a passage's text: `formatPassages` trims it and folds its blank lines.
const normalised = (text: string): string => text.trim().replace(/\n\s*\n/g, "\n")

const roundTrip = (passages: ReadonlyArray<{ readonly sourceId: string; readonly text: string }>) =>
  assert.deepStrictEqual(
    parsePassages(formatPassages(passages)),
    passages.map((p, i) => ({ n: i + 1, sourceId: p.sourceId, text: normalised(p.text) }))
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
