/**
 * Whole numbers with thousands separators ("1,051"), for what Weft prints:
 * usage reports, budget messages, progress lines. Written out rather than
 * `toLocaleString("en-US")`, whose first call sets up ICU's number formatting
 * (6–20 ms of a cold start, measured on this machine) for a fixed format that
 * never depends on the user's locale.
 */

/** `n` rounded to a whole number, its digits grouped in threes: `grouped(1234567.4)` is "1,234,567". */
export const grouped = (n: number): string => {
  if (!Number.isFinite(n)) return String(n)
  const whole = Math.round(Math.abs(n))
  const digits = whole < 1e21 ? whole.toFixed(0) : String(whole)
  let out = ""
  for (let end = digits.length; end > 0; end -= 3) {
    const start = Math.max(0, end - 3)
    out = out === "" ? digits.slice(start, end) : `${digits.slice(start, end)},${out}`
  }
  return n < 0 && whole !== 0 ? `-${out}` : out
}
