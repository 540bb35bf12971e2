/**
 * Per-run overhead of a Weft workflow, side by side with its peers, in one
 * run: the same six-step pipeline (bench/peers/operations.ts: interpret,
 * retrieve, assemble, one model call answered at once by a mock, a grounding
 * check, a store) written
 * - as plain `Effect.gen` calling the same services, the model Weft's
 *   Scripted provider (metered, but with no budget in context);
 * - as plain `Effect.gen` over a bare effect/ai `LanguageModel.make` mock
 *   (bench/peers/effect-ai.ts): the floor Weft builds on;
 * - as async functions with the Vercel AI SDK's `generateText` through its
 *   `MockLanguageModelV3` (bench/peers/vercel.ts);
 * - as a Weft `Workflow` of six `Step`s run by `Workflow.run` (input and
 *   output Schemas, a fresh budget that reserves and settles the call, the
 *   run trace), over the Scripted model.
 * Each sample is a fresh process (warm-up runs, then timed runs, CPU time);
 * rounds interleave the variants, rotating their order, and each ratio is
 * taken within a round, so a busy moment on a shared machine falls on both
 * sides of a ratio. Breakdown rows isolate Weft's own cost: the pipeline with
 * the model call replaced by an echo, and with the call going to an instant
 * hand-written model that Weft meters (no effect/ai response decoding).
 *
 *   node bench/overhead.ts            (writes docs/bench/overhead.md)
 */
import { cpus, loadavg } from "node:os"
import { execFileSync, spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Effect, Layer, Schema, Stream } from "effect"
import { LanguageModel } from "effect/ai"
import { metered } from "../src/budget/Meter.ts"
import { Scripted } from "../src/model/index.ts"
import { Validator } from "../src/validation/index.ts"
import { Step, Workflow } from "../src/workflow/index.ts"
import * as EffectAi from "./peers/effect-ai.ts"
import { assemble, interpret, passages, question, reply, retrieve, store } from "./peers/operations.ts"
import * as Vercel from "./peers/vercel.ts"
import { writeResults } from "./report.ts"

const WARM_UP_RUNS = Number(process.env.WARM_UP ?? 2_000)
const RUNS_PER_ROUND = Number(process.env.RUNS ?? 4_000)
const ROUNDS = Number(process.env.ROUNDS ?? 12)

// The six operations as Effects, shared by the plain and the workflow pipelines so only the wiring differs.
const interpretStep = (q: string) => Effect.succeed(interpret(q))
const retrieveStep = (q: string) => Effect.succeed(retrieve(q))
const assembleStep = (q: string, ps: ReadonlyArray<string>) => Effect.succeed(assemble(q, ps))
const model = (prompt: string) => Effect.map(LanguageModel.generateText({ prompt }), (r) => r.text)
const validateStep = (text: string) => Validator.validate(text, Validator.grounded(passages.length))
const storeStep = (text: string) => Effect.sync(() => store(text))

// Each pipeline is written once, over its model operation: the model call
// itself, or (for the breakdown) an echo that makes none.
type CallModel = (prompt: string) => Effect.Effect<string, unknown, LanguageModel.LanguageModel>
const echo: CallModel = (prompt) => Effect.succeed(`${prompt} [1]`)

const plainPipeline = (callModel: CallModel) => (q0: string) =>
  Effect.gen(function* () {
    const q = yield* interpretStep(q0)
    const ps = yield* retrieveStep(q)
    const prompt = yield* assembleStep(q, ps)
    const text = yield* callModel(prompt)
    yield* validateStep(text)
    yield* storeStep(text)
    return text
  })

const workflowPipeline = (callModel: CallModel) =>
  Workflow.make({
    name: "bench",
    input: Schema.String,
    output: Schema.String,
    run: (q0) =>
      Effect.gen(function* () {
        const q = yield* Step.make("interpret", interpretStep(q0))
        const ps = yield* Step.make("retrieve", retrieveStep(q))
        const prompt = yield* Step.make("assemble", assembleStep(q, ps))
        const text = yield* Step.make("model", callModel(prompt))
        yield* Step.make("validate", validateStep(text))
        yield* Step.make("store", storeStep(text))
        return text
      })
  })

const budget = { modelCalls: 10, costUsd: 1, inputTokens: 100_000 }
const runs = (workflow: ReturnType<typeof workflowPipeline>) => (q: string) =>
  Workflow.run(workflow, q, { budget })

const scripted = await Effect.runPromise(Scripted.make([{ repeat: reply }], { record: false }))
const scriptedLayer = scripted.layer as Layer.Layer<LanguageModel.LanguageModel>

// For the breakdown: a hand-written LanguageModel that answers at once with a
// ready response, metered by Weft like any provider's model, so a call costs
// Weft's metering without effect/ai's per-call response decoding.
const readyResponse = {
  text: reply.text,
  usage: {
    inputTokens: { total: reply.usage.inputTokens },
    outputTokens: { total: reply.usage.outputTokens }
  }
}
const instantLayer = Layer.succeed(
  LanguageModel.LanguageModel,
  metered(
    {
      generateText: () => Effect.succeed(readyResponse),
      generateObject: () => Effect.succeed(readyResponse),
      streamText: () => Stream.empty
    } as unknown as LanguageModel.LanguageModel,
    { provider: "scripted", model: "scripted", maxOutputTokens: 1024 }
  )
)

type EffectRun = (q: string) => Effect.Effect<unknown, unknown, LanguageModel.LanguageModel>
type Variant =
  | {
      readonly kind: "effect"
      readonly run: EffectRun
      readonly layer: Layer.Layer<LanguageModel.LanguageModel>
    }
  | { readonly kind: "promise"; readonly run: (q: string) => Promise<unknown>; readonly reset: () => void }

const variants = {
  plain: { kind: "effect", run: plainPipeline(model), layer: scriptedLayer },
  effectAi: { kind: "effect", run: plainPipeline(model), layer: EffectAi.layer },
  vercel: { kind: "promise", run: Vercel.pipeline, reset: Vercel.forgetCalls },
  workflow: { kind: "effect", run: runs(workflowPipeline(model)), layer: scriptedLayer },
  trivialPlain: { kind: "effect", run: plainPipeline(echo), layer: scriptedLayer },
  trivialWorkflow: { kind: "effect", run: runs(workflowPipeline(echo)), layer: scriptedLayer },
  instantPlain: { kind: "effect", run: plainPipeline(model), layer: instantLayer },
  instantWorkflow: { kind: "effect", run: runs(workflowPipeline(model)), layer: instantLayer }
} satisfies Record<string, Variant>
type Name = keyof typeof variants

// Time is the process's CPU time (user + system, every thread: garbage
// collection included), not the wall clock: on a machine shared with other
// work the wall clock also counts the time the process waited for a core.
const cpuMicros = () => {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

/** Runs `runs` runs of a variant; µs of CPU per run. */
const measure = async (variant: Variant, runs: number): Promise<number> => {
  if (variant.kind === "promise") {
    variant.reset()
    const start = cpuMicros()
    for (let i = 0; i < runs; i++) await variant.run(question)
    return (cpuMicros() - start) / runs
  }
  const loop = Effect.gen(function* () {
    const start = cpuMicros()
    for (let i = 0; i < runs; i++) yield* variant.run(question)
    return (cpuMicros() - start) / runs
  })
  return Effect.runPromise(Effect.provide(loop, variant.layer))
}

const median = (xs: ReadonlyArray<number>) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const child = process.argv[2] as Name | undefined
if (child !== undefined) {
  // One sample: a fresh process warms one variant up (JIT, tokenizer tables), then times it.
  await measure(variants[child], WARM_UP_RUNS)
  console.log(JSON.stringify(await measure(variants[child], RUNS_PER_ROUND)))
  process.exit(0)
}

// ONLY=plain,workflow runs just those; the docs are then left alone.
const only = process.env.ONLY?.split(",")
const names = (Object.keys(variants) as Array<Name>).filter(
  (name) => only === undefined || only.includes(name)
)
const times = Object.fromEntries(names.map((name) => [name, [] as Array<number>])) as Record<
  Name,
  Array<number>
>
const script = fileURLToPath(import.meta.url)
const sample = (name: Name): number => {
  const result = spawnSync(process.execPath, [script, name], { encoding: "utf8" })
  if (result.status !== 0) throw new Error(`bench/overhead.ts ${name} failed:\n${result.stderr}`)
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as number
}
// Each sample is its own process, so no variant runs on code the others made
// polymorphic or pays for their garbage; rounds interleave the variants,
// rotating their order, so a busy moment on the machine falls on all of them.
for (let i = 0; i < ROUNDS; i++) {
  const order = names.map((_, k) => names[(k + i) % names.length]!)
  for (const name of order) times[name].push(sample(name))
  process.stderr.write(`round ${i + 1}/${ROUNDS}\r`)
}

interface Stat {
  readonly median: number
  readonly low: number
  readonly high: number
}
const stat = (xs: ReadonlyArray<number>): Stat => ({
  median: median(xs),
  low: Math.min(...xs),
  high: Math.max(...xs)
})
const ratio = (a: Name, b: Name): Stat => stat(times[a].map((us, i) => us / times[b][i]!))

const us = (s: Stat) => `${s.median.toFixed(1)} (${s.low.toFixed(1)}–${s.high.toFixed(1)})`
const times2 = (s: Stat) => `${s.median.toFixed(2)}× (${s.low.toFixed(2)}–${s.high.toFixed(2)}×)`
const verdict = (s: Stat, target: number) => (s.median <= target ? "met" : "not met")

const stats = Object.fromEntries(names.map((name) => [name, stat(times[name])])) as Record<Name, Stat>
if (only !== undefined) {
  for (const name of names) console.log(`${name}: ${us(stats[name])} µs of CPU / run`)
  process.exit(0)
}
const vsPlain = ratio("workflow", "plain")
const vsEffectAi = ratio("workflow", "effectAi")
const vsVercel = ratio("workflow", "vercel")

const timeTable = [
  "| variant | µs of CPU / run, median (range) |",
  "| --- | --- |",
  `| (a) plain \`Effect.gen\`, same services, Weft Scripted model (metered, no budget in context) | ${us(stats.plain)} |`,
  `| (b) effect/ai bare: plain \`Effect.gen\`, \`LanguageModel.generateText\` on a \`LanguageModel.make\` mock | ${us(stats.effectAi)} |`,
  `| (c) Vercel AI SDK: async functions, \`generateText\` on \`MockLanguageModelV3\` | ${us(stats.vercel)} |`,
  `| (d) Weft \`Workflow.run\`: six Steps + budget + trace + schema checks, Scripted model | ${us(stats.workflow)} |`,
  `| breakdown: (a) without the model call | ${us(stats.trivialPlain)} |`,
  `| breakdown: (d) without the model call | ${us(stats.trivialWorkflow)} |`,
  `| breakdown: (a), the call to an instant hand-written model (no effect/ai response decoding) | ${us(stats.instantPlain)} |`,
  `| breakdown: (d), the call to the same instant model, metered | ${us(stats.instantWorkflow)} |`
].join("\n")

const ratioTable = [
  "| ratio (median of the rounds' ratios, range) | value | target |",
  "| --- | --- | --- |",
  `| Weft / plain Effect (d / a) | ${times2(vsPlain)} | ≤ 1.3× (${verdict(vsPlain, 1.3)}) |`,
  `| Weft / effect/ai bare (d / b) | ${times2(vsEffectAi)} | ≤ 1.2× (${verdict(vsEffectAi, 1.2)}) |`,
  `| Weft / Vercel AI SDK (d / c) | ${times2(vsVercel)} | — |`,
  `| Weft's added cost per run over (a) | ${(stats.workflow.median - stats.plain.median).toFixed(1)} µs | |`,
  `| Weft's added cost per run over (b) | ${(stats.workflow.median - stats.effectAi.median).toFixed(1)} µs | |`,
  `| Weft's machinery alone: (d) − (a) with the instant model | ${(stats.instantWorkflow.median - stats.instantPlain.median).toFixed(1)} µs | |`
].join("\n")

const cpu = cpus()
const machine = `${cpu[0]?.model.trim() ?? "unknown CPU"}, ${cpu.length} cores (shared with other work: load average ${loadavg()
  .map((l) => l.toFixed(1))
  .join(" / ")} at the end)`
const date = new Date().toISOString().slice(0, 10)
const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim()
const uncommitted = execFileSync("git", ["status", "--porcelain", "--", "src"], { encoding: "utf8" })
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => `\`${line.slice(3)}\``)
const at =
  uncommitted.length === 0 ? `\`${commit}\`` : `\`${commit}\` with uncommitted ${uncommitted.join(", ")}`
const aiVersion = (await import("ai/package.json", { with: { type: "json" } })).default.version
const effectVersion = (await import("effect/package.json", { with: { type: "json" } })).default.version

console.log(`${timeTable}\n\n${ratioTable}`)
writeResults(
  fileURLToPath(new URL("../docs/bench/overhead.md", import.meta.url)),
  `# Workflow overhead, side by side

Measured ${date} at commit ${at} with Node ${process.version} on ${process.platform}/${process.arch}, ${machine}, by \`node bench/overhead.ts\` (\`npm run bench\` runs it with the others): ${ROUNDS} rounds; in each, every variant runs in a fresh process, ${WARM_UP_RUNS.toLocaleString("en-US")} runs to warm up, then ${RUNS_PER_ROUND.toLocaleString("en-US")} timed runs; effect ${effectVersion}, ai ${aiVersion}. Times are CPU time (user + system, all of the process's threads, garbage collection included), not wall time: the machine was shared with other work.

${timeTable}

${ratioTable}

Every variant runs the same six operations (bench/peers/operations.ts): trim the question, take two passages, assemble the prompt, one model call answered at once by a mock with the same text and usage, a grounding check of the answer's citations (Weft's \`Validator.grounded\`), a store. Only the wiring differs:

- **(a)** is the pipeline a person would write by hand with Effect and Weft's services: \`Effect.gen\`, the model Weft's Scripted provider (\`Scripted.make([{ repeat }], { record: false })\`), whose layer is metered but finds no budget in context and goes straight through.
- **(b)** is the same \`Effect.gen\` over a bare effect/ai \`LanguageModel.make\` mock (bench/peers/effect-ai.ts): what effect/ai itself costs, the floor Weft builds on.
- **(c)** is the Vercel AI SDK's own idiom (bench/peers/vercel.ts): async functions, \`generateText\` through \`MockLanguageModelV3\` from \`ai/test\`.
- **(d)** is a Weft \`Workflow\` of six \`Step\`s run by \`Workflow.run\`: it decodes the input and checks the output with their Schemas, makes a fresh in-memory budget (limits on calls, input tokens and cost), reserves the model call's estimate before it (the prompt counted by the tokenizer) and settles it after from the reported usage, records the run trace (a start and an end event per step, a usage event per call) and builds the usage report.

Each sample is a fresh process, so no variant runs on code the others made polymorphic or pays for their garbage; rounds interleave the variants, rotating their order, and a ratio is taken within each round, so a busy moment on the shared machine falls on both of its sides. The spread between rounds is large on a shared machine: read the medians.

Breakdown. effect/ai decodes every response with a Schema built for the call, and much of that garbage survives to the old generation, so the model call's cost swings with the heap's major collections (blocks of 1,000 calls measured from 20 to 200 µs each in one process); it is the same in (a), (b) and (d). The breakdown isolates Weft: with the model call replaced by an echo, (d) − (a) is the workflow machinery (run set-up, budget, trace, six traced steps, the Schemas, the report); with the call going to an instant hand-written \`LanguageModel\` that Weft meters (no response decoding), (d) − (a) is that machinery plus metering the call (estimate with the tokenizer, reserve, settle, usage event).

Where Weft's time goes (CPU profiles, \`node --cpu-prof\`, of the instant-model rows): the six traced steps (each a look at the fiber, a context labelled with the step, start and end events, an exit observer), the run's set-up (trace, in-memory budget, input decode, output check, usage report) and metering the call (the prompt's token count, then the budget's reserve and settle, each one synchronous check-and-add in an Effect) each cost a few µs; no single hot spot is left. The rest of (d) − (a) with the real model is effect/ai's model call costing more inside a run than outside (more garbage alive when its major collections come).
`
)
