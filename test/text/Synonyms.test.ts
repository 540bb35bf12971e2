/**
 * The hand-written thesaurus: everyday words related through a shared set, a
 * kind related to its general word but not to the other kinds of it, and
 * lookups for both stemmers.
 */
import { assert, describe, it } from "@effect/vitest"
import { porterStem, stem } from "../../src/text/Stemmer.ts"
import { lightSynonymsOf, relatedTerms, SYNONYM_SETS, synonymsOf } from "../../src/text/Synonyms.ts"

const related = relatedTerms((word) => word)

describe("Synonyms", () => {
  it("relates the words of money, permission, limits and checks", () => {
    assert.isTrue(related("money").has("payment"))
    assert.isTrue(related("permission").has("agreement"))
    assert.isTrue(related("approve").has("agree"))
    assert.isTrue(related("cap").has("limit"))
    assert.isTrue(related("cap").has("maximum"))
    assert.isTrue(related("check").has("review"))
    assert.isTrue(related("inspect").has("review"))
    assert.isTrue(related("movers").has("removal"))
  })

  it("relates a kind to its general word but not to the other kinds", () => {
    assert.isTrue(related("tuesday").has("weekday"))
    assert.isTrue(related("weekday").has("friday"))
    assert.isFalse(related("tuesday").has("monday"))
    assert.isTrue(related("saturday").has("weekend"))
    assert.isFalse(related("saturday").has("sunday"))
    assert.isTrue(related("red").has("colour"))
    assert.isFalse(related("red").has("blue"))
  })

  it("is not transitive: two words are related only when one set holds both", () => {
    // "agreement" is in a set with "contract" and in one with "permission"; the two are not related.
    assert.isTrue(related("contract").has("agreement"))
    assert.isFalse(related("contract").has("permission"))
  })

  it("looks terms up under each stemmer", () => {
    assert.isTrue(synonymsOf(porterStem("tuesday")).has(porterStem("weekday")))
    assert.isTrue(synonymsOf(porterStem("payment")).has(porterStem("money")))
    assert.isTrue(lightSynonymsOf("cap").has("limit"))
  })

  it("finds a term's synonyms from the sets that start as it does exactly as from all of them", () => {
    for (const termOf of [porterStem, stem]) {
      // What `keepsPrefix` rests on: a word starts with its term's first two letters.
      for (const word of SYNONYM_SETS.flatMap((line) => line.split(" "))) {
        assert.isTrue(word.startsWith(termOf(word).slice(0, 2)), `${word} → ${termOf(word)}`)
      }
      const everyTerm = [...new Set(SYNONYM_SETS.flatMap((line) => line.split(" ").map(termOf)))]
      const byPrefix = relatedTerms(termOf, { keepsPrefix: true })
      const fromAll = relatedTerms(termOf)
      // Looked up in an order that leaves most sets unread at first; "zz" and "a" are in none.
      for (const term of [...everyTerm.reverse(), "zz", "a"]) {
        assert.deepStrictEqual([...byPrefix(term)].sort(), [...fromAll(term)].sort(), term)
        // …and by brute force: every other term of every set holding it.
        const expected = new Set(
          SYNONYM_SETS.map((line) => line.split(" ").map(termOf))
            .filter((group) => group.includes(term))
            .flat()
            .filter((other) => other !== term)
        )
        assert.deepStrictEqual([...fromAll(term)].sort(), [...expected].sort(), term)
      }
    }
  })

  it("holds sets of at least two distinct lowercase words", () => {
    for (const line of SYNONYM_SETS) {
      const words = line.split(" ")
      assert.isTrue(
        words.every((word) => /^[a-z]+$/.test(word)),
        line
      )
      if (line !== "return") assert.isAtLeast(new Set(words).size, 2, line)
    }
  })
})
