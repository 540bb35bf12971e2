/**
 * The sample outputs in the docs come from real runs: each block marked
 * `<!-- output: <command> -->` matches what the command prints now, times and
 * timeline bars aside (`npm run docs:output` regenerates them). A doc change
 * that changes what the flagship prints — its passage counts, its answer, its
 * citations — fails here until the samples are regenerated.
 */
import { assert, describe, it } from "@effect/vitest"
import { blocks, stable } from "../../scripts/docs-output.ts"

describe("docs sample outputs", () => {
  it("every marked block matches a fresh run of its command", { timeout: 300_000 }, () => {
    const found = blocks()
    assert.isAtLeast(found.length, 3)
    for (const block of found) {
      assert.isTrue(block.committed.startsWith(`$ ${block.command}\n`), block.command)
      assert.strictEqual(
        stable(block.committed),
        stable(block.fresh),
        `${block.file}: the sample for \`${block.command}\` is stale; run npm run docs:output`
      )
    }
  })

  it("masks only what varies between runs: times, timeline bars, a cached index", () => {
    assert.strictEqual(
      stable("  model     ▕  ████ ▏     15 ms  1,150 in / 106 out tokens\n(indexed in 1.4 s)"),
      "  model     ▕▏ <time>  1,150 in / 106 out tokens\n(indexed in <time>)"
    )
    assert.strictEqual(
      stable("(2 passages, index read back in 25 ms)"),
      stable("(2 passages, indexed in 1.4 s)")
    )
    assert.notStrictEqual(stable("12 documents, 123 passages"), stable("12 documents, 125 passages"))
  })
})
