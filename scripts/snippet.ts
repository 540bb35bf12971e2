/**
 * Runs one of the guides' snippets (`docs/snippets/<name>.ts`) as a reader
 * would want to: `npm run snippet -- first-workflow`. With no name it lists
 * them.
 *
 * The snippets import Weft by its package name, as your own code would. Run
 * from a checkout, that name is resolved here to the sources (`src/index.ts`)
 * through a module resolution hook, so a snippet runs without a build and on
 * the Node 24 the npm scripts use (Node 20 cannot run TypeScript files).
 */
import { readdirSync, readFileSync } from "node:fs"
import { registerHooks } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"

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
  const packageName = (JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { name: string })
    .name
  const sources = new URL("src/index.ts", root).href
  registerHooks({
    resolve: (specifier, context, nextResolve) =>
      specifier === packageName ? { url: sources, shortCircuit: true } : nextResolve(specifier, context)
  })
  const file = new URL(`${name}.ts`, folder)
  process.argv = [process.argv[0]!, fileURLToPath(file), ...rest]
  await import(pathToFileURL(fileURLToPath(file)).href)
}
