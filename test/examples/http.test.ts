/**
 * The HTTP example as a client meets it: the server from examples/http.ts
 * listening on a free loopback port, real HTTP requests with `fetch`, and
 * the statuses and JSON bodies that come back — an answer with citations and
 * usage, 400 for bad input, 429 when a request's budget refuses the run, and
 * concurrent requests each under a budget of their own.
 *
 * The server runs on the real clock (`excludeTestServices`): nothing here
 * depends on time, and a server's request fibers should see the clock a
 * deployed server does.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { limitsFor, serve } from "../../examples/http.ts"

const root = fileURLToPath(new URL("../..", import.meta.url))
const handbook = fileURLToPath(new URL("../../examples/data/handbook", import.meta.url))

class Server extends Context.Service<Server, { readonly url: string; readonly documents: number }>()(
  "test/examples/http/Server"
) {}

const ServerLive = Layer.effect(
  Server,
  Effect.map(
    serve({
      corpus: handbook,
      port: 0,
      host: "127.0.0.1",
      budget: { modelCalls: 5, wallTime: "30 seconds" }
    }),
    (server) => ({ url: server.url, documents: server.size.documents })
  )
).pipe(Layer.provide(NodeServices.layer))

interface Reply {
  readonly status: number
  readonly contentType: string
  readonly body: any
}

const request = (path: string, init?: RequestInit): Effect.Effect<Reply, unknown, Server> =>
  Effect.flatMap(Server, (server) =>
    Effect.tryPromise(async () => {
      const response = await fetch(`${server.url}${path}`, init)
      const text = await response.text()
      return {
        status: response.status,
        contentType: response.headers.get("content-type") ?? "",
        body: text.length === 0 ? undefined : JSON.parse(text)
      }
    })
  )

const ask = (body: unknown) =>
  request("/ask", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

const QUESTIONS = [
  "How long do refunds take?",
  "How long does standard delivery take?",
  "What does error code E12 mean?",
  "How quickly must critical tickets get a reply?",
  "When is a parcel treated as lost?",
  "How long is the frame covered by the warranty?",
  "How much is the restocking fee?",
  "When should a ticket be escalated to the product team?"
]

layer(ServerLive, { excludeTestServices: true, timeout: 60_000 })("examples/http", (it) => {
  it.effect("GET /health says the server is up and what it indexed", () =>
    Effect.gen(function* () {
      const reply = yield* request("/health")
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(reply.body.status, "ok")
      assert.strictEqual(reply.body.documents, 4)
      assert.isAbove(reply.body.passages, 4)
    })
  )

  it.effect("POST /ask answers from the folder with citations and the request's usage", () =>
    Effect.gen(function* () {
      const reply = yield* ask({ question: "What does error code E12 mean?" })
      assert.strictEqual(reply.status, 200, JSON.stringify(reply.body))
      assert.match(reply.contentType, /application\/json/)
      assert.match(reply.body.answer, /overloaded/)
      assert.strictEqual(reply.body.citations.length, 1)
      const [citation] = reply.body.citations
      assert.include(reply.body.answer, `[${citation.n}]`)
      assert.strictEqual(citation.sourceId, "warranty.md")
      assert.match(citation.excerpt, /E12/)
      // The sentence the answer quoted, for a client to show beside it.
      assert.match(citation.quote, /E12/)
      assert.include(reply.body.answer, citation.quote.split(" … ")[0].replace(/\.$/, ""))
      assert.strictEqual(reply.body.attempts, 1)
      assert.strictEqual(reply.body.usage.modelCalls, 1)
      assert.isAbove(reply.body.usage.inputTokens, 0)
      assert.isAbove(reply.body.usage.outputTokens, 0)
    })
  )

  it.effect("bad input is a 400 with a JSON problem: not JSON, no question, an empty question", () =>
    Effect.gen(function* () {
      const notJson = yield* ask("{question:")
      assert.strictEqual(notJson.status, 400)
      assert.match(notJson.contentType, /application\/problem\+json/)
      assert.strictEqual(notJson.body.title, "Bad Request")

      const noQuestion = yield* ask({ query: "How long do refunds take?" })
      assert.strictEqual(noQuestion.status, 400)
      assert.deepInclude(
        noQuestion.body.errors.map((e: { path: Array<string> }) => e.path.join(".")),
        "payload.question"
      )

      const wrongType = yield* ask({ question: "Refunds?", budget: { modelCalls: "two" } })
      assert.strictEqual(wrongType.status, 400)

      const empty = yield* ask({ question: "   " })
      assert.strictEqual(empty.status, 400, JSON.stringify(empty.body))
      assert.match(empty.contentType, /application\/problem\+json/)
      assert.strictEqual(empty.body.type, "urn:weft-ai:problem:bad-input")
      assert.match(empty.body.detail, /empty/i)
    })
  )

  it.effect("a limit out of range is bad input (400), not a server error", () =>
    Effect.gen(function* () {
      const reply = yield* ask({ question: "How long do refunds take?", budget: { modelCalls: 0 } })
      assert.strictEqual(reply.status, 400, JSON.stringify(reply.body))
      assert.match(reply.contentType, /application\/problem\+json/)
      assert.match(JSON.stringify(reply.body.errors), /payload\.budget\.modelCalls|"modelCalls"/)
    })
  )

  it.effect("a limit the client sent wrong is named as the client sent it", () =>
    Effect.gen(function* () {
      const paths = (reply: Reply) =>
        reply.body.errors.map((e: { path: Array<string> }) => e.path.join(".")).join(" ")
      const negative = yield* ask({ question: "Refunds?", budget: { wallTimeMs: -1 } })
      assert.strictEqual(negative.status, 400, JSON.stringify(negative.body))
      assert.include(paths(negative), "payload.budget.wallTimeMs")
      const text = yield* ask({ question: "Refunds?", budget: { modelCalls: "x" } })
      assert.strictEqual(text.status, 400)
      assert.include(paths(text), "payload.budget.modelCalls")
      assert.notMatch(JSON.stringify(text.body), /Infinity/)
    })
  )

  it.effect("a request can tighten the server's limits but not raise them", () =>
    Effect.gen(function* () {
      // The server allows 5 model calls a request; asking for a million still allows 5.
      assert.deepStrictEqual(
        limitsFor({ modelCalls: 5, wallTime: "30 seconds" }, { modelCalls: 1_000_000, wallTimeMs: 1_000 }),
        {
          modelCalls: 5,
          wallTime: 1_000,
          inputTokens: undefined,
          outputTokens: undefined,
          costUsd: undefined
        }
      )
      const raised = yield* ask({
        question: "What does error code E12 mean?",
        budget: { modelCalls: 1_000_000 }
      })
      assert.strictEqual(raised.status, 200, JSON.stringify(raised.body))
      assert.strictEqual(raised.body.usage.modelCalls, 1)
    })
  )

  it.effect("a budget too small for the question is refused with 429, naming the limit", () =>
    Effect.gen(function* () {
      const reply = yield* ask({ question: "How long do refunds take?", budget: { inputTokens: 10 } })
      assert.strictEqual(reply.status, 429, JSON.stringify(reply.body))
      assert.match(reply.contentType, /application\/problem\+json/)
      assert.strictEqual(reply.body.type, "urn:weft-ai:problem:budget-refused")
      assert.strictEqual(reply.body.limit, "inputTokens")
      assert.strictEqual(reply.body.max, 10)
      assert.isAbove(reply.body.attempted, 10)
      assert.match(reply.body.detail, /inputTokens/)
    })
  )

  it.effect("8 concurrent requests each run under their own budget and report only their own calls", () =>
    Effect.gen(function* () {
      // Each question alone first: what its run spends and answers.
      const alone = yield* Effect.forEach(QUESTIONS, (question) =>
        ask({ question, budget: { modelCalls: 3 } })
      )
      for (const reply of alone) assert.strictEqual(reply.status, 200, JSON.stringify(reply.body))

      // Then all at once, every other one with a budget too small to start.
      const together = yield* Effect.forEach(
        QUESTIONS,
        (question, i) => ask({ question, budget: i % 2 === 0 ? { modelCalls: 3 } : { inputTokens: 10 } }),
        { concurrency: "unbounded" }
      )
      together.forEach((reply, i) => {
        if (i % 2 === 1) {
          assert.strictEqual(reply.status, 429, JSON.stringify(reply.body))
          return
        }
        const solo = alone[i]!.body
        assert.strictEqual(reply.status, 200, JSON.stringify(reply.body))
        assert.strictEqual(reply.body.answer, solo.answer)
        assert.strictEqual(reply.body.usage.modelCalls, solo.usage.modelCalls)
        assert.strictEqual(reply.body.usage.inputTokens, solo.usage.inputTokens)
        assert.strictEqual(reply.body.usage.outputTokens, solo.usage.outputTokens)
      })
    })
  )
})

describe("examples/http", () => {
  it.effect("`npm run example -- http --help` reaches the example", () =>
    Effect.gen(function* () {
      const ran = yield* Effect.callback<{ code: number; stdout: string; stderr: string }>(
        (resume, signal) => {
          execFile(
            process.execPath,
            ["examples/run.ts", "http", "--help"],
            { cwd: root, signal, timeout: 20_000 },
            (error, stdout, stderr) =>
              resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }))
          )
        }
      )
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.match(ran.stdout, /--port/)
      assert.match(ran.stdout, /--max-calls/)
    })
  )
})
