/**
 * Weft behind an HTTP API: `POST /ask` answers a question from a folder of
 * documents through the RAG workflow, with a fresh budget per request, and
 * `GET /health` says the server is up and what it indexed. Runs offline on
 * the Local model, or on the OpenAI provider when `OPENAI_API_KEY` or
 * `OPENAI_BASE_URL` is set (see examples/provider.ts).
 *
 *   npm run example -- http                         (examples/data/handbook on 127.0.0.1:3000)
 *   npm run example -- http --corpus ./my-notes --port 8080
 *   curl -s localhost:3000/ask -H 'content-type: application/json' \
 *     -d '{"question":"What does error code E12 mean?","budget":{"modelCalls":2}}'
 *
 * The pattern: build Weft's services once — index the folder, make the model —
 * with `Handler.make`, and only then start listening (a request arriving while
 * layers are still being built would wait on them). Each request runs the
 * workflow through the handler with its own budget, and the workflow's typed
 * errors become statuses with JSON problem bodies: 400 for bad input, 429 when
 * the request's budget refused the work, 500 otherwise.
 */
import { createServer } from "node:http"
import { fileURLToPath } from "node:url"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Clock, Console, Context, Duration, Effect, Layer, Predicate, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { HttpRouter, HttpServer } from "effect/http"
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiError,
  HttpApiGroup,
  HttpApiMiddleware
} from "effect/http-api"
import type { BudgetLimits } from "../src/budget/Budget.ts"
import { Rag } from "../src/rag/index.ts"
import * as Retriever from "../src/retrieval/Retriever.ts"
import { Handler } from "../src/workflow/index.ts"
import { clip, displayPath, integer, plural, positive, runCommand, userPath, withDefault } from "./cli.ts"
import { chooseModel } from "./provider.ts"

// --- The API: what a client sees -------------------------------------------------

// A count of calls or tokens (a whole number ≥ 1), and an amount or a span (a number > 0).
const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const Amount = Schema.Finite.check(Schema.isGreaterThan(0))

/**
 * Limits for one request's run. A request can only tighten the server's limits: a limit left
 * out, or set above the server's, is the server's.
 */
export const AskBudget = Schema.Struct({
  modelCalls: Schema.optional(Count),
  inputTokens: Schema.optional(Count),
  outputTokens: Schema.optional(Count),
  costUsd: Schema.optional(Amount),
  /** A deadline for the run, in milliseconds. */
  wallTimeMs: Schema.optional(Amount)
})

export const AskRequest = Schema.Struct({
  question: Schema.String,
  budget: Schema.optional(AskBudget)
})

/** What the request's run spent. */
export const AskUsage = Schema.Struct({
  modelCalls: Schema.Number,
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  costUsd: Schema.Number,
  elapsedMs: Schema.Number
})

export const AskResponse = Schema.Struct({
  answer: Schema.String,
  citations: Schema.Array(Rag.Citation),
  /** Answers the model gave before one passed validation. */
  attempts: Schema.Number,
  usage: AskUsage
})

export const Health = Schema.Struct({
  status: Schema.Literal("ok"),
  documents: Schema.Number,
  passages: Schema.Number
})

/** The request cannot be answered as asked: an empty question, a limit out of range. */
export class BadInput extends HttpApiError.Problem<BadInput>()("BadInput", {
  type: "urn:weft-ai:problem:bad-input",
  status: 400,
  title: "Bad input"
}) {}

/** The request's budget would not allow the work. */
export class BudgetRefused extends HttpApiError.Problem<BudgetRefused>()(
  "BudgetRefused",
  { type: "urn:weft-ai:problem:budget-refused", status: 429, title: "Budget refused the run" },
  {
    /** The limit that refused the work, its value and what the run would have reached. */
    limit: Schema.String,
    max: Schema.Number,
    attempted: Schema.Number
  }
) {}

/** The run failed for another reason (the model, the retriever, the output). */
export class AskFailed extends HttpApiError.Problem<AskFailed>()("AskFailed", {
  type: "urn:weft-ai:problem:ask-failed",
  status: 500,
  title: "The question could not be answered"
}) {}

export class Api extends HttpApi.make("weft")
  .add(
    HttpApiGroup.make("rag", { topLevel: true }).add(
      HttpApiEndpoint.post("ask", "/ask", {
        payload: AskRequest,
        success: AskResponse,
        error: [BadInput, BudgetRefused, AskFailed]
      }),
      HttpApiEndpoint.get("health", "/health", { success: Health })
    )
  )
  // A body that is not JSON or does not match `AskRequest` gets a 400 problem naming the issues.
  .middleware(HttpApiMiddleware.ProblemDetails) {}

// --- From workflow errors to statuses --------------------------------------------

// Weft's errors carry a tagged `reason`; older ones a string. Either way: its tag.
const reasonTag = (error: unknown): string | undefined => {
  if (!Predicate.hasProperty(error, "reason")) return undefined
  const reason = error.reason
  return Predicate.isString(reason)
    ? reason
    : Predicate.hasProperty(reason, "_tag")
      ? String(reason._tag)
      : undefined
}

const errorTag = (error: unknown): string =>
  Predicate.hasProperty(error, "_tag") ? String(error._tag) : "UnknownError"

/** The refusal inside a failure: a `BudgetExceeded` itself, or a `BudgetError` whose reason is one. */
const refusalOf = (
  error: unknown
): { readonly limit: string; readonly max: number; readonly attempted: number } | undefined => {
  const refusal =
    errorTag(error) === "BudgetError" && Predicate.hasProperty(error, "reason") ? error.reason : error
  if (
    errorTag(refusal) === "BudgetExceeded" &&
    Predicate.hasProperty(refusal, "limit") &&
    Predicate.hasProperty(refusal, "max") &&
    Predicate.hasProperty(refusal, "attempted")
  ) {
    return { limit: String(refusal.limit), max: Number(refusal.max), attempted: Number(refusal.attempted) }
  }
  return undefined
}

// Failures caused by what the client sent, by error and reason tag.
const BAD_INPUT = new Set([
  "RagError/EmptyQuestion",
  "WorkflowError/InvalidInput",
  "BudgetError/InvalidOption",
  "RetrievalError/EmptyQuery"
])

const messageOf = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && Predicate.isString(error.message) && error.message.length > 0
    ? error.message
    : errorTag(error)

/** The problem a run's typed failure is answered with. */
export const problemFor = (error: unknown): BadInput | BudgetRefused | AskFailed => {
  const refusal = refusalOf(error)
  if (refusal !== undefined) return new BudgetRefused({ ...refusal, detail: messageOf(error) })
  if (BAD_INPUT.has(`${errorTag(error)}/${reasonTag(error)}`))
    return new BadInput({ detail: messageOf(error) })
  return new AskFailed({ detail: messageOf(error) })
}

// --- The server -------------------------------------------------------------------

export interface ServerOptions {
  /** The folder to answer from. */
  readonly corpus: string
  readonly port: number
  readonly host: string
  /** Each request's limits, unless the request sets its own. */
  readonly budget: BudgetLimits
  /** Print one line per answered request. Default false. */
  readonly log?: boolean | undefined
}

/** The lower of the server's limit and the request's (either may be absent). */
const tighter = (server: number | undefined, asked: number | undefined): number | undefined =>
  server === undefined ? asked : asked === undefined ? server : Math.min(server, asked)

/** A request's limits: the server's, tightened by what the request asks for. */
export const limitsFor = (server: BudgetLimits, asked: typeof AskBudget.Type | undefined): BudgetLimits => {
  if (asked === undefined) return server
  const wallTime = tighter(
    server.wallTime === undefined ? undefined : Duration.toMillis(server.wallTime),
    asked.wallTimeMs
  )
  return {
    ...server,
    modelCalls: tighter(server.modelCalls, asked.modelCalls),
    inputTokens: tighter(server.inputTokens, asked.inputTokens),
    outputTokens: tighter(server.outputTokens, asked.outputTokens),
    costUsd: tighter(server.costUsd, asked.costUsd),
    ...(wallTime === undefined ? {} : { wallTime })
  }
}

/**
 * Indexes the corpus and builds the workflow's services, then listens.
 * Returns the bound address; the server stops when the scope closes.
 */
export const serve = Effect.fnUntraced(function* (options: ServerOptions) {
  // 1. Weft's services, built once: the index over the folder and the model.
  const started = yield* Clock.currentTimeMillis
  const retriever = yield* Retriever.fromFolder(options.corpus)
  const chosen = yield* chooseModel()
  const ask = yield* Handler.build(
    Rag.workflow(),
    Layer.merge(chosen.layer, Layer.succeed(Retriever.Retriever, retriever))
  )
  const indexedIn = (yield* Clock.currentTimeMillis) - started

  const logRequest = (status: number, question: string, outcome: string) =>
    options.log === true
      ? Console.log(`POST /ask ${status}  ${clip(JSON.stringify(question), 60)}  ${outcome}`)
      : Effect.void

  // 2. The handlers: each request runs the workflow with its own budget.
  const handlers = HttpApiBuilder.group(Api, "rag", (handlers) =>
    Effect.succeed(
      handlers
        .handle("ask", ({ payload }) =>
          ask({ question: payload.question }, { budget: limitsFor(options.budget, payload.budget) }).pipe(
            Effect.map(({ output, usage }) => ({
              ...output,
              usage: {
                modelCalls: usage.modelCalls,
                inputTokens: usage.inputTokens,
                outputTokens: usage.outputTokens,
                costUsd: usage.costUsd,
                elapsedMs: usage.elapsedMs
              }
            })),
            Effect.mapError(problemFor),
            Effect.tap((answer) =>
              logRequest(
                200,
                payload.question,
                `${plural(answer.usage.modelCalls, "model call")}, ${answer.usage.inputTokens + answer.usage.outputTokens} tokens, ${answer.usage.elapsedMs} ms`
              )
            ),
            Effect.tapError((problem) => logRequest(problem.status, payload.question, problem.message))
          )
        )
        .handle("health", () =>
          Effect.succeed({
            status: "ok" as const,
            documents: retriever.size.documents,
            passages: retriever.size.chunks
          })
        )
    )
  )

  // 3. Only now listen.
  const server = yield* Layer.build(
    HttpRouter.serve(
      HttpApiBuilder.layer(Api).pipe(
        Layer.provide(handlers),
        Layer.provide(HttpApiMiddleware.layerProblemDetails({ includeDetails: true }))
      ),
      { disableLogger: true, disableListenLog: true }
    ).pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: options.port, host: options.host })))
  )
  const address = Context.get(server, HttpServer.HttpServer).address
  return {
    address,
    url: HttpServer.formatAddress(address),
    size: retriever.size,
    indexedIn,
    model: chosen.description
  }
})

// --- The command --------------------------------------------------------------------

const DEFAULT_CORPUS = fileURLToPath(new URL("data/handbook", import.meta.url))

export const command = Command.make(
  "http",
  {
    corpus: Flag.String("corpus").pipe(
      withDefault("A folder of .md/.txt files to answer from", DEFAULT_CORPUS, displayPath(DEFAULT_CORPUS))
    ),
    port: integer("port", 0).pipe(withDefault("Port to listen on (0: any free port)", 3000)),
    host: Flag.String("host").pipe(withDefault("Address to listen on", "127.0.0.1")),
    maxCalls: integer("max-calls", 1).pipe(
      withDefault("Each request's model-call limit, unless the request sets its own", 5)
    ),
    timeout: positive("timeout").pipe(
      withDefault("Each request's wall-time limit in seconds, unless the request sets its own", 30)
    )
  },
  (flags) =>
    Effect.gen(function* () {
      const corpus = userPath(flags.corpus)
      const server = yield* serve({
        corpus,
        port: flags.port,
        host: flags.host,
        budget: { modelCalls: flags.maxCalls, wallTime: `${flags.timeout} seconds` },
        log: true
      })
      yield* Console.log(
        `Weft · answering from ${displayPath(corpus)} (${plural(server.size.documents, "document")}, ` +
          `${plural(server.size.chunks, "passage")}, indexed in ${server.indexedIn} ms)\n` +
          `Model: ${server.model}\n` +
          `Listening on ${server.url}\n\n` +
          `  curl -s ${server.url}/ask -H 'content-type: application/json' \\\n` +
          `    -d '{"question":"What does error code E12 mean?","budget":{"modelCalls":2}}'\n` +
          `  curl -s ${server.url}/health\n\nCtrl-C to stop.`
      )
      return yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(Command.withDescription("Serve POST /ask over HTTP, a fresh budget per request"))

if (import.meta.main) runCommand(command)
