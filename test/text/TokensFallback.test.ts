/**
 * Tokens' fallback to js-tiktoken's module: when the rank file's head is not
 * the shape it is read for, or the file ends inside the rank list (a slice
 * read comes back empty), the table is built from the module's exports
 * instead, and encodes exactly as js-tiktoken does.
 */
import { assert, beforeEach, describe, it, vi } from "vitest"
import { Tiktoken } from "js-tiktoken/lite"
import o200kBase from "js-tiktoken/ranks/o200k_base"

const fs = vi.hoisted(() => ({ mode: "file" as "file" | "no-head" | "cut", emptyReads: 0 }))

vi.mock("node:fs", async (importOriginal) => {
  const { withWatchedReadSync } = await import("../support/readSync.ts")
  return withWatchedReadSync(await importOriginal<typeof import("node:fs")>(), (position) => {
    if ((fs.mode === "no-head" && position === 0) || (fs.mode === "cut" && position > 1_000_000)) {
      fs.emptyReads++
      return 0
    }
    return undefined
  })
})

const texts = [
  "Budgets are checked before each call and settled after it with the usage reported.",
  "Ünïcödé, 東京の天気は晴れです, emoji 🧵🪡 and code: const x = `y` + 1;\n\n\tdone",
  "   spaces   and\r\nnewlines\n\n\nand 1234567 digits, don't we'll THEY'RE"
]

const fresh = async () => {
  vi.resetModules()
  fs.emptyReads = 0
  return await import("../../src/text/Tokens.ts")
}

describe("Tokens' module fallback", () => {
  const reference = new Tiktoken(o200kBase)
  beforeEach(() => {
    fs.mode = "file"
  })

  for (const mode of ["no-head", "cut"] as const) {
    it(`encodes as js-tiktoken when ${mode === "no-head" ? "the file's head cannot be read" : "the file ends inside the list"}`, {
      timeout: 60_000
    }, async () => {
      fs.mode = mode
      const Tokens = await fresh()
      for (const text of texts) {
        assert.deepStrictEqual(Tokens.encode(text), reference.encode(text, [], []), text)
        assert.strictEqual(Tokens.countText(text), reference.encode(text, [], []).length)
      }
      assert.isAbove(fs.emptyReads, 0, "the fallback was taken")
      assert.isTrue(Tokens.isWarm())
    })
  }

  it("reads the file itself when it has the expected shape", { timeout: 60_000 }, async () => {
    const Tokens = await fresh()
    for (const text of texts)
      assert.deepStrictEqual(Tokens.encode(text), reference.encode(text, [], []), text)
    assert.strictEqual(fs.emptyReads, 0)
  })
})
