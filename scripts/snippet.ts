/**
 * Runs one of the guides' snippets (`docs/snippets/<name>.ts`) as a reader
 * would want to: `npm run snippet -- first-workflow`. With no name it lists
 * them.
 *
 * The snippets import Weft by its package name, as your own code would. Run
 * from a checkout, that name is resolved to the sources (`src/index.ts`) by
 * the module hook in docs/snippets/support/resolve-self.ts, so a snippet runs
 * without a build, on the Node 24 the npm scripts use (Node 20 cannot run
 * TypeScript files).
 */
import { readdirSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = new URL("../", import.meta.url)
const folder = new URL("docs/snippets/", root)
const snippets = readdirSync(folder)
  .filter((file) => file.endsWith(".ts"))
  .map((file) => file.slice(0, -3))
  .sort()

const [asked, ...rest] = process.argv.slice(2)
const name = asked?.replace(/^.*\//, "").replace(/\.ts$/, "")
if (name === undefined || !snippets.includes(name)) {
  const list = `the snippets: ${snippets.join(", ")}`
  if (name === undefined) {
    console.log(`Run one with: npm run snippet -- <name>\n${list}`)
  } else {
    console.error(`weft: no snippet named ${JSON.stringify(asked)} in docs/snippets; ${list}`)
    process.exitCode = 1
  }
} else {
  // The hook the snippets test uses too: the package's own name resolves to src/.
  await import("../docs/snippets/support/resolve-self.ts")
  const file = new URL(`${name}.ts`, folder)
  process.argv = [process.argv[0]!, fileURLToPath(file), ...rest]
  await import(file.href)
}
