import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Chunking from "../../src/retrieval/Chunking.ts"

const words = (text: string) => text.split(/\s+/).filter((w) => w.length > 0)

/** w0 w1 … w(n-1): unique words, so a chunk's position in the document is unambiguous. */
const numbered = (n: number, decorate: (i: number) => string = (i) => `w${i}`) =>
  Array.from({ length: n }, (_, i) => decorate(i)).join(" ")

/** The [first, last] word numbers of a chunk of numbered words. */
const span = (chunk: Chunking.Chunk): [number, number] => {
  const ws = words(chunk.text)
  return [Number(ws[0]!.replace(/\D/g, "")), Number(ws[ws.length - 1]!.replace(/\D/g, ""))]
}

describe("Chunking", () => {
  it("names chunks sourceId#index and numbers them from 0", () => {
    const chunks = Chunking.chunkDocument(
      { sourceId: "guides/intro.md", text: numbered(100) },
      { size: 30, overlap: 5 }
    )
    assert.isAbove(chunks.length, 3)
    chunks.forEach((chunk, i) => {
      assert.strictEqual(chunk.index, i)
      assert.strictEqual(chunk.sourceId, "guides/intro.md")
      assert.strictEqual(chunk.id, `guides/intro.md#${i}`)
    })
  })

  it("overlaps consecutive chunks by exactly `overlap` words when the text has no boundaries", () => {
    const chunks = Chunking.chunkDocument({ sourceId: "d", text: numbered(100) }, { size: 20, overlap: 5 })
    assert.deepStrictEqual(
      chunks.map((chunk) => span(chunk)),
      [
        [0, 19],
        [15, 34],
        [30, 49],
        [45, 64],
        [60, 79],
        [75, 94],
        [90, 99]
      ]
    )
  })

  it("ends a chunk at a sentence end and starts the next at a sentence start", () => {
    // Sentences of 7 words: w0 … w6. w7 … w13. …
    const text = numbered(70, (i) => (i % 7 === 6 ? `w${i}.` : `w${i}`))
    const chunks = Chunking.chunkDocument({ sourceId: "d", text }, { size: 20, overlap: 6 })
    for (const chunk of chunks) {
      const [first, last] = span(chunk)
      assert.strictEqual(first % 7, 0, `chunk ${chunk.index} starts mid-sentence: ${chunk.text}`)
      assert.strictEqual(last % 7, 6, `chunk ${chunk.index} ends mid-sentence: ${chunk.text}`)
    }
    // Two sentences fit in 20 words; the overlap is one 7-word sentence, the closest to the 6 asked for.
    assert.deepStrictEqual(span(chunks[0]!), [0, 13])
    assert.deepStrictEqual(span(chunks[1]!), [7, 20])
  })

  it("prefers a paragraph end to a later sentence end", () => {
    const text = `${numbered(12, (i) => (i === 5 ? `w${i}.` : `w${i}`))}\n\n${numbered(30, (i) =>
      i % 5 === 4 ? `w${i + 12}.` : `w${i + 12}`
    )}`
    const [first] = Chunking.chunkDocument({ sourceId: "d", text }, { size: 20, overlap: 0 })
    assert.deepStrictEqual(span(first!), [0, 11])
  })

  it("keeps the nearest heading as the title and never crosses a heading", () => {
    const text = [
      "Preamble before any heading.",
      "# Install",
      "Run the installer.",
      "```sh",
      "# not a heading, a shell comment",
      "```",
      "## Configure",
      "Set the budget in the config file."
    ].join("\n")
    const chunks = Chunking.chunkDocument({ sourceId: "readme.md", text })
    assert.deepStrictEqual(
      chunks.map(({ title, text }) => ({ title, text })),
      [
        { title: undefined, text: "Preamble before any heading." },
        { title: "Install", text: "Run the installer.\n```sh\n# not a heading, a shell comment\n```" },
        { title: "Configure", text: "Set the budget in the config file." }
      ]
    )
    assert.isFalse("title" in chunks[0]!)
  })

  it("slices the original text, keeping its line breaks", () => {
    const text = "- first item\n- second item\n\nA paragraph."
    const [chunk] = Chunking.chunkDocument({ sourceId: "d", text })
    assert.strictEqual(chunk!.text, text)
  })

  it("yields no chunks for blank text", () => {
    assert.deepStrictEqual(Chunking.chunkDocument({ sourceId: "d", text: " \n\n\t " }), [])
  })

  it("covers every word, within the size, on seeded random documents", () => {
    let seed = 7
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(next() * 600)
      const size = 2 + Math.floor(next() * 200)
      const overlap = Math.floor(next() * size)
      const text = numbered(n, (i) => {
        const r = next()
        return r < 0.08 ? `w${i}.` : r < 0.1 ? `w${i}\n\n` : r < 0.14 ? `w${i}\n` : `w${i}`
      })
      const chunks = Chunking.chunkDocument({ sourceId: "d", text }, { size, overlap })
      const spans = chunks.map(span)
      assert.strictEqual(spans[0]![0], 0)
      assert.strictEqual(spans[spans.length - 1]![1], n - 1)
      for (const [i, chunk] of chunks.entries()) {
        assert.isAtMost(words(chunk.text).length, size)
        assert.isTrue(text.includes(chunk.text))
        if (i === 0) continue
        const [prevFirst, prevLast] = spans[i - 1]!
        const [first] = spans[i]!
        assert.isAbove(first, prevFirst, "each chunk starts after the one before")
        assert.isAtMost(first, prevLast + 1, "no word falls between two chunks")
      }
    }
  })

  it.effect("accepts integer options with size > overlap >= 0", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* Chunking.resolveOptions(), { size: 180, overlap: 40 })
      assert.deepStrictEqual(yield* Chunking.resolveOptions({ size: 10, overlap: 0 }), {
        size: 10,
        overlap: 0
      })
    })
  )

  it.effect("rejects other options with InvalidOptions", () =>
    Effect.gen(function* () {
      for (const options of [
        { size: 10, overlap: 10 },
        { size: 10, overlap: -1 },
        { size: 12.5 },
        { overlap: 2.5 },
        { size: 0, overlap: 0 },
        { size: Number.NaN }
      ]) {
        const error = yield* Effect.flip(Chunking.chunkDocuments([{ sourceId: "d", text: "text" }], options))
        assert.strictEqual(error.reason, "InvalidOptions", JSON.stringify(options))
        assert.include(error.message, "size > overlap >= 0")
      }
    })
  )
})

describe("Chunking fenced code", () => {
  it("a chunk that starts or ends inside a fenced block reopens or closes the fence", () => {
    const code = Array.from({ length: 40 }, (_, i) => `line ${i} of sample output`).join("\n")
    const text = `Some prose before the sample.\n\n\`\`\`\n${code}\n\`\`\`\n\nProse after it.`
    const chunks = Chunking.chunkDocument({ sourceId: "doc.md", text }, { size: 60, overlap: 10 })
    assert.isAbove(chunks.length, 2)
    for (const chunk of chunks) {
      const fences = chunk.text.split("\n").filter((line) => line.startsWith("```")).length
      assert.strictEqual(fences % 2, 0, chunk.text)
    }
    // A middle chunk, all code, is fenced on both sides.
    const middle = chunks[1]!
    assert.isTrue(middle.text.startsWith("```\n"))
    assert.isTrue(middle.text.endsWith("\n```"))
  })
})
