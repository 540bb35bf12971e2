/**
 * Exporting a run's spans over OTLP with effect/observability, to be read in
 * any OpenTelemetry backend (Jaeger, Grafana Tempo, Honeycomb, Langfuse, …).
 *
 * With `OTEL_EXPORTER_OTLP_ENDPOINT` set (e.g. `http://localhost:4318`, an
 * OpenTelemetry Collector or Jaeger's OTLP port) the spans go there. Without
 * it the snippet starts a stand-in collector on 127.0.0.1 that receives the
 * same OTLP/HTTP JSON and prints the spans it got, so it runs offline.
 *
 *   node --import ./docs/snippets/support/resolve-self.ts docs/snippets/observability.ts
 */
import { createServer } from "node:http"
import { Console, Effect, Layer, Schedule, Schema } from "effect"
import { AiError, LanguageModel } from "effect/ai"
import { FetchHttpClient } from "effect/http"
import { OtlpSerialization, OtlpTracer } from "effect/observability"
import { Report, Scripted, Step, Tokens, Trace, Workflow } from "weft-ai"

const answer = Workflow.make({
  name: "answer",
  input: Schema.String,
  output: Schema.String,
  run: (question) =>
    Effect.gen(function* () {
      const prompt = yield* Step.make("assemble", Effect.succeed(`Answer briefly: ${question}`))
      const response = yield* Step.make("model", LanguageModel.generateText({ prompt }), {
        retry: Schedule.max([Schedule.spaced("10 millis"), Schedule.recurs(2)])
      })
      return response.text
    })
})

// The tracer that exports: OTLP over HTTP, JSON encoded, batched and flushed
// when the layer is released (at the end of the program).
const otlpTracing = (url: string) =>
  OtlpTracer.layer({ url, resource: { serviceName: "weft-docs" } }).pipe(
    Layer.provide(OtlpSerialization.layerJson),
    Layer.provide(FetchHttpClient.layer)
  )

/** A stand-in for a collector: keeps what is POSTed to /v1/traces. */
const standInCollector = Effect.acquireRelease(
  Effect.callback<{ readonly url: string; readonly received: Array<unknown>; readonly close: () => void }>(
    (resume) => {
      const received: Array<unknown> = []
      const server = createServer((request, response) => {
        let body = ""
        request.on("data", (chunk) => {
          body += chunk
        })
        request.on("end", () => {
          if (request.url === "/v1/traces") received.push(JSON.parse(body))
          response.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, received, close: () => server.close() }))
      })
    }
  ),
  (collector) => Effect.sync(collector.close)
)

interface OtlpSpan {
  readonly name: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: Record<string, unknown> }>
}

/** The spans in OTLP export requests, in the order they were exported. */
const spansOf = (requests: ReadonlyArray<unknown>): Array<OtlpSpan> =>
  (requests as Array<{ resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<OtlpSpan> }> }> }>).flatMap(
    (request) => request.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))
  )

const program = Effect.gen(function* () {
  yield* Tokens.warm
  const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
  const collector = endpoint === undefined ? yield* standInCollector : undefined
  const baseUrl = endpoint ?? collector?.url ?? ""

  // A model that is rate limited once, then answers: the model step is retried.
  const model = Scripted.layer([
    { fail: new AiError.RateLimitError({}) },
    { text: "Spans, exported.", usage: { inputTokens: 21, outputTokens: 3 } }
  ])
  const result = yield* Workflow.run(answer, "What does a run export?").pipe(
    Effect.provide(model),
    // Spans are opt-in: Trace.layerSpans turns them on, the OTLP layer sends them.
    Effect.provide(Layer.merge(Trace.layerSpans, otlpTracing(`${baseUrl}/v1/traces`)))
  )
  yield* Console.log(`${result.output}\n${Report.timeline(result.trace)}\n`)

  if (collector === undefined) {
    yield* Console.log(`Spans sent to ${baseUrl}/v1/traces`)
    return
  }
  const spans = spansOf(collector.received)
  const names = new Map(spans.map((span) => [span.spanId, span.name]))
  const shown = new Set([
    "weft.step.attempts",
    "weft.step.outcome",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens"
  ])
  yield* Console.log(`The stand-in collector received ${spans.length} spans:`)
  for (const span of spans) {
    const parent = span.parentSpanId === undefined ? undefined : names.get(span.parentSpanId)
    const attributes = span.attributes
      .filter((a) => shown.has(a.key))
      .map((a) => `${a.key}=${Object.values(a.value)[0]}`)
      .join(" ")
    yield* Console.log(
      `  ${span.name.padEnd(28)} ${parent === undefined ? "" : `(in ${parent}) `}${attributes}`
    )
  }
})

Effect.runPromise(Effect.scoped(program))
