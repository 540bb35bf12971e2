/**
 * Where the agent bench's time and memory go: the same task as bench/agent.ts
 * in one process, in three modes, so Weft's share can be told from effect/ai's.
 * - MODE=agent: a whole `Agent.run` (budget, trace, tools), as the bench runs it;
 * - MODE=budget: the run's four `generateText` calls alone, made as the agent
 *   makes them, under a fresh in-memory budget;
 * - MODE=calls: the four calls without a budget (BARE=1: over a bare
 *   `LanguageModel.make` mock instead of the Scripted model) — effect/ai's floor.
 * N runs at once (default 10,000; 20 ms per model call): wall ms, peak heap,
 * peak RSS. SEQ=n: CPU µs per run over n sequential runs instead. SNAP=1
 * writes a heap snapshot when the runs are in flight.
 *
 *   MODE=calls BARE=1 node bench/peers/agent-profile.ts
 *   MODE=agent SEQ=20000 node bench/peers/agent-profile.ts
 */
import { writeHeapSnapshot } from "node:v8"
import { Effect, type Layer } from "effect"
import type { Prompt } from "effect/ai"
import { Agent } from "../../src/agent/index.ts"
import { agent, bareLayer, budget, decide, fourCalls, weftLayer, withBudget } from "./agent-calls.ts"
import { QUESTION } from "./agent-task.ts"

const N = Number(process.env.N ?? 10_000)
let calls = 0
let snap = process.env.SNAP === "1"
const counted = (prompt: Prompt.Prompt) => {
  calls++
  return decide(prompt)
}
const layer: Layer.Layer<any> = process.env.BARE === "1" ? bareLayer(20) : await weftLayer(20, counted)
const MODE = process.env.MODE ?? "agent"
const run: Effect.Effect<unknown, unknown, any> =
  MODE === "calls"
    ? fourCalls("deferred")
    : MODE === "budget"
      ? withBudget(fourCalls("deferred"))
      : Agent.run(agent, QUESTION, { budget })
const go = (n: number) =>
  Effect.runPromise(
    Effect.provide(
      Effect.forEach(Array.from({ length: n }), () => run, { concurrency: "unbounded", discard: true }),
      layer
    ) as Effect.Effect<void>
  )
if (process.env.SEQ !== undefined) {
  const seq = Effect.gen(function* () {
    for (let i = 0; i < 10_000; i++) yield* run
    const t = process.cpuUsage()
    for (let i = 0; i < Number(process.env.SEQ); i++) yield* run
    const u = process.cpuUsage(t)
    return (u.user + u.system) / Number(process.env.SEQ)
  })
  const seqLayer = process.env.BARE === "1" ? bareLayer(0) : await weftLayer(0)
  console.log(
    MODE,
    "µs per run",
    (await Effect.runPromise(Effect.provide(seq, seqLayer) as Effect.Effect<number>)).toFixed(1)
  )
  process.exit(0)
}
for (let i = 0; i < Number(process.env.WARM ?? 10); i++) await go(1)
await go(10)
calls = 0
const base = process.memoryUsage().heapUsed
let peakHeap = 0
const timer = setInterval(() => {
  const h = process.memoryUsage().heapUsed
  if (h > peakHeap) peakHeap = h
  if (snap && calls >= N) {
    snap = false
    console.error("snapshot at calls", calls, (h / 1e6).toFixed(0), "MB")
    writeHeapSnapshot("agent-in-flight.heapsnapshot")
  }
}, 5)
const start = performance.now()
await go(N)
const wall = performance.now() - start
clearInterval(timer)
console.log(
  JSON.stringify({
    wallMs: Math.round(wall),
    peakHeapMB: Math.round(peakHeap / 1e6),
    baseMB: Math.round(base / 1e6),
    rssMB: Math.round(process.resourceUsage().maxRSS / 1024)
  })
)
