import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import * as Chunking from "../../src/retrieval/Chunking.ts"
import { countText } from "../../src/text/Tokens.ts"

const words = (text: string) => text.split(/\s+/).filter((w) => w.length > 0)

/** w0 w1 … w(n-1): unique words, so a chunk's position in the document is unambiguous. */
const numbered = (n: number, decorate: (i: number) => string = (i) => `w${i}`) =>
  Array.from({ length: n }, (_, i) => decorate(i)).join(" ")

/** Options sized by words alone: a token cap too high to bind. */
const byWords = (size: number, overlap: number): Chunking.ResolvedChunkOptions => ({
  size,
  overlap,
  maxTokens: Number.MAX_SAFE_INTEGER
})

/** The [first, last] word numbers of a chunk of numbered words. */
const span = (chunk: Chunking.Chunk): [number, number] => {
  const ws = words(chunk.text)
  return [Number(ws[0]!.replace(/\D/g, "")), Number(ws[ws.length - 1]!.replace(/\D/g, ""))]
}

describe("Chunking", () => {
  it("names chunks sourceId#index and numbers them from 0", () => {
    const chunks = Chunking.chunkDocument(
      { sourceId: "guides/intro.md", text: numbered(100) },
      byWords(30, 5)
    )
    assert.isAbove(chunks.length, 3)
    chunks.forEach((chunk, i) => {
      assert.strictEqual(chunk.index, i)
      assert.strictEqual(chunk.sourceId, "guides/intro.md")
      assert.strictEqual(chunk.id, `guides/intro.md#${i}`)
    })
  })

  it("overlaps consecutive chunks by exactly `overlap` words when the text has no boundaries", () => {
    const chunks = Chunking.chunkDocument({ sourceId: "d", text: numbered(100) }, byWords(20, 5))
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
    const chunks = Chunking.chunkDocument({ sourceId: "d", text }, byWords(20, 6))
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
    const [first] = Chunking.chunkDocument({ sourceId: "d", text }, byWords(20, 0))
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
      const chunks = Chunking.chunkDocument({ sourceId: "d", text }, byWords(size, overlap))
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

  it.effect(
    "accepts integer options with size > overlap >= 0 and maxTokens >= 32, each of them possibly undefined",
    () =>
      Effect.gen(function* () {
        assert.deepStrictEqual(yield* Chunking.resolveOptions(), { size: 180, overlap: 40, maxTokens: 450 })
        assert.deepStrictEqual(Chunking.defaultOptions, { size: 180, overlap: 40, maxTokens: 450 })
        assert.deepStrictEqual(yield* Chunking.resolveOptions({ size: 10, overlap: 0 }), {
          size: 10,
          overlap: 0,
          maxTokens: 32
        })
        const maybe: number | undefined = undefined
        assert.deepStrictEqual(
          yield* Chunking.resolveOptions({ size: maybe, overlap: maybe, maxTokens: maybe }),
          Chunking.defaultOptions
        )
      })
  )

  it.effect("rejects other options with InvalidOption naming the option and the value", () =>
    Effect.gen(function* () {
      const cases: Array<[Chunking.ChunkOptions, string, string]> = [
        [{ size: 10, overlap: 10 }, "overlap", "10"],
        [{ size: 10, overlap: -1 }, "overlap", "-1"],
        [{ size: 12.5 }, "size", "12.5"],
        [{ overlap: 2.5 }, "overlap", "2.5"],
        [{ size: 0, overlap: 0 }, "size", "0"],
        [{ size: Number.NaN }, "size", "NaN"],
        [{ maxTokens: 31 }, "maxTokens", "31"],
        [{ maxTokens: Number.POSITIVE_INFINITY }, "maxTokens", "Infinity"]
      ]
      for (const [options, option, value] of cases) {
        const error = yield* Effect.flip(Chunking.chunkDocuments([{ sourceId: "d", text: "text" }], options))
        assert.strictEqual(error.reason._tag, "InvalidOption", JSON.stringify(options))
        if (error.reason._tag !== "InvalidOption") continue
        assert.strictEqual(error.reason.option, option, JSON.stringify(options))
        assert.strictEqual(error.reason.value, value, JSON.stringify(options))
      }
      const prefixed = yield* Effect.flip(Chunking.resolveOptions({ size: 5, overlap: 9 }, "chunking."))
      assert.strictEqual(
        prefixed.message,
        "chunking.overlap must be an integer ≥ 0 and less than size (5), got 9"
      )
    })
  )
})

/** A deterministic pseudo-random generator (a linear congruential one), so failures reproduce. */
const seeded = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}

/** Base64 of `bytes` pseudo-random bytes, on one line: one 'word' thousands of tokens long. */
const base64Line = (bytes: number, seed: number): string => {
  const next = seeded(seed)
  return Buffer.from(Array.from({ length: bytes }, () => Math.floor(next() * 256))).toString("base64")
}

/** Checks that chunks of a one-section document cover it in order, each a slice of it, with only whitespace between. */
const assertCovers = (text: string, chunks: ReadonlyArray<Chunking.Chunk>) => {
  let covered = 0
  for (const chunk of chunks) {
    const at = text.indexOf(chunk.text, Math.max(0, covered - chunk.text.length))
    assert.isAtLeast(at, 0, "each chunk is a slice of the document")
    assert.strictEqual(
      text.slice(covered, Math.max(covered, at)).trim(),
      "",
      "no text falls between two chunks"
    )
    covered = Math.max(covered, at + chunk.text.length)
  }
  assert.strictEqual(covered, text.trimEnd().length, "the chunks reach the end")
}

describe("Chunking by tokens", () => {
  it("cuts a line of base64 into chunks of at most maxTokens tokens that cover it", () => {
    const line = base64Line(6000, 3)
    assert.isAbove(countText(line), 4000, "the line alone is thousands of tokens")
    const text = `Attachment follows.\n\n${line}\n\nEnd of attachment.`
    const chunks = Chunking.chunkDocument({ sourceId: "mail.txt", text })
    assert.isAbove(chunks.length, 8)
    for (const chunk of chunks) assert.isAtMost(countText(chunk.text), Chunking.defaultOptions.maxTokens)
    assertCovers(text, chunks)
  })

  it("cuts a Chinese paragraph written without spaces into chunks that end at a sentence end and overlap", () => {
    const sentences = [
      "财务部门在周一的会议上确认了下一季度的预算。",
      "每个项目的支出上限已经写入系统，超过上限的申请会被自动拒绝。",
      "市场团队希望把更多的资金投入到线上渠道，因为去年的数据表明线上的转化率更高。",
      "研发团队则认为新产品的测试周期太短，需要额外的人手和设备。",
      "最后，管理层决定保留百分之十的资金作为应急储备！",
      "下一次评审会在月底举行，届时各部门需要提交详细的执行报告？"
    ]
    // Thirty numbered sentences in one paragraph: a single whitespace "word" of about 1,000 characters.
    const paragraph = Array.from(
      { length: 30 },
      (_, i) => `第${i + 1}条：${sentences[i % sentences.length]}`
    ).join("")
    const chunks = Chunking.chunkDocument(
      { sourceId: "budget.md", text: paragraph },
      { size: 180, overlap: 40, maxTokens: 200 }
    )
    assert.isAbove(chunks.length, 3)
    for (const chunk of chunks) {
      assert.isAtMost(countText(chunk.text), 200)
      assert.isAtLeast(countText(chunk.text), 100, "chunks are not cut needlessly small")
    }
    for (const chunk of chunks.slice(0, -1))
      assert.match(chunk.text, /[。！？]$/, "a chunk ends at a sentence end")
    for (let i = 1; i < chunks.length; i++) {
      const previous = chunks[i - 1]!.text
      const start = chunks[i]!.text.slice(0, 10)
      assert.include(previous, start, "consecutive chunks overlap")
    }
    assertCovers(paragraph, chunks)
  })

  it("leaves English prose to the word count: the default cap does not bind", () => {
    const sentences = [
      "The finance team confirmed the budget for the next quarter on Monday.",
      "Every project now has a spending cap recorded in the system.",
      "Requests above the cap are refused automatically, and the requester is told why.",
      "Marketing wants more of the money spent on online channels this year."
    ]
    // Sixty sentences in paragraphs of five.
    const text = Array.from(
      { length: 60 },
      (_, i) => `${sentences[i % sentences.length]}${i % 5 === 4 ? "\n\n" : " "}`
    )
      .join("")
      .trim()
    const withCap = Chunking.chunkDocument({ sourceId: "d", text })
    const withoutCap = Chunking.chunkDocument({ sourceId: "d", text }, byWords(180, 40))
    assert.isAbove(withCap.length, 1)
    assert.deepStrictEqual(withCap, withoutCap)
  })

  it("keeps every chunk within maxTokens, fenced code fenced, and covers the text, on seeded random documents", () => {
    const next = seeded(11)
    const pieces = ["word", "另一个句子。", "カタカナ", "x=1;", "end.", "ok"]
    for (let trial = 0; trial < 40; trial++) {
      const withFences = trial % 2 === 0
      const parts: Array<string> = []
      const n = 1 + Math.floor(next() * 300)
      for (let i = 0; i < n; i++) {
        const r = next()
        if (r < 0.05) parts.push(base64Line(50 + Math.floor(next() * 400), trial * 1000 + i))
        else if (r < 0.1) parts.push(next() < 0.5 ? "\n\n" : "\n")
        else if (r < 0.13 && withFences) parts.push("\n```\n")
        // Numbered, so every slice of the text is found at one place only.
        else parts.push(`${pieces[Math.floor(next() * pieces.length)]}${i}`)
      }
      const text = parts.join(next() < 0.5 ? " " : "")
      const size = 5 + Math.floor(next() * 200)
      const options = { size, overlap: Math.floor(next() * size), maxTokens: 32 + Math.floor(next() * 300) }
      const chunks = Chunking.chunkDocument({ sourceId: "d", text }, options)
      for (const chunk of chunks) {
        assert.isAtMost(countText(chunk.text), options.maxTokens, JSON.stringify(options))
        const fences = chunk.text.split("\n").filter((line) => line.startsWith("```")).length
        assert.strictEqual(fences % 2, 0, "fenced code stays fenced")
      }
      if (!withFences) assertCovers(text.trim(), chunks)
    }
  })
})

describe("Chunking.chunkDocuments", () => {
  it.effect("chunks as chunkDocument does, document by document", () =>
    Effect.gen(function* () {
      const documents = Array.from({ length: 600 }, (_, i) => ({
        sourceId: `doc${i}.md`,
        text: `# Note ${i}\n\n${numbered(50 + (i % 40))}`
      }))
      const chunks = yield* Chunking.chunkDocuments(documents, { size: 30, overlap: 5 })
      const resolved = yield* Chunking.resolveOptions({ size: 30, overlap: 5 })
      assert.deepStrictEqual(
        chunks,
        documents.flatMap((doc) => Chunking.chunkDocument(doc, resolved))
      )
    })
  )

  it.live("can be interrupted within 100 ms while it chunks a large corpus", () =>
    Effect.gen(function* () {
      // 5,000 documents of 400 words: about a second of chunking in one synchronous loop.
      const documents = Array.from({ length: 5_000 }, (_, i) => ({
        sourceId: `doc${i}.md`,
        text: numbered(400, (j) => (j % 9 === 8 ? `w${i + j}.` : `w${i + j}`))
      }))
      const fiber = yield* Effect.forkChild(Chunking.chunkDocuments(documents))
      yield* Effect.sleep("20 millis")
      const started = performance.now()
      const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
      const took = performance.now() - started
      assert.isTrue(Exit.hasInterrupts(exit), "the chunking was interrupted, not finished")
      assert.isBelow(took, 100)
    })
  )
})

describe("Chunking fenced code", () => {
  it("a chunk that starts or ends inside a fenced block reopens or closes the fence", () => {
    const code = Array.from({ length: 40 }, (_, i) => `line ${i} of sample output`).join("\n")
    const text = `Some prose before the sample.\n\n\`\`\`\n${code}\n\`\`\`\n\nProse after it.`
    const chunks = Chunking.chunkDocument({ sourceId: "doc.md", text }, byWords(60, 10))
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

describe("Chunking's word scan", () => {
  it("splits words at exactly the characters a regular expression's \\s matches, every UTF-16 code unit", () => {
    const oneWordEach = byWords(1, 0)
    for (let code = 0; code <= 0xffff; code++) {
      const char = String.fromCharCode(code)
      const texts = Chunking.chunkDocument({ sourceId: "d", text: `a${char}b` }, oneWordEach).map(
        (c) => c.text
      )
      assert.deepStrictEqual(texts, /\s/.test(char) ? ["a", "b"] : [`a${char}b`], `U+${code.toString(16)}`)
    }
  })

  it("keeps every chunk under the token cap across thousands of distinct words, and chunks alike the second time", () => {
    // More distinct words than the remembered counts' first table holds, so it grows while chunking.
    const text = numbered(
      12_000,
      (i) => `${i % 7 === 0 ? "\n\n" : ""}term${i.toString(36)}x${(i * 7919).toString(36)}.`
    )
    const options: Chunking.ResolvedChunkOptions = { size: 180, overlap: 40, maxTokens: 120 }
    const first = Chunking.chunkDocument({ sourceId: "d", text }, options)
    for (const chunk of first) assert.isAtMost(countText(chunk.text), 120, chunk.id)
    assert.deepStrictEqual(Chunking.chunkDocument({ sourceId: "d", text }, options), first)
  })
})

/** Half of a surrogate pair without its other half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

describe("Chunking a word cut by characters", () => {
  it("never cuts inside a surrogate pair, whatever the token cap", () => {
    // One "word" of astral characters (each a surrogate pair, several tokens each) with
    // odd-length runs of BMP letters between, so cuts land at both parities.
    const astral = [..."𝑥🧵😀𓀀"]
    const word = Array.from({ length: 400 }, (_, i) => `${astral[i % 4]}${"a".repeat(i % 3)}${i}`).join("")
    const text = `Before.\n\n${word}\n\nAfter.`
    for (const maxTokens of [8, 9, 13, 20, 33]) {
      const chunks = Chunking.chunkDocument({ sourceId: "d", text }, { size: 40, overlap: 5, maxTokens })
      assert.isAbove(chunks.length, 3, `maxTokens ${maxTokens}`)
      for (const chunk of chunks) {
        assert.notMatch(chunk.text, LONE_SURROGATE, `${chunk.id} at maxTokens ${maxTokens}`)
        assert.isAtMost(countText(chunk.text), maxTokens, chunk.id)
      }
      // Below that, a chunk of one digit is not located unambiguously by its text.
      if (maxTokens >= 13) assertCovers(text, chunks)
    }
  })
})

describe("Chunking's break scan", () => {
  // The patterns the scan by character codes replaced: a break's kind must be what they said.
  const SENTENCE_FINAL = /[.!?。！？]["'”’)\]）」』]*$/
  const BLANK_LINE = /\n[ \t]*\n/
  const units = [
    "",
    ".",
    "!",
    "?",
    "。",
    "！",
    "？",
    ",",
    ";",
    ":",
    "，",
    "、",
    "；",
    "：",
    "a.b",
    ".a",
    ..."\"'”’)]）」』"
  ].flatMap((mark) => [mark, `${mark}”`, `${mark}")`, `${mark}」』`, `${mark}”x`])
  const gaps = [
    " ",
    "  ",
    "\t",
    "\n",
    " \n ",
    "\n\n",
    "\n \t\n",
    "\n\t \n ",
    "\r\n",
    "\r\n\r\n",
    "\n\r\n",
    "\n x\n",
    "\u00a0\n\u2028\n"
  ]

  /** The gap as the chunker sees it: its lines are split at a newline or a CR LF. */
  const asRead = (gap: string) => gap.replace(/\r\n/g, "\n")

  /** The last word of the first 8-word chunk of w0 … w11, w5 ending with `unit` then `gap`, w6 with `next`. */
  const firstEnd = (unit: string, gap: string, next: string): string => {
    const text = Array.from({ length: 12 }, (_, i) =>
      i === 5 ? `w5${unit}${gap}` : i === 6 ? `w6${next}` : `w${i} `
    ).join("")
    const [first] = Chunking.chunkDocument({ sourceId: "d", text }, byWords(8, 0))
    const last = words(first!.text).at(-1)!
    return last.startsWith("w5") ? "w5" : last.startsWith("w6") ? "w6" : last
  }

  it("ranks a paragraph end above a sentence end after it, as a blank line (newline, spaces or tabs, newline)", () => {
    for (const unit of units)
      for (const gap of gaps) {
        const expected = BLANK_LINE.test(asRead(gap)) ? "w5" : "w6"
        assert.strictEqual(firstEnd(unit, gap, ". "), expected, JSON.stringify([unit, gap]))
      }
  })

  it("ranks a sentence end (a mark, then closing quotes and brackets) above a line end after it", () => {
    for (const unit of units)
      for (const gap of gaps) {
        const expected = BLANK_LINE.test(asRead(gap)) || SENTENCE_FINAL.test(`w5${unit}`) ? "w5" : "w6"
        assert.strictEqual(firstEnd(unit, gap, "\n"), expected, JSON.stringify([unit, gap]))
      }
  })
})

describe("Chunking with the tokens option", () => {
  const sentences = [
    "The finance team confirmed the budget for the next quarter on Monday.",
    "Every project now has a spending cap recorded in the system.",
    "Requests above the cap are refused automatically, and the requester is told why.",
    "Marketing wants more of the money spent on online channels this year."
  ]
  const text = `# Budget\n\n${Array.from({ length: 80 }, (_, i) => sentences[i % sentences.length]).join(" ")}`

  it.effect("sizes chunks by tokens, keeps the heading as title, and overlaps consecutive chunks", () =>
    Effect.gen(function* () {
      const options = yield* Chunking.resolveOptions({ tokens: 100 })
      assert.deepStrictEqual(options, { size: 100, overlap: 22, maxTokens: 100 })
      const chunks = Chunking.chunkDocument({ sourceId: "budget.md", text }, options)
      assert.isAbove(chunks.length, 5)
      for (const chunk of chunks) {
        const tokens = countText(chunk.text)
        assert.isAtMost(tokens, 100)
        // The token cap decides, not the word count: chunks are filled close to it.
        if (chunk !== chunks.at(-1)) assert.isAtLeast(tokens, 50)
        assert.strictEqual(chunk.title, "Budget")
      }
      for (let i = 1; i < chunks.length; i++) {
        const previous = words(chunks[i - 1]!.text)
        const current = words(chunks[i]!.text)
        // The next chunk starts with words the previous one ended with.
        const shared = previous.slice(previous.length - 40).join(" ")
        assert.include(shared, current.slice(0, 3).join(" "), `chunk ${i} overlaps chunk ${i - 1}`)
      }
    })
  )

  it.effect("rejects a tokens option below 32 or contradicting maxTokens", () =>
    Effect.gen(function* () {
      const small = yield* Effect.flip(Chunking.resolveOptions({ tokens: 10 }))
      assert.match(small.message, /tokens/)
      const both = yield* Effect.flip(Chunking.resolveOptions({ tokens: 100, maxTokens: 200 }))
      assert.match(both.message, /maxTokens/)
    })
  )

  it("finds a markdown document's first heading, outside code fences", () => {
    assert.strictEqual(
      Chunking.firstHeading("intro\n```\n# not a heading\n```\n## Real title ##\n# Later"),
      "Real title"
    )
    assert.strictEqual(Chunking.firstHeading("no heading here\n#hashtag"), undefined)
  })
})
