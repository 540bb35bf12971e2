/**
 * Lets the snippets import Weft by its package name and run against `src/`:
 *
 *   node --import ./docs/snippets/support/resolve-self.ts docs/snippets/<name>.ts
 *
 * A snippet is written as a user writes it (`from "weft-ai"`). Installed, that
 * name resolves to the built `dist/`; in this repository it resolves here to
 * the TypeScript source, so a snippet runs on a fresh clone without a build.
 * (The type-checker does the same through `paths` in tsconfig.json.) A hook
 * rather than an export condition, so the published package.json carries no
 * condition pointing at source a consumer's Node would refuse to run.
 */
import { readFileSync } from "node:fs"
import { registerHooks } from "node:module"

const root = new URL("../../../", import.meta.url)
const { name } = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { readonly name: string }
const entry = new URL("src/index.ts", root).href

registerHooks({
  resolve: (specifier, context, nextResolve) =>
    specifier === name ? { url: entry, shortCircuit: true } : nextResolve(specifier, context)
})
