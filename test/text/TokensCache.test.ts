/**
 * The tokenizer's table kept between processes (`WEFT_TOKENIZER_CACHE`): the
 * first build writes it, a later process reads it back without reading the
 * rank list, and encodes exactly as js-tiktoken either way; a damaged file,
 * or one kept for another rank file, is rebuilt and replaced; a folder that
 * cannot be written changes nothing but the time it takes. Each case loads
 * Tokens afresh, as a new process would.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { Tiktoken } from "js-tiktoken/lite"
import o200kBase from "js-tiktoken/ranks/o200k_base"
import { afterEach, assert, describe, it, vi } from "vitest"

const reads = vi.hoisted(() => ({ slices: 0 }))

vi.mock("node:fs", async (importOriginal) => {
  const { withWatchedReadSync } = await import("../support/readSync.ts")
  // The rank list is read in slices past its head (position 0): count them.
  return withWatchedReadSync(await importOriginal<typeof import("node:fs")>(), (position) => {
    if (position > 0) reads.slices++
    return undefined
  })
})

const texts = [
  "Budgets are checked before each call and settled after it with the usage reported.",
  "Ünïcödé, 東京の天気は晴れです, emoji 🧵🪡 and code: const x = `y` + 1;\n\n\tdone",
  "   spaces   and\r\nnewlines\n\n\nand 1234567 digits, don't we'll THEY'RE"
]
const reference = new Tiktoken(o200kBase)

/** Tokens as a new process loads it, with the table kept in `folder` (or nowhere). */
const fresh = async (folder: string | undefined) => {
  vi.resetModules()
  reads.slices = 0
  if (folder === undefined) delete process.env.WEFT_TOKENIZER_CACHE
  else process.env.WEFT_TOKENIZER_CACHE = folder
  return await import("../../src/text/Tokens.ts")
}

const encodesAsTiktoken = (Tokens: Awaited<ReturnType<typeof fresh>>) => {
  for (const text of texts) {
    assert.deepStrictEqual(Tokens.encode(text), reference.encode(text, [], []), text)
    assert.strictEqual(Tokens.countText(text), reference.encode(text, [], []).length)
  }
}

const TABLE = "o200k_base.table"

describe("the tokenizer's kept table", () => {
  afterEach(() => {
    delete process.env.WEFT_TOKENIZER_CACHE
  })

  it("is written by the first build and read back by a later process, by a count or by warm", {
    timeout: 60_000
  }, async () => {
    const folder = join(mkdtempSync(join(tmpdir(), "weft-tokens-")), "cache")
    const built = await fresh(folder)
    encodesAsTiktoken(built)
    assert.isAbove(reads.slices, 10, "the first process reads the rank list")
    assert.deepStrictEqual(readdirSync(folder), [TABLE])
    const kept = readFileSync(join(folder, TABLE))

    const counting = await fresh(folder)
    encodesAsTiktoken(counting)
    assert.strictEqual(reads.slices, 0, "a later process reads the kept table instead")

    const warming = await fresh(folder)
    await Effect.runPromise(warming.warm)
    assert.isTrue(warming.isWarm())
    encodesAsTiktoken(warming)
    assert.strictEqual(reads.slices, 0)
    assert.deepStrictEqual(readFileSync(join(folder, TABLE)), kept, "reading it back leaves it as it was")
  })

  it("is rebuilt and replaced when damaged, cut short, or kept for another rank file", {
    timeout: 60_000
  }, async () => {
    const folder = mkdtempSync(join(tmpdir(), "weft-tokens-"))
    encodesAsTiktoken(await fresh(folder))
    const kept = readFileSync(join(folder, TABLE))
    const headerLength = kept.readUInt32LE(0)
    const header = kept.toString("utf8", 4, 4 + headerLength)
    const flipped = Buffer.from(kept)
    flipped[kept.length - 1000] = (flipped[kept.length - 1000] ?? 0) ^ 0xff
    const otherList = Buffer.from(kept)
    // Same length, another rank file's stamp: the header names the list it was built from.
    const of = /"of":"([^"]+)"/.exec(header)?.[1] ?? ""
    otherList.write(
      of.replace(/\d(?=[^\d]*$)/, (d) => String((Number(d) + 1) % 10)),
      4 + header.indexOf(of)
    )
    const damaged = [flipped, kept.subarray(0, kept.length - 4), otherList, Buffer.from("not a table")]
    for (const content of damaged) {
      writeFileSync(join(folder, TABLE), content)
      const Tokens = await fresh(folder)
      encodesAsTiktoken(Tokens)
      assert.isAbove(reads.slices, 10, "the rank list is read again")
      assert.deepStrictEqual(readFileSync(join(folder, TABLE)), kept, "and the file replaced")
    }
    assert.deepStrictEqual(readdirSync(folder), [TABLE], "no temporary file is left behind")
  })

  it("changes nothing but the time it takes when the folder cannot be written, or none is set", {
    timeout: 60_000
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-tokens-"))
    writeFileSync(join(dir, "a-file"), "")
    encodesAsTiktoken(await fresh(join(dir, "a-file", "cache")))
    encodesAsTiktoken(await fresh(undefined))
    assert.deepStrictEqual(readdirSync(dir), ["a-file"])
  })
})
