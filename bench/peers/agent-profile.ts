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
import { Effect, Layer, Schema } from "effect"
import { LanguageModel, type Prompt, Tool, Toolkit } from "effect/ai"
import { Budget } from "../../src/budget/index.ts"
import { Agent } from "../../src/agent/index.ts"
import { Scripted } from "../../src/model/index.ts"
import { modelCallsOnly } from "./agent-calls.ts"
import { ANSWER, add, argsOf, QUESTION, TOOL_CALLS, USAGE } from "./agent-task.ts"

const N = Number(process.env.N ?? 10_000)
const Add = Tool.make("add", {
  description: "Adds two numbers",
  parameters: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  success: Schema.Number
})
const toolkit = Toolkit.make(Add)
const handlers = toolkit.toLayer({ add: (args) => Effect.succeed(add(args)) })
const agent = Agent.make({ name: "bench", instructions: "You add numbers.", toolkit, maxSteps: 10 })
let calls = 0
let snap = process.env.SNAP === "1"
const decide = (prompt: Prompt.Prompt): Scripted.Entry => {
  calls++
  let n = 0
  for (const m of prompt.content) if (m.role === "tool") n++
  return n < TOOL_CALLS
    ? { toolCalls: [{ name: "add", params: argsOf(n), id: `call_${n}` }], usage: USAGE }
    : { text: ANSWER, usage: USAGE }
}
const scripted = await Effect.runPromise(
  Scripted.make([{ repeat: { delay: 20, reply: decide } }], { record: false })
)
const bareLayer = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: (options) =>
      Effect.as(
        Effect.sleep(20),
        (() => {
          let n = 0
          for (const m of options.prompt.content) if (m.role === "tool") n++
          const finish = {
            type: "finish",
            reason: n < TOOL_CALLS ? "tool-calls" : "stop",
            usage: { inputTokens: { total: 40 }, outputTokens: { total: 12 } }
          }
          return (
            n < TOOL_CALLS
              ? [{ type: "tool-call", id: `call_${n}`, name: "add", params: argsOf(n) }, finish]
              : [{ type: "text", text: ANSWER }, finish]
          ) as any
        })()
      ),
    streamText: () => Effect.die("not used") as any
  })
)
const bareLayer0 = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: (options) =>
      Effect.sync(() => {
        let n = 0
        for (const m of options.prompt.content) if (m.role === "tool") n++
        const finish = {
          type: "finish",
          reason: n < TOOL_CALLS ? "tool-calls" : "stop",
          usage: { inputTokens: { total: 40 }, outputTokens: { total: 12 } }
        }
        return (
          n < TOOL_CALLS
            ? [{ type: "tool-call", id: `call_${n}`, name: "add", params: argsOf(n) }, finish]
            : [{ type: "text", text: ANSWER }, finish]
        ) as any
      }),
    streamText: () => Effect.die("not used") as any
  })
)
const layer =
  process.env.BARE === "1"
    ? bareLayer
    : Layer.merge(scripted.layer as Layer.Layer<LanguageModel.LanguageModel>, handlers)
const stub = { tools: toolkit.tools, handle: () => Effect.die("not called") } as any
const fourCalls = modelCallsOnly({
  question: QUESTION,
  toolkit: stub,
  maxCalls: TOOL_CALLS + 1,
  validation: "deferred"
})
const MODE = process.env.MODE ?? "agent"
const run: Effect.Effect<unknown, unknown, any> =
  MODE === "calls"
    ? fourCalls
    : MODE === "budget"
      ? Effect.flatMap(Budget.make({ modelCalls: 10, toolCalls: 10 }), (b) =>
          Effect.provideService(fourCalls, Budget.Budget, b)
        )
      : Agent.run(agent, QUESTION, { budget: { modelCalls: 10, toolCalls: 10 } })
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
  const seqLayer =
    process.env.BARE === "1"
      ? bareLayer0
      : Layer.merge(
          (await Effect.runPromise(Scripted.make([{ repeat: decide }], { record: false })))
            .layer as Layer.Layer<LanguageModel.LanguageModel>,
          handlers
        )
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
