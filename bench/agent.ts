/**
 * The agent loop against its peers, in one run of this script: the same task
 * (bench/peers/agent-task.ts: a model that asks for three `add` calls, one
 * per step, then answers; four model calls, three tool calls) written
 * - as a hand-written plain-Effect loop with no Schemas, budget or trace
 *   (bench/peers/agent-plain.ts): the floor;
 * - with effect/ai's toolkit loop, `LanguageModel.generateText` with a toolkit
 *   over a `LanguageModel.make` mock (bench/peers/agent-effect-ai.ts);
 * - with the Vercel AI SDK's `generateText` + `stopWhen` over its
 *   `MockLanguageModelV3` (bench/peers/agent-vercel.ts);
 * - with optional peers (OpenAI Agents JS, LangGraph.js, Mastra) when they
 *   are installed in bench/peers/agents-extra/ (skipped with a line otherwise);
 * - as a Weft `Agent.run` over the Scripted model (metered), with a fresh
 *   budget (limits on model and tool calls) and trace per run, every tool call
 *   decoded, counted, audited and its result encoded.
 *
 * Two measures:
 * 1. CPU µs per run: each sample a fresh process (warm-up, then timed runs,
 *    user + system CPU); rounds interleave the variants, rotating their order,
 *    and Weft's ratio to each peer is taken within a round. The warm-up is long
 *    (10,000 runs) because a server runs warm: after 3,000 runs Weft's code was
 *    still being optimised (≈350 µs per run, against ≈200 µs warm) while the
 *    peers had settled.
 * 2. 10,000 runs at once, every model call taking 20 ms (a sleep): wall time
 *    against the ideal (4 calls × 20 ms) and the process's peak RSS, each
 *    variant in its own process.
 *
 *   node bench/agent.ts               (writes docs/bench/agent.md)
 *   ONLY=weft,plain node bench/agent.ts   (just those; the doc is left alone)
 *
 * An optional peer that is not installed but that the committed
 * docs/bench/agent.md measured leaves that file as committed (bench/report.ts):
 * the run prints its table and says so in one line.
 */
import { spawnSync } from "node:child_process"
import { cpus, loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { Effect, Layer } from "effect"
import { Agent } from "../src/agent/index.ts"
import { agent, bareLayer, budget, fourCalls, weftLayer, withBudget } from "./peers/agent-calls.ts"
import * as EffectAi from "./peers/agent-effect-ai.ts"
import * as Plain from "./peers/agent-plain.ts"
import { QUESTION, TOOL_CALLS } from "./peers/agent-task.ts"
import * as Vercel from "./peers/agent-vercel.ts"
import { tableRow, writeResults } from "./report.ts"

const WARM_UP_RUNS = Number(process.env.WARM_UP ?? 10_000)
const RUNS_PER_ROUND = Number(process.env.RUNS ?? 10_000)
const ROUNDS = Number(process.env.ROUNDS ?? 6)
const CONCURRENT = Number(process.env.CONCURRENT ?? 10_000)
const LATENCY_MS = 20
const MODEL_CALLS = TOOL_CALLS + 1

// ---- Weft ------------------------------------------------------------------------

const weftRun = Effect.map(Agent.run(agent, QUESTION, { budget }), (result) =>
  result._tag === "Completed" ? result.output : ""
)

// ---- variants ----------------------------------------------------------------------

type Variant =
  | {
      readonly kind: "effect"
      readonly run: Effect.Effect<unknown, unknown, any>
      readonly layer: (latencyMs: number) => Promise<Layer.Layer<any>>
    }
  | {
      readonly kind: "promise"
      readonly make: (latencyMs: number) => Promise<{ run: () => Promise<unknown>; forget: () => void }>
    }

const extra = new URL("./peers/agents-extra/", import.meta.url)

const variants: Record<string, Variant> = {
  weft: { kind: "effect", run: weftRun, layer: weftLayer },
  plain: {
    kind: "effect",
    run: Effect.suspend(() => Plain.run(0)),
    layer: async () => Layer.empty as Layer.Layer<any>
  },
  effectAi: { kind: "effect", run: EffectAi.run, layer: async (latency) => EffectAi.layer(latency) },
  vercel: { kind: "promise", make: async (latency) => Vercel.make(latency) }
}
// The plain loop takes its latency as an argument, not from a layer.
const plainConcurrent = Effect.suspend(() => Plain.run(LATENCY_MS))

// Optional peers live in their own folder with their own package.json; each module there
// (plain .mjs, so Weft's typecheck needs none of their packages) exports `make(latencyMs)`
// like the Vercel peer.
for (const name of ["openai-agents", "langgraph", "mastra"]) {
  const file = new URL(`${name}.mjs`, extra)
  variants[name] = {
    kind: "promise",
    make: async (latency) => (await import(file.href)).make(latency)
  }
}
const optional = new Set(["openai-agents", "langgraph", "mastra"])

const cpuMicros = () => {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

/** µs of CPU per run, over `runs` sequential runs. */
const perRun = async (variant: Variant, runs: number): Promise<number> => {
  if (variant.kind === "promise") {
    const peer = await variant.make(0)
    const start = cpuMicros()
    for (let i = 0; i < runs; i++) await peer.run()
    const micros = (cpuMicros() - start) / runs
    peer.forget()
    return micros
  }
  const loop = Effect.gen(function* () {
    const start = cpuMicros()
    for (let i = 0; i < runs; i++) yield* variant.run
    return (cpuMicros() - start) / runs
  })
  return Effect.runPromise(Effect.provide(loop, await variant.layer(0)) as Effect.Effect<number>)
}

/** Wall ms for `n` runs at once, each model call taking LATENCY_MS. */
const concurrent = async (name: string, variant: Variant, n: number): Promise<number> => {
  if (variant.kind === "promise") {
    const peer = await variant.make(LATENCY_MS)
    const start = performance.now()
    await Promise.all(Array.from({ length: n }, () => peer.run()))
    return performance.now() - start
  }
  const run = name === "plain" ? plainConcurrent : variant.run
  const layer = await variant.layer(LATENCY_MS)
  const program = Effect.gen(function* () {
    const start = performance.now()
    yield* Effect.forEach(Array.from({ length: n }), () => run, { concurrency: "unbounded", discard: true })
    return performance.now() - start
  })
  return Effect.runPromise(Effect.provide(program, layer) as Effect.Effect<number>)
}

const peakRssMB = () => process.resourceUsage().maxRSS / 1024

// ---- the breakdown: where one Weft run's time goes -----------------------------------

// The four model calls of a run alone, made as the agent makes them (the
// conversation growing by a tool call and its result each step), through
// - a bare effect/ai mock, with the agent's deferred tool-call validation, and
//   with effect/ai's default strict validation (which would fail the whole
//   response on an unknown tool or bad arguments instead of handing them back);
// - the Scripted model, metered, without and with a budget in context.
const breakdown = async (runs: number): Promise<Record<string, number>> => {
  const scripted = await weftLayer(0)
  const bare = bareLayer(0)
  const parts: Record<string, [Effect.Effect<unknown, unknown, any>, Layer.Layer<any>]> = {
    bareStrict: [fourCalls("strict"), bare],
    bareDeferred: [fourCalls("deferred"), bare],
    scripted: [fourCalls("deferred"), scripted],
    scriptedBudget: [withBudget(fourCalls("deferred")), scripted],
    agent: [weftRun, scripted]
  }
  const out: Record<string, number> = {}
  // Twice over: the first pass warms every path up, the second is kept.
  for (const [name, [effect, layer]] of [...Object.entries(parts), ...Object.entries(parts)]) {
    const loop = Effect.gen(function* () {
      for (let i = 0; i < WARM_UP_RUNS; i++) yield* effect
      const start = cpuMicros()
      for (let i = 0; i < runs; i++) yield* effect
      return (cpuMicros() - start) / runs
    })
    out[name] = await Effect.runPromise(Effect.provide(loop, layer) as Effect.Effect<number>)
  }
  return out
}

// ---- child processes -------------------------------------------------------------

const [mode, childName] = process.argv.slice(2)
if (mode === "--breakdown") {
  console.log(JSON.stringify(await breakdown(RUNS_PER_ROUND)))
  process.exit(0)
}
if (mode === "--per-run" || mode === "--concurrent") {
  const variant = variants[childName as string] as Variant
  try {
    if (mode === "--per-run") {
      await perRun(variant, WARM_UP_RUNS)
      console.log(JSON.stringify({ micros: await perRun(variant, RUNS_PER_ROUND) }))
    } else {
      // A few runs first so every variant starts warm (modules loaded, code compiled).
      await concurrent(childName as string, variant, 10)
      const wallMs = await concurrent(childName as string, variant, CONCURRENT)
      console.log(JSON.stringify({ wallMs, peakRssMB: peakRssMB() }))
    }
  } catch (error) {
    if (optional.has(childName as string) && String(error).includes("Cannot find")) {
      console.log(JSON.stringify({ missing: true }))
    } else throw error
  }
  process.exit(0)
}

// ---- the parent: rounds, the table ------------------------------------------------

const script = fileURLToPath(import.meta.url)
const child = (args: ReadonlyArray<string>): any => {
  const result = spawnSync(process.execPath, ["--max-old-space-size=4096", script, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 20
  })
  if (result.status !== 0) throw new Error(`bench/agent.ts ${args.join(" ")} failed:\n${result.stderr}`)
  return JSON.parse(result.stdout.trim().split("\n").at(-1) as string)
}

const only = process.env.ONLY?.split(",")
let names = Object.keys(variants).filter((name) => only === undefined || only.includes(name))
const skipped: Array<string> = []
for (const name of names.filter((n) => optional.has(n))) {
  if (child(["--per-run", name]).missing === true) {
    console.log(
      `${name}: not installed in bench/peers/agents-extra/ (npm install there to include it); skipped`
    )
    skipped.push(name)
  }
}
names = names.filter((name) => !skipped.includes(name))

const times: Record<string, Array<number>> = Object.fromEntries(names.map((name) => [name, []]))
const ratios: Record<string, Array<number>> = Object.fromEntries(names.map((name) => [name, []]))
for (let round = 0; round < ROUNDS; round++) {
  const order = names.map((_, k) => names[(k + round) % names.length] as string)
  const sample: Record<string, number> = {}
  for (const name of order) sample[name] = child(["--per-run", name]).micros as number
  for (const name of names) {
    times[name]?.push(sample[name] as number)
    if (sample.weft !== undefined) ratios[name]?.push((sample.weft as number) / (sample[name] as number))
  }
  process.stderr.write(`round ${round + 1}/${ROUNDS}\r`)
}

const median = (xs: ReadonlyArray<number>) =>
  xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

const parts: Record<string, Array<number>> = {}
for (let round = 0; round < Math.min(ROUNDS, 5); round++) {
  for (const [name, micros] of Object.entries(child(["--breakdown"]) as Record<string, number>))
    (parts[name] ??= []).push(micros)
}

const load: Record<string, { wallMs: number; peakRssMB: number }> = {}
for (const name of names) load[name] = child(["--concurrent", name])

const labels: Record<string, string> = {
  weft: "Weft `Agent.run` (Scripted model, fresh budget + trace per run)",
  plain: "hand-written plain-Effect loop",
  effectAi: "effect/ai toolkit loop (`generateText` + toolkit)",
  vercel: "Vercel AI SDK 6 (`generateText` + `stopWhen`)",
  "openai-agents": "OpenAI Agents JS",
  langgraph: "LangGraph.js",
  mastra: "Mastra"
}
const fmt = (n: number, digits = 1) => n.toLocaleString("en-US", { maximumFractionDigits: digits })
const peers = names.filter((name) => name !== "weft" && name !== "plain")
const fastestPeer = peers.reduce<string | undefined>(
  (best, name) =>
    best === undefined || median(times[name] as Array<number>) < median(times[best] as Array<number>)
      ? name
      : best,
  undefined
)
const rows = names.map((name) => {
  const t = times[name] as Array<number>
  const r = median(ratios[name] as Array<number>)
  const l = load[name] as { wallMs: number; peakRssMB: number }
  return `| ${labels[name] ?? name} | ${fmt(median(t))} (${fmt(Math.min(...t))}–${fmt(Math.max(...t))}) | ${name === "weft" ? "1" : fmt(r, 2)} | ${fmt(l.wallMs / 1000, 2)} s | ${fmt(l.wallMs / (MODEL_CALLS * LATENCY_MS), 1)}× | ${fmt(l.peakRssMB, 0)} MB |`
})
const weftLoad = load.weft
const fastestLoad = fastestPeer === undefined ? undefined : load[fastestPeer]
const summary =
  fastestPeer === undefined || weftLoad === undefined || fastestLoad === undefined
    ? ""
    : [
        `Against the fastest peer per run (${labels[fastestPeer]}): Weft takes ${fmt(median(ratios[fastestPeer] as Array<number>), 2)}× its time per run (median of per-round ratios; aim ≤ 0.5), and for ${fmt(CONCURRENT, 0)} runs at once ${fmt(weftLoad.wallMs / fastestLoad.wallMs, 2)}× its wall time (aim ≤ 0.17) and ${fmt(weftLoad.peakRssMB / fastestLoad.peakRssMB, 2)}× its peak RSS (aim ≤ 0.5).`,
        ""
      ].join("\n")

const part = (name: string) => median(parts[name] ?? [Number.NaN])
const breakdownRows = [
  [
    "4 `generateText` calls, bare effect/ai mock, strict tool-call validation (effect/ai's default)",
    part("bareStrict")
  ],
  [
    "4 `generateText` calls, bare effect/ai mock, deferred validation (what the agent asks for)",
    part("bareDeferred")
  ],
  [
    "the same through the Scripted model (Weft's provider shell, metered, no budget in context)",
    part("scripted")
  ],
  ["the same with a budget in context (each call reserved and settled)", part("scriptedBudget")],
  [
    "a whole `Agent.run` (budget and trace made, tools decoded, counted, run, audited, encoded)",
    part("agent")
  ]
]
  .map(([label, micros]) => `| ${label} | ${fmt(micros as number)} |`)
  .join("\n")

const doc = `# Agent loop: one run, and ${fmt(CONCURRENT, 0)} at once

One agent run: the model asks for three \`add\` tool calls, one per step, then answers (four model calls, three tool calls, trivial tool). Every variant uses its framework's own test model, answering at once from the conversation it is given. Weft's run is a full \`Agent.run\`: a fresh budget with limits on model and tool calls and a fresh trace per run, the Scripted model metered, every tool call's arguments decoded with its Schema, counted against the budget before its handler runs, audited, and its result encoded.

- **µs per run**: CPU time (user + system) per run, median of ${ROUNDS} rounds (range in brackets); each sample a fresh process that warms up with ${fmt(WARM_UP_RUNS, 0)} runs and times ${fmt(RUNS_PER_ROUND, 0)}. Rounds interleave the variants; **Weft ÷ variant** is the median of the per-round ratios, so a busy moment falls on both sides.
- **${fmt(CONCURRENT, 0)} at once**: ${fmt(CONCURRENT, 0)} runs started together, every model call taking ${LATENCY_MS} ms; wall time, its ratio to the ideal (${MODEL_CALLS} calls × ${LATENCY_MS} ms = ${MODEL_CALLS * LATENCY_MS} ms), and the process's peak RSS. Each variant in its own process.

| variant | µs per run | Weft ÷ variant | ${fmt(CONCURRENT, 0)} at once | ÷ ideal | peak RSS |
| --- | ---: | ---: | ---: | ---: | ---: |
${rows.join("\n")}

${summary}${skipped.length === 0 ? "" : `Not installed, so not measured: ${skipped.join(", ")} (install them in bench/peers/agents-extra/).\n\n`}Machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, Node ${process.version}, load average ${loadavg()
  .map((x) => x.toFixed(2))
  .join(" ")} at the end.

## Where a Weft run's time goes

The same process measures the four model calls of a run alone, made as the agent makes them, then the whole run (median of ${Math.min(ROUNDS, 5)} processes, CPU µs per run):

| what | µs |
| --- | ---: |
${breakdownRows}

The model calls are most of a run: effect/ai decodes every response against the toolkit's part Schemas, and with deferred validation (which hands back a call to an unknown tool or with bad arguments, so the agent can tell the model instead of failing the step) it also rebuilds a toolkit and re-walks the response per call; the budget's reserve and settle come on top (the request's token estimate is counted only when an input-token or cost limit reads it; the bench's budget limits model and tool calls). What the agent itself adds is the difference between the last two rows. \`bench/peers/agent-profile.ts\` measures the same split for ${fmt(CONCURRENT, 0)} runs at once (\`MODE=agent|budget|calls\`, \`BARE=1\`).

\`\`\`
node bench/agent.ts
\`\`\`
`
console.log(doc)
// A peer skipped here that the committed file measured (OpenAI Agents JS, on a clone without
// bench/peers/agents-extra/node_modules) keeps its row: the file is then left as committed.
if (only === undefined) {
  writeResults(
    fileURLToPath(new URL("../docs/bench/agent.md", import.meta.url)),
    doc,
    skipped.map((name) => ({
      part: `the ${labels[name] ?? name} row`,
      marker: tableRow(labels[name] ?? name),
      needs: "an npm install in bench/peers/agents-extra/"
    }))
  )
} else console.log("docs/bench/agent.md left as committed: ONLY runs some variants")
