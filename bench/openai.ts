/**
 * What the OpenAI provider adds to a call, against the bare `openai` SDK,
 * both talking to the fake OpenAI-compatible server over real HTTP on
 * 127.0.0.1 (the server runs in its own process, request validation off, so
 * only the client side differs):
 * - a non-streamed call: the SDK's `chat.completions.create` awaited, against
 *   Weft's `LanguageModel.generateText` on `OpenAi.model` (mapping, typed
 *   errors, retry wrapper, metering with no budget in context), and the same
 *   inside a run's budget (reserve + settle per call);
 * - a streamed call: time to the first text delta, SDK `create({ stream: true })`
 *   against `LanguageModel.streamText`.
 * Wall time per call (it is I/O); rounds interleave the variants, rotating
 * their order, and each ratio is taken within a round.
 *
 *   node bench/openai.ts            (writes docs/bench/openai.md)
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { cpus, loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { Context, Effect, Layer, Redacted, Stream } from "effect"
import { LanguageModel, type Response } from "effect/ai"
import OpenAI from "openai"
import { VERSION as openaiVersion } from "openai/version"
import * as Budget from "../src/budget/Budget.ts"
import * as OpenAi from "../src/model/OpenAi.ts"
import { writeResults } from "./report.ts"

const WARM_UP = Number(process.env.WARM_UP ?? 200)
const CALLS = Number(process.env.CALLS ?? 300)
const ROUNDS = Number(process.env.ROUNDS ?? 8)
const STREAM_CALLS = Number(process.env.STREAM_CALLS ?? 150)
const PROMPT = "How does Weft keep a run within its budget?"
const MODEL = "gpt-4.1-mini"

const startServer = (): Promise<{ url: string; child: ChildProcess }> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL("../test/fixtures/openai/serve.ts", import.meta.url)), "--no-validate"],
      { stdio: ["pipe", "pipe", "inherit"] }
    )
    let out = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split("\n")[0]
      if (out.includes("\n") && line !== undefined) resolve({ url: line.trim(), child })
    })
    child.on("error", reject)
  })

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const range = (xs: ReadonlyArray<number>, digits = 1) =>
  `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`

const { url, child } = await startServer()
const sdk = new OpenAI({ apiKey: "sk-bench", baseURL: url, maxRetries: 0 })
const context = await Effect.runPromise(
  Layer.build(
    OpenAi.model({ model: MODEL, maxOutputTokens: 256 }).pipe(
      Layer.provide(OpenAi.layerClient({ apiKey: Redacted.make("sk-bench"), baseUrl: url }))
    )
  ).pipe(Effect.scoped)
)
// The floor any effect/ai provider stands on: a minimal `LanguageModel.make` over the same SDK call.
const floor = await Effect.runPromise(
  LanguageModel.make({
    generateText: () =>
      Effect.map(
        Effect.promise(() =>
          sdk.chat.completions.create({
            model: MODEL,
            messages: [{ role: "user", content: PROMPT }],
            max_completion_tokens: 256
          })
        ),
        (completion): Array<Response.PartEncoded> => [
          { type: "text", text: completion.choices[0]?.message.content ?? "" },
          {
            type: "finish",
            reason: "stop",
            usage: {
              inputTokens: { total: completion.usage?.prompt_tokens },
              outputTokens: { total: completion.usage?.completion_tokens }
            }
          }
        ]
      ),
    streamText: () => Stream.die("not used")
  })
)
const budgeted = Layer.build(Budget.layer({ modelCalls: 1_000_000, costUsd: 1_000 })).pipe(Effect.scoped)

// ---- the variants: each runs `n` calls in sequence and returns µs per call ----------

/** Wall and CPU (this process: user + system) µs per call. */
interface PerCall {
  readonly wall: number
  readonly cpu: number
}
const cpuNow = () => {
  const { user, system } = process.cpuUsage()
  return user + system
}

const bareSdk = async (n: number): Promise<PerCall> => {
  const start = performance.now()
  const cpu = cpuNow()
  for (let i = 0; i < n; i++) {
    const completion = await sdk.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: PROMPT }],
      max_completion_tokens: 256
    })
    if (completion.choices[0]?.message.content === undefined) throw new Error("no answer")
  }
  return { wall: ((performance.now() - start) * 1000) / n, cpu: (cpuNow() - cpu) / n }
}

const weftCalls = (n: number, withBudget: boolean) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const budget = withBudget ? yield* budgeted : undefined
      const start = performance.now()
      const cpu = cpuNow()
      for (let i = 0; i < n; i++) {
        const call = LanguageModel.generateText({ prompt: PROMPT })
        const response = yield* budget === undefined
          ? call
          : Effect.provideContext(call, Context.merge(context, budget))
        if (response.text.length === 0) throw new Error("no answer")
      }
      return { wall: ((performance.now() - start) * 1000) / n, cpu: (cpuNow() - cpu) / n }
    }).pipe(Effect.provideContext(context)) as Effect.Effect<PerCall>
  )

const floorCalls = (n: number) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const start = performance.now()
      const cpu = cpuNow()
      for (let i = 0; i < n; i++) {
        const response = yield* floor.generateText({ prompt: PROMPT })
        if (response.text.length === 0) throw new Error("no answer")
      }
      return { wall: ((performance.now() - start) * 1000) / n, cpu: (cpuNow() - cpu) / n }
    })
  )

const sdkFirstDelta = async (n: number): Promise<PerCall> => {
  const times: Array<number> = []
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    let first: number | undefined
    const stream = await sdk.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: PROMPT }],
      max_completion_tokens: 256,
      stream: true,
      stream_options: { include_usage: true }
    })
    for await (const chunk of stream) {
      if (first === undefined && (chunk.choices[0]?.delta.content ?? "") !== "") first = performance.now()
    }
    times.push(((first ?? Number.NaN) - start) * 1000)
  }
  return { wall: median(times), cpu: Number.NaN }
}

const weftFirstDelta = (n: number) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const times: Array<number> = []
      for (let i = 0; i < n; i++) {
        const start = performance.now()
        let first: number | undefined
        yield* Stream.runForEach(LanguageModel.streamText({ prompt: PROMPT }), (part) =>
          Effect.sync(() => {
            if (first === undefined && part.type === "text-delta") first = performance.now()
          })
        )
        times.push(((first ?? Number.NaN) - start) * 1000)
      }
      return { wall: median(times), cpu: Number.NaN }
    }).pipe(Effect.provideContext(context)) as Effect.Effect<PerCall>
  )

// ---- measure ------------------------------------------------------------------------

const variants = {
  sdk: () => bareSdk(CALLS),
  floor: () => floorCalls(CALLS),
  weft: () => weftCalls(CALLS, false),
  weftBudget: () => weftCalls(CALLS, true),
  sdkStream: () => sdkFirstDelta(STREAM_CALLS),
  weftStream: () => weftFirstDelta(STREAM_CALLS)
} as const
type Name = keyof typeof variants
const names = Object.keys(variants) as Array<Name>

console.log(`warming up (${WARM_UP} calls each)…`)
await bareSdk(WARM_UP)
await floorCalls(WARM_UP)
await weftCalls(WARM_UP, false)
await weftCalls(WARM_UP, true)
await sdkFirstDelta(WARM_UP / 4)
await weftFirstDelta(WARM_UP / 4)

const wall: Record<Name, Array<number>> = {
  sdk: [],
  floor: [],
  weft: [],
  weftBudget: [],
  sdkStream: [],
  weftStream: []
}
const cpu: Record<Name, Array<number>> = {
  sdk: [],
  floor: [],
  weft: [],
  weftBudget: [],
  sdkStream: [],
  weftStream: []
}
const ratios = {
  wall: [] as Array<number>,
  cpu: [] as Array<number>,
  floorCpu: [] as Array<number>,
  overFloor: [] as Array<number>,
  budgetCpu: [] as Array<number>,
  stream: [] as Array<number>
}
for (let round = 0; round < ROUNDS; round++) {
  const order = names.map((_, i) => names[(i + round) % names.length]!)
  const got = {} as Record<Name, PerCall>
  for (const name of order) got[name] = await variants[name]()
  for (const name of names) {
    wall[name].push(got[name].wall)
    cpu[name].push(got[name].cpu)
  }
  ratios.wall.push(got.weft.wall / got.sdk.wall)
  ratios.cpu.push(got.weft.cpu / got.sdk.cpu)
  ratios.floorCpu.push(got.floor.cpu / got.sdk.cpu)
  ratios.overFloor.push(got.weft.cpu / got.floor.cpu)
  ratios.budgetCpu.push(got.weftBudget.cpu / got.sdk.cpu)
  ratios.stream.push(got.weftStream.wall / got.sdkStream.wall)
  console.log(
    `round ${round + 1}/${ROUNDS}: cpu sdk ${got.sdk.cpu.toFixed(0)} µs, weft ${got.weft.cpu.toFixed(0)} µs (${(got.weft.cpu / got.sdk.cpu).toFixed(2)}×), ` +
      `with budget ${got.weftBudget.cpu.toFixed(0)} µs; wall sdk ${got.sdk.wall.toFixed(0)} µs, weft ${got.weft.wall.toFixed(0)} µs; ` +
      `first delta sdk ${got.sdkStream.wall.toFixed(0)} µs, weft ${got.weftStream.wall.toFixed(0)} µs`
  )
}
child.stdin!.end()

// ---- report -------------------------------------------------------------------------

const us = (table: Record<Name, Array<number>>, name: Name) =>
  `${median(table[name]).toFixed(0)} (${range(table[name], 0)})`
const ratio = (xs: ReadonlyArray<number>) => `${median(xs).toFixed(2)}× (${range(xs, 2)}×)`
const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"]).toString().trim()
const load = loadavg()
  .map((x) => x.toFixed(1))
  .join(" / ")
const met = (xs: ReadonlyArray<number>) => (median(xs) <= 1.2 ? "met" : "not met")
const report = `# OpenAI provider overhead

Measured ${new Date().toISOString().slice(0, 10)} at commit \`${commit}\` with Node ${process.version} on ${process.platform}/${process.arch}, ${cpus()[0]?.model.split(" ").slice(0, 2).join(" ") ?? "?"}, ${cpus().length} cores (shared with other work: load average ${load} at the end), by \`node bench/openai.ts\`: openai ${openaiVersion}; the fake OpenAI-compatible server (test/fixtures/openai) in its own process on 127.0.0.1, request validation off; ${ROUNDS} rounds, each variant ${CALLS} calls in sequence per round (${STREAM_CALLS} for streams) after ${WARM_UP} warm-up calls. Two clocks: CPU time of the measuring (client) process per call — what the provider itself costs, and the steadier figure on a shared machine — and wall time per call, which adds the loopback and the server's own time (the same for both sides) and the noise of a busy machine. Time to first delta is the median over a round's streamed calls, wall time.

| variant | CPU µs / call (client process), median of rounds (range) | wall µs / call, median (range) |
| --- | --- | --- |
| (a) bare \`openai\` SDK: \`chat.completions.create\` awaited | ${us(cpu, "sdk")} | ${us(wall, "sdk")} |
| (f) floor: a minimal effect/ai \`LanguageModel.make\` over the same SDK call | ${us(cpu, "floor")} | ${us(wall, "floor")} |
| (b) Weft: \`LanguageModel.generateText\` on \`OpenAi.model\` (no budget in context) | ${us(cpu, "weft")} | ${us(wall, "weft")} |
| (c) Weft, inside a run's budget (each call reserved and settled) | ${us(cpu, "weftBudget")} | ${us(wall, "weftBudget")} |
| (d) bare SDK stream: time to first text delta | — | ${us(wall, "sdkStream")} |
| (e) Weft \`LanguageModel.streamText\`: time to first text delta | — | ${us(wall, "weftStream")} |

| ratio (median of the rounds' ratios, range) | value | target |
| --- | --- | --- |
| Weft / bare SDK, non-streamed, client CPU (b / a) | ${ratio(ratios.cpu)} | ≤ 1.2× (${met(ratios.cpu)}) |
| effect/ai floor / bare SDK, client CPU (f / a) | ${ratio(ratios.floorCpu)} | — |
| Weft / effect/ai floor, client CPU (b / f) | ${ratio(ratios.overFloor)} | — |
| Weft / bare SDK, non-streamed, wall (b / a) | ${ratio(ratios.wall)} | ≤ 1.2× (${met(ratios.wall)}) |
| Weft with budget / bare SDK, client CPU (c / a) | ${ratio(ratios.budgetCpu)} | — |
| Weft / bare SDK, time to first delta (e / d) | ${ratio(ratios.stream)} | — |
| Weft's added client CPU per non-streamed call (b − a) | ${(median(cpu.weft) - median(cpu.sdk)).toFixed(0)} µs | |

(a) is the SDK call a person would write. (b) is the same request through Weft: the prompt mapped to Chat Completions messages, the SDK call (built with \`maxRetries: 0\`) run as an interruptible Effect with a timeout, the response mapped back to effect/ai parts and decoded by effect/ai's \`LanguageModel\`, the retry wrapper and the metering decorator (which finds no budget and goes straight through). (f) is the least any \`effect/ai\` provider does — \`LanguageModel.make\` around the SDK call, answering with a text part and a finish part — so (b / f) is what Weft's provider adds on top of effect/ai, and (f / a) what effect/ai itself costs. (c) adds a budget: the prompt counted by the tokenizer, a reservation before the call and a settlement after. (d) and (e) stream the same answer (a role chunk, one text chunk per word, a finish chunk and a usage chunk) and time the first text delta a caller sees.

Reproduce: \`node bench/openai.ts\` (env \`CALLS\`, \`ROUNDS\`, \`STREAM_CALLS\`, \`WARM_UP\` change the sizes).
`
console.log(`\n${report}`)
writeResults(fileURLToPath(new URL("../docs/bench/openai.md", import.meta.url)), report)
