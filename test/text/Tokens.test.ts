/**
 * Token counting: Weft's own o200k table gives exactly js-tiktoken's token ids
 * (the reference) on prose, code, JSON and adversarial strings; its build can
 * be interrupted and resumed; special-token markers are plain text; a
 * request's estimate includes its tool definitions and response-format
 * schema; `Tokens.layer` provides effect/ai's Tokenizer.
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schema } from "effect"
import { type LanguageModel, Prompt, Tokenizer, Tool, Toolkit } from "effect/ai"
import { Tiktoken } from "js-tiktoken/lite"
import o200kBase from "js-tiktoken/ranks/o200k_base"
import * as Tokens from "../../src/text/Tokens.ts"
import { random, range } from "../fixtures/seeded.ts"

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..")

let referenceEncoding: Tiktoken | undefined
/** js-tiktoken's encoder, the reference (its tables take a second to load: once per file). */
const reference = (): Tiktoken => {
  referenceEncoding ??= new Tiktoken(o200kBase)
  return referenceEncoding
}

/** Strings chosen to break a tokenizer: every script, odd case, long runs, broken UTF-16. */
const adversarial = (): Array<string> => {
  const next = random(2026)
  const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)] as A
  const fill = (length: number, piece: () => string): string => {
    let out = ""
    while (out.length < length) out += piece()
    return out
  }
  const letters = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"]
  const pieces: Array<() => string> = [
    () => pick(letters),
    () => pick([..."bcdfghjklmnpqrstvwxz"]), // consonants only
    () => pick([..."abcdefghijklmnopqrstuvwxyz"]) + pick([..."ABCDEFGHIJKLMNOPQRSTUVWXYZ"]),
    () => pick([..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="]),
    () => pick([..."0123456789"]) + pick(["", "", " ", ",", "."]),
    () => pick([..."!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"]),
    () => pick([" ", "\t", "\n", "\r\n", "   ", "\n\n\n", " \n"]),
    () => String.fromCharCode(Math.floor(next() * 128)),
    () => String.fromCodePoint(0x4e00 + Math.floor(next() * 0x51ff)),
    () => String.fromCodePoint(0x20000 + Math.floor(next() * 0xa6df)),
    () => pick([...range(0x1f300, 0x1f64f), "👩‍👩‍👧‍👦", "🇺🇳", "👍🏿", "❤️‍🔥"]),
    () =>
      pick([...range(0x410, 0x44f), ...range(0x5d0, 0x5ea), ...range(0x621, 0x64a), ...range(0x905, 0x939)]),
    () => pick([..."aeiou"]) + pick(range(0x300, 0x36f)) + pick(range(0x300, 0x36f)),
    () => pick(["\ud800", "\udfff", "\udc00\ud800", "x"]), // lone and reversed surrogates
    () => pick(["'s", "'LL", "'ve", "''", "’s", "n't"]),
    () => pick(["<|endoftext|>", "<|endofprompt|>", "<|fim_prefix|>", "<|im_start|>"])
  ]
  const out: Array<string> = ["", " ", "a", "\n", "  \n", "\ufeff", "\u0000"]
  for (const piece of pieces) {
    for (let i = 0; i < 6; i++) out.push(fill(1 + Math.floor(next() * 150), piece))
  }
  // Mixtures: every kind in one string.
  for (let i = 0; i < 20; i++) out.push(fill(400, () => pick(pieces)()))
  // Long runs (js-tiktoken, the reference, is quadratic in a piece's length: kept to hundreds).
  out.push("x".repeat(400), "ab".repeat(200), " ".repeat(1_000), "9".repeat(1_000))
  return out
}

/** Real text: Weft's docs and sources (prose, Markdown, TypeScript, JSON). */
const realText = (): Array<string> => {
  const files = [
    ...readdirSync(join(root, "docs"))
      .filter((name) => name.endsWith(".md"))
      .map((name) => join(root, "docs", name)),
    join(root, "src", "text", "Tokens.ts"),
    join(root, "package.json")
  ]
  return files.map((file) => readFileSync(file, "utf8"))
}

describe("Tokens", () => {
  // First, while this file's table is still unbuilt.
  it.effect("warm builds the table a slice at a time: an interrupted build resumes and stays exact", () =>
    Effect.gen(function* () {
      assert.isFalse(Tokens.isWarm())
      const fiber = yield* Effect.forkChild(Tokens.warm)
      yield* Effect.yieldNow
      assert.isFalse(Tokens.isWarm(), "warm yields between slices")
      yield* Fiber.interrupt(fiber)
      assert.isFalse(Tokens.isWarm(), "an interrupted warm leaves the table unfinished")
      // The next count finishes the build where warm stopped.
      const text = "Budgets are reserved before a call and settled after it."
      assert.deepStrictEqual(Tokens.encode(text), reference().encode(text, [], []))
      assert.isTrue(Tokens.isWarm())
      yield* Tokens.warm // a no-op once built
    })
  )

  it("counts exactly what js-tiktoken's o200k_base encodes, on real and adversarial text", {
    timeout: 120_000
  }, () => {
    const texts = [...realText(), ...adversarial()]
    for (const text of texts) {
      const expected = reference().encode(text, [], [])
      assert.deepStrictEqual(Tokens.encode(text), expected, JSON.stringify(text.slice(0, 60)))
      assert.strictEqual(Tokens.countText(text), expected.length, JSON.stringify(text.slice(0, 60)))
      // Counted again: from the caches now, the same figure.
      assert.strictEqual(Tokens.countText(text), expected.length)
    }
  })

  it("holds every token of the rank list, whichever slice of the file it was read in", {
    timeout: 120_000
  }, () => {
    // The table is read from js-tiktoken's file 64 KB at a time, so tokens are cut by every
    // slice's end: each token that is a text of its own, which js-tiktoken encodes to that
    // token alone, must come out as the same id here.
    const encoding = reference()
    let checked = 0
    for (let rank = 0; rank < 200_000; rank++) {
      let text: string
      try {
        text = encoding.decode([rank])
      } catch {
        continue // a gap in the ranks
      }
      const expected = encoding.encode(text, [], [])
      if (expected.length !== 1 || expected[0] !== rank) continue
      checked++
      assert.deepStrictEqual(Tokens.encode(text), expected, `rank ${rank}`)
    }
    assert.isAbove(checked, 150_000)
  })

  it("splits ASCII exactly as the encoding's pattern does, at every boundary with non-ASCII text", () => {
    // Short strings over the characters the split rules turn on: case, apostrophes and
    // contractions, digits, each kind of whitespace, slashes, controls; then with a
    // non-ASCII letter or space (U+00A0 is whitespace to the pattern) around them.
    const next = random(17)
    const alphabet = [..."aZ'sStTrReEvVlLmMdD0123456789 \t\n\r\v\f.,/!-_(\u0000\u007f"]
    const reference_ = reference()
    for (let i = 0; i < 3_000; i++) {
      let text = ""
      const length = 1 + Math.floor(next() * 24)
      for (let j = 0; j < length; j++) text += alphabet[Math.floor(next() * alphabet.length)]
      for (const variant of [text, `${text}é`, `é${text}\u00a0${text}`, `${text}\u2028`]) {
        assert.strictEqual(
          Tokens.countText(variant),
          reference_.encode(variant, [], []).length,
          JSON.stringify(variant)
        )
      }
    }
  })

  it("splits the punctuation beyond ASCII it reads itself (dashes, quotes, ›, arrows, operators, box drawing) exactly as the pattern does", () => {
    const reference_ = reference()
    const punctuation = [
      ...range(0xa1, 0xbf),
      "\u00d7",
      "\u00f7",
      ...range(0x2010, 0x205e),
      ...range(0x2190, 0x22ff),
      ...range(0x2500, 0x25ff),
      // Around those ranges, read by the pattern: not punctuation, or not all of them.
      ...range(0x2000, 0x200f),
      ...range(0x2028, 0x202f),
      ...range(0x205f, 0x2070),
      "\u00a0",
      "\u00c0",
      "\u00d6",
      "\u00d8"
    ]
    for (const c of punctuation) {
      for (const text of [
        c,
        `${c}word`,
        `${c}Word's`,
        ` ${c}${c}\n\n`,
        `a${c}b`,
        `x${c}/\n`,
        `\t${c}Title`,
        `${c} 12`,
        `${c}é`,
        `é${c}`,
        `1${c}2`,
        `${c}\u0301a`,
        `# Leave › How much ${c} days`,
        `${c} word`,
        `a ${c}`,
        `a  ${c}x`,
        `${c}  x`,
        `${c}\n x`
      ]) {
        assert.deepStrictEqual(Tokens.encode(text), reference_.encode(text, [], []), JSON.stringify(text))
      }
    }
    // Random mixes of them with the characters the split rules turn on.
    const next = random(29)
    const alphabet = [
      ..."aZ'sStT0123 \t\n.,/-",
      "—",
      "’",
      "…",
      "›",
      "≈",
      "→",
      "█",
      "×",
      "«",
      "\u00a0",
      "é",
      "µ"
    ]
    for (let i = 0; i < 3_000; i++) {
      let text = ""
      const length = 1 + Math.floor(next() * 24)
      for (let j = 0; j < length; j++) text += alphabet[Math.floor(next() * alphabet.length)]
      assert.deepStrictEqual(Tokens.encode(text), reference_.encode(text, [], []), JSON.stringify(text))
    }
  })

  it("encodes special-token markers in text as plain text, never as control tokens", () => {
    const endOfText = o200kBase.special_tokens["<|endoftext|>"] as number
    const endOfPrompt = o200kBase.special_tokens["<|endofprompt|>"] as number
    const text = "ignore this <|endoftext|> and this <|endofprompt|>"
    const ids = Tokens.encode(text)
    assert.isFalse(ids.includes(endOfText))
    assert.isFalse(ids.includes(endOfPrompt))
    assert.isAbove(Tokens.countText("<|endoftext|>"), 1)
  })

  it("counts a prompt as its messages' text plus the per-message overhead", () => {
    const prompt = Prompt.make([
      { role: "system", content: "Answer from the passages." },
      { role: "user", content: [{ type: "text", text: "What does a budget limit?" }] }
    ])
    const expected =
      Tokens.countText("Answer from the passages.") +
      Tokens.countText("What does a budget limit?") +
      2 * Tokens.MESSAGE_OVERHEAD_TOKENS
    assert.strictEqual(Tokens.countPrompt(prompt), expected)
    assert.strictEqual(Tokens.estimateRequest({ prompt }), expected)
    assert.strictEqual(
      Tokens.estimateRequest({ prompt: "What does a budget limit?" }),
      Tokens.countPrompt(Prompt.make("What does a budget limit?"))
    )
  })

  it("counts encoded messages as given exactly as the Prompt they decode to", () => {
    const encoded: ReadonlyArray<Prompt.MessageEncoded> = [
      { role: "system", content: "You search before you answer." },
      { role: "user", content: [{ type: "text", text: "When was the budget last exceeded?" }] },
      {
        role: "assistant",
        content: [
          { type: "reasoning", text: "I should search." },
          { type: "tool-call", id: "call_1", name: "search_documents", params: { query: "budget exceeded" } }
        ]
      },
      {
        role: "tool",
        content: [
          {
            type: "tool-result",
            id: "call_1",
            name: "search_documents",
            isFailure: false,
            result: ["On 3 May the run stopped at 5,000 tokens."]
          }
        ]
      }
    ]
    const decoded = Prompt.make(encoded)
    assert.strictEqual(Tokens.estimateRequest({ prompt: encoded }), Tokens.countPrompt(decoded))
    assert.strictEqual(Tokens.estimateRequest({ prompt: decoded }), Tokens.countPrompt(decoded))
    assert.isAbove(Tokens.countPrompt(decoded), Tokens.countText("On 3 May the run stopped at 5,000 tokens."))
  })

  const Search = Tool.make("search_documents", {
    description: "Search the indexed documents for passages relevant to a query.",
    parameters: Schema.Struct({
      query: Schema.String,
      topK: Schema.optional(Schema.Number),
      sources: Schema.optional(Schema.Array(Schema.String))
    }),
    success: Schema.Array(Schema.String)
  })
  const Clock = Tool.make("current_time", { description: "The current time." })

  it("tool definitions raise the estimate by their name, description and parameter schema", () => {
    const prompt = "Find the passages about budgets."
    const bare = Tokens.estimateRequest({ prompt })
    const withSearch = Tokens.estimateRequest({ prompt, tools: [Search] })
    const schemaTokens = Tokens.countText(JSON.stringify(Tool.getJsonSchema(Search)))
    assert.strictEqual(
      withSearch - bare,
      Tokens.countText("search_documents") +
        Tokens.countText(Search.description ?? "") +
        schemaTokens +
        Tokens.TOOL_OVERHEAD_TOKENS
    )
    assert.isAbove(schemaTokens, 20, "the parameter schema is counted, not just the name")
    // A toolkit's record counts the same as the list, and each tool adds its own.
    const toolkit = Toolkit.make(Search, Clock)
    const withBoth = Tokens.estimateRequest({ prompt, tools: toolkit.tools })
    assert.strictEqual(withBoth, Tokens.estimateRequest({ prompt, tools: [Search, Clock] }))
    assert.strictEqual(withBoth - withSearch, Tokens.countTool(Clock))
    assert.isAbove(Tokens.countTool(Clock), Tokens.TOOL_OVERHEAD_TOKENS)
  })

  it("a response-format schema raises the estimate, the bigger schema by more", () => {
    const prompt = "Extract the claim."
    const Small = Schema.Struct({ answer: Schema.String })
    const Large = Schema.Struct({
      answer: Schema.String,
      citations: Schema.Array(
        Schema.Struct({ source: Schema.String, sentence: Schema.String, score: Schema.Number })
      ),
      confidence: Schema.Literals(["low", "medium", "high"])
    })
    const bare = Tokens.estimateRequest({ prompt })
    const small = Tokens.estimateRequest({
      prompt,
      responseFormat: { type: "json", objectName: "claim", schema: Small }
    })
    const large = Tokens.estimateRequest({
      prompt,
      responseFormat: { type: "json", objectName: "claim", schema: Large }
    })
    assert.isAbove(small, bare)
    assert.isAbove(large, small + 20)
    assert.strictEqual(
      small - bare,
      Tokens.countText("claim") +
        Tokens.countText(JSON.stringify(Tool.getJsonSchemaFromSchema(Small))) +
        Tokens.RESPONSE_FORMAT_OVERHEAD_TOKENS
    )
    // A bare schema works too; a text response format costs nothing.
    assert.strictEqual(
      Tokens.estimateRequest({ prompt, responseFormat: Small }),
      small - Tokens.countText("claim")
    )
    assert.strictEqual(Tokens.estimateRequest({ prompt, responseFormat: { type: "text" } }), bare)
  })

  it("takes a provider's options as they are (what a metering decorator on a provider layer sees)", () => {
    // Compiles only while effect/ai's ProviderOptions fit estimateRequest's Request.
    const estimateProviderCall: (options: LanguageModel.ProviderOptions) => number = Tokens.estimateRequest
    const options = {
      prompt: Prompt.make("Extract the claim."),
      tools: [Search],
      responseFormat: { type: "json", objectName: "claim", schema: Schema.Struct({ answer: Schema.String }) }
    } as const
    assert.strictEqual(
      estimateProviderCall(options as unknown as LanguageModel.ProviderOptions),
      Tokens.countPrompt(options.prompt) +
        Tokens.countTool(Search) +
        Tokens.countText("claim") +
        Tokens.countSchema(options.responseFormat.schema) +
        Tokens.RESPONSE_FORMAT_OVERHEAD_TOKENS
    )
  })

  it.effect("Tokens.layer provides effect/ai's Tokenizer with the same token ids", () =>
    Effect.gen(function* () {
      const tokenizer = yield* Tokenizer.Tokenizer
      const text = "Reserve before the call; settle after it."
      assert.deepStrictEqual(yield* tokenizer.tokenize(text), Tokens.encode(text))
      const long = Prompt.make([
        { role: "user", content: "an old message that will be dropped ".repeat(20) },
        { role: "user", content: "the newest message" }
      ])
      const truncated = yield* tokenizer.truncate(long, 10)
      assert.strictEqual(truncated.content.length, 1)
      assert.strictEqual(Tokens.messageText(truncated.content[0] as Prompt.Message), "the newest message")
    }).pipe(Effect.provide(Tokens.layer))
  )
})

describe("cutToTokens", () => {
  it.effect("keeps the longest prefix of whole words within the budget; the text itself when it fits", () =>
    Effect.gen(function* () {
      yield* Tokens.warm
      const text = "Budgets are checked before each call and settled after it with the usage reported."
      assert.strictEqual(Tokens.cutToTokens(text, 1_000), text)
      for (const budget of [1, 3, 5, 8, 12]) {
        const cut = Tokens.cutToTokens(text, budget)
        assert.isAtMost(Tokens.countText(cut), budget)
        assert.isTrue(text.startsWith(cut))
        // Whole words: one more word would not fit.
        const next = text.slice(
          0,
          text.indexOf(" ", cut.length + 1) === -1 ? text.length : text.indexOf(" ", cut.length + 1)
        )
        if (cut.length > 0 && cut !== text && /\s/.test(text[cut.length] ?? ""))
          assert.isAbove(Tokens.countText(next), budget)
      }
      // Not even one word fits: cut inside it.
      const long = "Supercalifragilisticexpialidocious"
      const inside = Tokens.cutToTokens(long, 2)
      assert.isTrue(long.startsWith(inside) && inside.length > 0 && inside.length < long.length)
      assert.isAtMost(Tokens.countText(inside), 2)
    })
  )
})
