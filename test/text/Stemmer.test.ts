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

// One word for each of Porter's step 2, 3 and 4 suffixes (the paper's examples,
// with words whose suffixes end in the same letter as another rule's), stemmed
// by the implementation before its rules were grouped by their last letter.
const PORTER_SUFFIXES: ReadonlyArray<readonly [string, string]> = [
  ["relational", "relat"],
  ["rational", "ration"],
  ["operational", "oper"],
  ["conditional", "condit"],
  ["valenci", "valenc"],
  ["hesitanci", "hesit"],
  ["digitizer", "digit"],
  ["conformabli", "conform"],
  ["radicalli", "radic"],
  ["differentli", "differ"],
  ["vileli", "vile"],
  ["analogousli", "analog"],
  ["vietnamization", "vietnam"],
  ["predication", "predic"],
  ["operator", "oper"],
  ["feudalism", "feudal"],
  ["decisiveness", "decis"],
  ["hopefulness", "hope"],
  ["callousness", "callous"],
  ["formaliti", "formal"],
  ["sensitiviti", "sensit"],
  ["sensibiliti", "sensibl"],
  ["triplicate", "triplic"],
  ["formative", "form"],
  ["formalize", "formal"],
  ["electriciti", "electr"],
  ["electrical", "electr"],
  ["hopeful", "hope"],
  ["goodness", "good"],
  ["revival", "reviv"],
  ["allowance", "allow"],
  ["inference", "infer"],
  ["airliner", "airlin"],
  ["gyroscopic", "gyroscop"],
  ["adjustable", "adjust"],
  ["defensible", "defens"],
  ["irritant", "irrit"],
  ["replacement", "replac"],
  ["adjustment", "adjust"],
  ["dependent", "depend"],
  ["adoption", "adopt"],
  ["homologou", "homolog"],
  ["communism", "commun"],
  ["activate", "activ"],
  ["angulariti", "angular"],
  ["homologous", "homolog"],
  ["effective", "effect"],
  ["bowdlerize", "bowdler"],
  ["decision", "decis"],
  ["opinion", "opinion"],
  ["fizzed", "fizz"],
  ["falling", "fall"],
  ["hissing", "hiss"],
  ["tanned", "tan"]
]

describe("Stemmer", () => {
  it("tries each step's suffixes in Porter's order, the first that ends the word winning", () => {
    for (const [word, expected] of PORTER_SUFFIXES) assert.strictEqual(porterStem(word), expected, word)
  })

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
