/**
 * bench/report.ts's write decision: a bench that could not run a part its
 * committed results file reports leaves that file untouched, and the
 * committed files hold the rows a fresh clone cannot measure (so a fresh
 * clone's `npm run bench` leaves them as committed).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it, vi } from "vitest"
import { leftReason, lostParts, type NotRun, tableRow, writeResults } from "../../bench/report.ts"

const committed = `| method | nDCG@10 |
| --- | ---: |
| bm25 | 0.6940 |
| sql-bm25-pg | 0.6982 |
| pg-fts | 0.6159 |
`
const needsDatabase = "WEFT_BENCH_DATABASE_URL"
const postgres: ReadonlyArray<NotRun> = ["sql-bm25-pg", "pg-fts"].map((name) => ({
  part: `the ${name} row`,
  marker: tableRow(name),
  needs: needsDatabase
}))

const folders: Array<string> = []
const tempFile = (content?: string): string => {
  const folder = mkdtempSync(join(tmpdir(), "weft-bench-report-"))
  folders.push(folder)
  const file = join(folder, "results.md")
  if (content !== undefined) writeFileSync(file, content)
  return file
}
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
  vi.restoreAllMocks()
})

describe("writeResults", () => {
  it("leaves the committed file untouched when a part it reports did not run, and says why in one line", () => {
    const file = tempFile(committed)
    const lines: Array<string> = []
    vi.spyOn(console, "log").mockImplementation((line: string) => void lines.push(line))
    const wrote = writeResults(file, "| method | nDCG@10 |\n| --- | ---: |\n| bm25 | 0.7000 |\n", postgres)
    expect(wrote).toBe(false)
    expect(readFileSync(file, "utf8")).toBe(committed)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain("left as committed")
    expect(lines[0]).toContain("the sql-bm25-pg row and the pg-fts row need WEFT_BENCH_DATABASE_URL")
  })

  it("writes when every part the committed file reports ran, and says so in one line", () => {
    const file = tempFile(committed)
    const lines: Array<string> = []
    vi.spyOn(console, "log").mockImplementation((line: string) => void lines.push(line))
    const fresh = `${committed}| hybrid | 0.7008 |\n`
    expect(writeResults(file, fresh, [])).toBe(true)
    expect(readFileSync(file, "utf8")).toBe(fresh)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^wrote .*results\.md$/)
  })

  it("writes when the parts that did not run are not in the committed file either", () => {
    const file = tempFile("| variant | µs |\n| --- | ---: |\n| Weft | 173.5 |\n")
    vi.spyOn(console, "log").mockImplementation(() => undefined)
    const missingPeer: NotRun = {
      part: "the LangGraph.js row",
      marker: tableRow("LangGraph.js"),
      needs: "it"
    }
    expect(writeResults(file, "| variant | µs |\n| --- | ---: |\n| Weft | 170.0 |\n", [missingPeer])).toBe(
      true
    )
    expect(readFileSync(file, "utf8")).toContain("| Weft | 170.0 |")
  })

  it("writes a file that is not committed yet", () => {
    const file = tempFile()
    vi.spyOn(console, "log").mockImplementation(() => undefined)
    expect(writeResults(file, "new\n", postgres)).toBe(true)
    expect(readFileSync(file, "utf8")).toBe("new\n")
  })

  it("makes the folder of a file whose folder is not there yet", () => {
    const file = join(tempFile(), "..", "bench", "results.md")
    vi.spyOn(console, "log").mockImplementation(() => undefined)
    expect(writeResults(file, "new\n")).toBe(true)
    expect(readFileSync(file, "utf8")).toBe("new\n")
  })
})

describe("lostParts and leftReason", () => {
  it("matches a row by its first cell, not by a longer name that starts the same", () => {
    expect(lostParts("| pg-fts-cd | 0.6 |\n", postgres)).toEqual([])
    expect(lostParts("| pg-fts | 0.6 |\n", postgres).map((part) => part.part)).toEqual(["the pg-fts row"])
  })

  it("groups the parts by what they need", () => {
    const reason = leftReason([
      ...postgres,
      { part: "the OpenAI Agents JS row", marker: tableRow("OpenAI Agents JS"), needs: "its package" }
    ])
    expect(reason).toBe(
      "the sql-bm25-pg row and the pg-fts row need WEFT_BENCH_DATABASE_URL; the OpenAI Agents JS row needs its package"
    )
  })
})

describe("the committed results files", () => {
  const doc = (name: string) => readFileSync(new URL(`../../docs/bench/${name}`, import.meta.url), "utf8")

  // The rows a fresh clone cannot measure (no database, no optional peer) are matched by these
  // markers, so a run there leaves the files as committed; a renamed row would slip past them.
  it("hold the rows a fresh clone skips under the markers the benches look for", () => {
    expect(doc("retrieval.md")).toContain(tableRow("sql-bm25-pg"))
    expect(doc("retrieval.md")).toContain(tableRow("pg-fts"))
    expect(doc("agent.md")).toContain(tableRow("OpenAI Agents JS"))
  })
})
