/**
 * Preloaded into a child process (`node --import ./test/openai/trace-loads.ts …`):
 * prints `LOADED openai` on stderr the first time any module of the `openai`
 * package is resolved, so a test can tell whether a program loaded the SDK.
 */
import { registerHooks } from "node:module"

let told = false
registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context)
    if (!told && resolved.url.includes("/node_modules/openai/")) {
      told = true
      process.stderr.write("LOADED openai\n")
    }
    return resolved
  }
})
