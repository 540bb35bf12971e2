/**
 * `npm start`: the flagship example (examples/rag.ts) with Node's compile
 * cache on, so a second start reuses the compiled code of effect and Weft
 * instead of parsing it again (measured: about 1.7 s → 1.2 s wall and
 * 192 → 169 MB peak RSS on this machine; see docs/bench/rss.md). The cache
 * lives in the OS temp folder; deleting it only costs the next start.
 */
import * as Module from "node:module"

Module.enableCompileCache?.()
const [{ command }, { runCommand }] = await Promise.all([import("./rag.ts"), import("./cli.ts")])
runCommand(command)
