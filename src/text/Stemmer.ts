/**
 * The English stemmer shared by every part of Weft that matches words: the
 * BM25 analyzer (retrieval) and the Local model's sentence ranking. One
 * stemmer, so a word stems the same way wherever it is matched.
 */

/**
 * A light English stemmer: steps 1 and 5a of Porter's algorithm (1980), which
 * strip inflections only — plurals (-s, -es, -ies), -ed, -ing, final -y → -i
 * and a final -e — so "studies"/"study" and "treated"/"treating"/"treat" meet,
 * while derivational suffixes ("-ation", "-ness") are left alone. Lowercase
 * ASCII in.
 */
export const stem = (word: string): string => {
  if (word.length <= 2) return word
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
      else if (endsWithDoubleConsonant(w) && !/[lsz]$/.test(w)) w = w.slice(0, -1)
      else if (measure(w, w.length) === 1 && endsCvc(w)) w += "e"
    }
  }
  // Step 1c: -y → -i after a vowel-bearing stem.
  if (w.endsWith("y") && hasVowel(w, w.length - 1)) w = w.slice(0, -1) + "i"
  // Step 5a: a final -e goes (unless the stem is short and ends consonant–vowel–consonant,
  // as "hope", "file"), so "treated" → "treate" → "treat" meets "treat".
  if (w.endsWith("e")) {
    const m = measure(w, w.length - 1)
    if (m > 1 || (m === 1 && !endsCvc(w.slice(0, -1)))) w = w.slice(0, -1)
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
    n >= 3 && isConsonant(w, n - 3) && !isConsonant(w, n - 2) && isConsonant(w, n - 1) && !/[wxy]$/.test(w)
  )
}
