/**
 * Writing a bench's results file under docs/bench/ without losing what the
 * committed file reports. A bench that could not run part of its table (a
 * database, an optional peer, a data set) names those parts; when the
 * committed file holds any of them, the file is left as committed and one
 * line says which file and why (the bench has printed its figures already).
 * A part the committed file does not report either is no loss, so a run
 * writes the file as before.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository's root: paths in the messages are relative to it. */
const root = join(dirname(fileURLToPath(import.meta.url)), "..")

/** A part of a results file that did not run this time. */
export interface NotRun {
  /** How a reader names it, e.g. "the sql-bm25-pg row". */
  readonly part: string
  /** Text the committed file holds when it reports this part, e.g. `tableRow("sql-bm25-pg")`. */
  readonly marker: string
  /** What running it needs, e.g. "WEFT_BENCH_DATABASE_URL (a PostgreSQL server)". */
  readonly needs: string
}

/** The start of a Markdown table row whose first cell is `label`: a marker for that row. */
export const tableRow = (label: string): string => `| ${label} |`

/** The parts that did not run and that `committed` (a results file's text, if any) reports. */
export const lostParts = (
  committed: string | undefined,
  notRun: ReadonlyArray<NotRun>
): ReadonlyArray<NotRun> =>
  committed === undefined ? [] : notRun.filter((part) => committed.includes(part.marker))

/** "a", "a and b", "a, b and c". */
const list = (items: ReadonlyArray<string>): string =>
  items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`

/** Why a file is left as committed: the lost parts, grouped by what they need. */
export const leftReason = (lost: ReadonlyArray<NotRun>): string => {
  const byNeed = new Map<string, Array<string>>()
  for (const { part, needs } of lost) byNeed.set(needs, [...(byNeed.get(needs) ?? []), part])
  return [...byNeed]
    .map(([needs, parts]) => `${list(parts)} ${parts.length > 1 ? "need" : "needs"} ${needs}`)
    .join("; ")
}

/**
 * Writes `content` to `file` unless the committed file reports a part in
 * `notRun`; prints one line either way and answers whether it wrote.
 */
export const writeResults = (file: string, content: string, notRun: ReadonlyArray<NotRun> = []): boolean => {
  const name = relative(root, file)
  const lost = lostParts(existsSync(file) ? readFileSync(file, "utf8") : undefined, notRun)
  if (lost.length > 0) {
    console.log(`${name} left as committed: ${leftReason(lost)} (the figures above were not written)`)
    return false
  }
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, content)
  console.log(`wrote ${name}`)
  return true
}
