/**
 * Token counting shared by every Weft component.
 *
 * Counts use the `o200k_base` BPE encoding (js-tiktoken, the tokenizer of the
 * GPT-4o family). For other models it is an estimate, close enough to reserve a
 * budget before a call; the provider's reported usage settles the real figure.
 * A prompt costs its text tokens plus a documented per-message overhead
 * (`MESSAGE_OVERHEAD_TOKENS`), as in OpenAI's chat format.
 */
import { Effect } from "effect"
import { type Prompt, Tokenizer } from "effect/ai"
import { Tiktoken } from "js-tiktoken/lite"
import o200kBase from "js-tiktoken/ranks/o200k_base"

/** Tokens a chat message costs beyond its text (role markers and separators). */
export const MESSAGE_OVERHEAD_TOKENS = 4

let encoding: Tiktoken | undefined
const encoder = (): Tiktoken => {
  encoding ??= new Tiktoken(o200kBase)
  return encoding
}

// The encoding splits text with its own pattern and encodes each piece on its
// own, so a text's count is the sum of its pieces' counts. Natural text repeats
// its pieces (words with their leading space) all the time: caching each
// piece's count makes counting a long prompt a few map lookups per word
// instead of a byte-pair merge per word, with exactly the same result.
const piecePattern = new RegExp(o200kBase.pat_str, "gu")
const pieceCounts = new Map<string, number>()
const MAX_CACHED_PIECES = 200_000

/**
 * Loads the encoding's tables (≈0.4 s, once per process). Providers do it
 * when they are built, so the first call is not the one that pays.
 */
export const warm: Effect.Effect<void> = Effect.sync(() => {
  encoder()
})

/**
 * The token ids of a text. Special-token markers in the text (`<|endoftext|>`)
 * are encoded as plain text, never as control tokens.
 */
export const encode = (text: string): Array<number> => encoder().encode(text, [], [])

/** How many tokens a text is (the length `encode` would give). */
export const countText = (text: string): number => {
  if (text.length === 0) return 0
  const enc = encoder()
  let total = 0
  piecePattern.lastIndex = 0
  for (let match = piecePattern.exec(text); match !== null; match = piecePattern.exec(text)) {
    const piece = match[0]
    let count = pieceCounts.get(piece)
    if (count === undefined) {
      count = enc.encode(piece, [], []).length
      if (pieceCounts.size >= MAX_CACHED_PIECES) pieceCounts.clear()
      pieceCounts.set(piece, count)
    }
    total += count
  }
  return total
}

/** The text a prompt message carries (text, reasoning, tool parameters and results). */
export const messageText = (message: Prompt.Message): string => {
  if (typeof message.content === "string") return message.content
  let text = ""
  for (const part of message.content) {
    switch (part.type) {
      case "text":
      case "reasoning":
        text += part.text
        break
      case "tool-call":
        text += part.name + JSON.stringify(part.params)
        break
      case "tool-result":
        text += JSON.stringify(part.result)
        break
      default:
        break
    }
  }
  return text
}

/** How many tokens a prompt is: its messages' text plus the per-message overhead. */
export const countPrompt = (prompt: Prompt.Prompt): number => {
  let total = 0
  for (const message of prompt.content) total += countText(messageText(message)) + MESSAGE_OVERHEAD_TOKENS
  return total
}

/** `effect/ai` Tokenizer backed by the same encoding, for `Tokenizer.truncate` and friends. */
export const tokenizer: Tokenizer.Service = Tokenizer.make({
  tokenize: (prompt) =>
    Effect.sync(() => {
      const ids: Array<number> = []
      for (const message of prompt.content) {
        for (const id of encode(messageText(message))) ids.push(id)
      }
      return ids
    })
})
