/**
 * Runs every benchmark in turn (`npm run bench`); each prints its table and
 * writes it under docs/bench/.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

for (const name of ["overhead", "bm25", "scifact"]) {
  console.log(`\n== bench/${name}.ts`)
  const result = spawnSync(process.execPath, [fileURLToPath(new URL(`./${name}.ts`, import.meta.url))], {
    stdio: "inherit"
  })
  if (result.status !== 0) process.exitCode = 1
}
