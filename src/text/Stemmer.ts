/**
 * The English stemmers shared by every part of Weft that matches words: the
 * BM25 analyzer (retrieval) and the Local model's sentence ranking.
 *
 * Two strengths of one algorithm, Porter's (1980): `stem`, the light one,
 * strips inflections only and is what the Local model matches words with;
 * `porterStem`, the full algorithm, also folds derivational suffixes
 * ("-ational", "-ness", "-ive") and is what BM25 retrieval indexes with by
 * default, as Lucene's and Anserini's English analyzers do.
 */

/** A stemmer's name: the full Porter algorithm or its inflectional steps only. */
export type StemmerName = "porter" | "light"

/**
 * A light English stemmer: steps 1 and 5a of Porter's algorithm (1980), which
 * strip inflections only — plurals (-s, -es, -ies), -ed, -ing, final -y → -i
 * and a final -e — so "studies"/"study" and "treated"/"treating"/"treat" meet,
 * while derivational suffixes ("-ation", "-ness") are left alone. Lowercase
 * ASCII in.
 */
export const stem = (word: string): string => {
  if (word.length <= 2) return word
  return step5a(step1(word))
}

/**
 * The full Porter stemmer (1980), as in the reference C implementation that
 * Lucene's `PorterStemFilter` follows (with its two departures: "-bli" →
 * "-ble" and "-logi" → "-log"): steps 1 to 5, so "relational"/"relate",
 * "effectiveness"/"effective"/"effect" and "generalization"/"general" meet.
 * Lowercase ASCII in.
 */
export const porterStem = (word: string): string => {
  if (word.length <= 2) return word
  let w = step1(word)
  if (w.length <= 1) return w
  w = step4(step3(step2(w)))
  w = step5a(w)
  // Step 5b: -ll → -l on a long stem ("controll" → "control").
  if (w.endsWith("ll") && measure(w, w.length) > 1) w = w.slice(0, -1)
  return w
}

/** The stemmer a name stands for. */
export const stemmerNamed = (name: StemmerName): ((word: string) => string) =>
  name === "porter" ? porterStem : stem

/** Steps 1a–1c: plurals, -ed/-ing, final -y. */
const step1 = (word: string): string => {
  let w = word
  // Step 1a: plurals.
  if (w.endsWith("sses") || w.endsWith("ies")) w = w.slice(0, -2)
  else if (w.endsWith("s") && !w.endsWith("ss")) w = w.slice(0, -1)
  // Step 1b: -eed, -ed, -ing.
  if (w.endsWith("eed")) {
    if (measure(w, w.length - 3) > 0) w = w.slice(0, -1)
  } else {
    const suffix = w.endsWith("ed") ? 2 : w.endsWith("ing") ? 3 : 0
    if (suffix > 0 && hasVowel(w, w.length - suffix)) {
      w = w.slice(0, -suffix)
      if (w.endsWith("at") || w.endsWith("bl") || w.endsWith("iz")) w += "e"
      else if (endsWithDoubleConsonant(w) && !endsWithOneOf(w, "lsz")) w = w.slice(0, -1)
      else if (measure(w, w.length) === 1 && endsCvc(w)) w += "e"
    }
  }
  // Step 1c: -y → -i after a vowel-bearing stem.
  if (w.endsWith("y") && hasVowel(w, w.length - 1)) w = w.slice(0, -1) + "i"
  return w
}

/**
 * Step 5a: a final -e goes (unless the stem is short and ends consonant–vowel–consonant,
 * as "hope", "file"), so "treated" → "treate" → "treat" meets "treat".
 */
const step5a = (w: string): string => {
  if (!w.endsWith("e")) return w
  const m = measure(w, w.length - 1)
  return m > 1 || (m === 1 && !endsCvc(w.slice(0, -1))) ? w.slice(0, -1) : w
}

type Rules = ReadonlyArray<readonly [suffix: string, replacement: string]>

/**
 * A step's rules grouped by the suffix's last letter, each group in the
 * step's order: a word is tried only against the rules that can match its
 * ending, and the first of those that matches is the step's first match.
 */
const byLastLetter = <R>(
  rules: ReadonlyArray<R>,
  suffixOf: (rule: R) => string
): ReadonlyArray<ReadonlyArray<R>> => {
  const groups: Array<Array<R>> = Array.from({ length: 128 }, () => [])
  for (const rule of rules) {
    const suffix = suffixOf(rule)
    groups[suffix.charCodeAt(suffix.length - 1)]!.push(rule)
  }
  return groups
}

const NO_RULES: ReadonlyArray<never> = []

/** The rules of `groups` whose suffix ends with the last letter of `w`. */
const rulesFor = <R>(groups: ReadonlyArray<ReadonlyArray<R>>, w: string): ReadonlyArray<R> =>
  groups[w.charCodeAt(w.length - 1)] ?? NO_RULES

/** Whether `w` ends with one of the letters of `letters`. */
const endsWithOneOf = (w: string, letters: string): boolean =>
  w.length > 0 && letters.includes(w[w.length - 1]!)

// Porter groups each step's suffixes by a letter and tries them in order; as no
// two groups share that letter, trying one list in the same order finds the same
// first match.
const STEP2: Rules = [
  ["ational", "ate"],
  ["tional", "tion"],
  ["enci", "ence"],
  ["anci", "ance"],
  ["izer", "ize"],
  ["bli", "ble"],
  ["alli", "al"],
  ["entli", "ent"],
  ["eli", "e"],
  ["ousli", "ous"],
  ["ization", "ize"],
  ["ation", "ate"],
  ["ator", "ate"],
  ["alism", "al"],
  ["iveness", "ive"],
  ["fulness", "ful"],
  ["ousness", "ous"],
  ["aliti", "al"],
  ["iviti", "ive"],
  ["biliti", "ble"],
  ["logi", "log"]
]

const STEP3: Rules = [
  ["icate", "ic"],
  ["ative", ""],
  ["alize", "al"],
  ["iciti", "ic"],
  ["ical", "ic"],
  ["ful", ""],
  ["ness", ""]
]

const STEP4 = [
  "al",
  "ance",
  "ence",
  "er",
  "ic",
  "able",
  "ible",
  "ant",
  "ement",
  "ment",
  "ent",
  "ion",
  "ou",
  "ism",
  "ate",
  "iti",
  "ous",
  "ive",
  "ize"
]

const STEP2_BY_LETTER = byLastLetter(STEP2, ([suffix]) => suffix)
const STEP3_BY_LETTER = byLastLetter(STEP3, ([suffix]) => suffix)
const STEP4_BY_LETTER = byLastLetter(STEP4, (suffix) => suffix)

/** Replaces the first matching suffix when the stem before it has measure > 0. */
const replaceSuffix = (w: string, groups: ReadonlyArray<Rules>): string => {
  for (const [suffix, replacement] of rulesFor(groups, w)) {
    if (w.endsWith(suffix)) {
      const base = w.slice(0, -suffix.length)
      return measure(base, base.length) > 0 ? base + replacement : w
    }
  }
  return w
}

/** Step 2: double suffixes to single ones ("-ization" → "-ize"). */
const step2 = (w: string): string => replaceSuffix(w, STEP2_BY_LETTER)

/** Step 3: -ic-, -full, -ness and the like. */
const step3 = (w: string): string => replaceSuffix(w, STEP3_BY_LETTER)

/** Step 4: drops a derivational suffix when the stem before it has measure > 1. */
const step4 = (w: string): string => {
  for (const suffix of rulesFor(STEP4_BY_LETTER, w)) {
    if (!w.endsWith(suffix)) continue
    const base = w.slice(0, -suffix.length)
    // "-ion" counts only after s or t ("adoption", "decision"); otherwise no step-4 suffix matches.
    if (suffix === "ion" && !endsWithOneOf(base, "st")) return w
    return measure(base, base.length) > 1 ? base : w
  }
  return w
}
// Porter's consonant: not a, e, i, o, u, and not a y that follows a consonant.
const isConsonant = (w: string, i: number): boolean => {
  switch (w.charCodeAt(i)) {
    case 97: // a
    case 101: // e
    case 105: // i
    case 111: // o
    case 117: // u
      return false
    case 121: // y
      return i === 0 || !isConsonant(w, i - 1)
    default:
      return true
  }
}

/** Porter's m: the number of vowel–consonant sequences in w[0, length). */
const measure = (w: string, length: number): number => {
  let m = 0
  let i = 0
  while (i < length && isConsonant(w, i)) i++
  while (i < length) {
    while (i < length && !isConsonant(w, i)) i++
    if (i >= length) break
    while (i < length && isConsonant(w, i)) i++
    m++
  }
  return m
}

const hasVowel = (w: string, length: number): boolean => {
  for (let i = 0; i < length; i++) if (!isConsonant(w, i)) return true
  return false
}

const endsWithDoubleConsonant = (w: string): boolean =>
  w.length >= 2 && w[w.length - 1] === w[w.length - 2] && isConsonant(w, w.length - 1)

/** Consonant–vowel–consonant ending, the last not w, x or y (e.g. "hop", not "bow"). */
const endsCvc = (w: string): boolean => {
  const n = w.length
  return (
    n >= 3 &&
    isConsonant(w, n - 3) &&
    !isConsonant(w, n - 2) &&
    isConsonant(w, n - 1) &&
    !endsWithOneOf(w, "wxy")
  )
}
