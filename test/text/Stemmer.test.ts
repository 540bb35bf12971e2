import { assert, describe, it } from "@effect/vitest"
import { porterStem, stem, stemmerNamed } from "../../src/text/Stemmer.ts"

// Pairs from Porter's 1980 paper and the reference implementation's vocabulary.
const PORTER: ReadonlyArray<readonly [string, string]> = [
  ["caresses", "caress"],
  ["ponies", "poni"],
  ["agreed", "agre"],
  ["hopping", "hop"],
  ["filing", "file"],
  ["happy", "happi"],
  ["relational", "relat"],
  ["conditional", "condit"],
  ["digitizer", "digit"],
  ["conformabli", "conform"],
  ["vietnamization", "vietnam"],
  ["decisiveness", "decis"],
  ["sensibiliti", "sensibl"],
  ["triplicate", "triplic"],
  ["electrical", "electr"],
  ["goodness", "good"],
  ["allowance", "allow"],
  ["adjustment", "adjust"],
  ["adoption", "adopt"],
  ["effective", "effect"],
  ["generalization", "gener"],
  ["controll", "control"],
  ["roll", "roll"],
  ["cease", "ceas"],
  ["analogousli", "analog"]
]

describe("Stemmer", () => {
  it("stems as Porter's algorithm, with the reference implementation's bli/logi departures", () => {
    for (const [word, expected] of PORTER) assert.strictEqual(porterStem(word), expected, word)
    assert.strictEqual(porterStem("archaeologi"), "archaeolog")
  })

  it("makes derived forms meet that the light stemmer keeps apart", () => {
    assert.strictEqual(porterStem("effectiveness"), porterStem("effective"))
    assert.notStrictEqual(stem("effectiveness"), stem("effective"))
    assert.strictEqual(porterStem("generalization"), porterStem("general"))
  })

  it("leaves the light stemmer to inflections only", () => {
    assert.strictEqual(stem("studies"), "studi")
    assert.strictEqual(stem("treated"), "treat")
    assert.strictEqual(stem("relational"), "relational")
    assert.strictEqual(stem("goodness"), "goodness")
  })

  it("leaves words of two letters or fewer alone", () => {
    for (const word of ["a", "is", "as", "us"]) {
      assert.strictEqual(porterStem(word), word)
      assert.strictEqual(stem(word), word)
    }
  })

  it("names its stemmers", () => {
    assert.strictEqual(stemmerNamed("porter")("relational"), "relat")
    assert.strictEqual(stemmerNamed("light")("relational"), "relational")
  })
})
