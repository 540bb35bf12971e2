/**
 * Preloaded into a child process (`node --import ./test/openai/trace-loads.ts …`):
 * prints `LOADED openai` on stderr the first time any module of the `openai`
 * package is resolved, so a test can tell whether a program loaded the SDK,
 * and `LOADED chunk <file>` for each chunk of npm start's bundle it loads.
 */
import { registerHooks } from "node:module"

let told = false
registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context)
    // npm start's bundle keeps the SDK in a chunk of its own, loaded only on demand.
    const chunk = /\/(\.start\.chunk-[^/]+\.mjs)$/.exec(resolved.url)?.[1]
    if (chunk !== undefined) process.stderr.write(`LOADED chunk ${chunk}\n`)
    if (!told && resolved.url.includes("/node_modules/openai/")) {
      told = true
      process.stderr.write("LOADED openai\n")
    }
    return resolved
  }
})
