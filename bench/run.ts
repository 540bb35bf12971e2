/**
 * Runs every benchmark in turn (`npm run bench`); each prints its table and
 * writes it under docs/bench/ when it ran on the data that file describes and
 * ran every part the committed file reports (bench/report.ts). A bench whose
 * data is missing says so in one line and skips (or measures synthetic data
 * without writing it); one that could not run a reported part (a database, an
 * optional peer) leaves its file as committed and says why in one line. Only
 * a bench that fails makes this exit non-zero.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const failed: Array<string> = []
for (const name of ["overhead", "agent", "openai", "rss", "bm25", "scifact", "retrieval", "answers"]) {
  console.log(`\n== bench/${name}.ts`)
  const result = spawnSync(process.execPath, [fileURLToPath(new URL(`./${name}.ts`, import.meta.url))], {
    stdio: "inherit"
  })
  if (result.status !== 0) failed.push(`${name} (${result.signal ?? `exit ${result.status}`})`)
}
if (failed.length > 0) {
  console.error(`\nbench: failed: ${failed.join(", ")}`)
  process.exitCode = 1
}
