/**
 * The OpenAI provider: `effect/ai` `LanguageModel` (generate, structured
 * output, stream) and `EmbeddingModel` layers on the official `openai` SDK,
 * speaking Chat Completions — the API OpenAI and every compatible server
 * (Ollama, vLLM, llama.cpp, LM Studio, gateways) answer.
 *
 * A `Client` holds the SDK client and the connection settings; `model(…)`
 * makes a metered model on it (so several models share one client), `layer`
 * does both, `layerFromEnv` reads `OPENAI_API_KEY` / `OPENAI_BASE_URL` /
 * `WEFT_MODEL`. Loaded only through `weft-ai/openai`, so a program that never
 * asks for OpenAI never loads the SDK.
 *
 * One retry policy, ours: the SDK is built with `maxRetries: 0`, and a failed
 * attempt that is worth another (rate limit, 5xx, reset connection, timeout)
 * is retried on an Effect `Schedule` that waits at least the `retry-after` the
 * server asked for. Retries sit outside the metering, so each attempt is
 * reserved and settled on its own — the run trace shows one `usage` event
 * per attempt (a failed one as `failed`) — and each failed attempt is an event
 * (`weft.model.retry`) on the current span. A stream is retried only until
 * its first part. Interrupting a call aborts its HTTP request.
 */
import {
  Clock,
  type Config,
  Context,
  Duration,
  Effect,
  Layer,
  Option,
  Pull,
  Redacted,
  Schedule,
  Stream
} from "effect"
import { AiError, EmbeddingModel, LanguageModel, type Model, type Response } from "effect/ai"
import OpenAI from "openai"
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions"
import { type Identity, maxOutputTokensOf } from "../budget/Meter.ts"
import { honourRetryAfter, markRetried } from "../core/Retry.ts"
import { providerLayer } from "./internal/parts.ts"
import {
  CallOptions,
  type ClientOptions,
  checkModel,
  DEFAULT_EMBEDDING_MODEL,
  DEFAULT_MAX_OUTPUT_TOKENS,
  DEFAULT_MODEL,
  isConfigured,
  type ModelOptions,
  modelFromEnv,
  type RequestOptions,
  readEnv,
  resolve,
  type Settings
} from "./openai/Config.ts"
import { aiError, timedOut, toAiError } from "./openai/errors.ts"
import { bodyOf, codecTransformer } from "./openai/request.ts"
import { partsOf, StreamAssembler } from "./openai/response.ts"

export {
  CallOptions,
  type ClientOptions,
  DEFAULT_EMBEDDING_MODEL,
  DEFAULT_MAX_OUTPUT_TOKENS,
  DEFAULT_MODEL,
  isConfigured,
  type ModelOptions,
  type RequestOptions
}

export const PROVIDER = "openai"

export interface ClientService {
  /** The SDK client (built with `maxRetries: 0`: retries are Weft's). */
  readonly sdk: OpenAI
  readonly settings: Settings
  /** Where requests go, for errors and for the CLI to say. */
  readonly baseUrl: string
}

/** The connection to an OpenAI-compatible server, shared by every model made on it. */
export class Client extends Context.Service<Client, ClientService>()("weft/model/OpenAi/Client") {}

/** Builds a client; a missing key (with no base URL either) or an option out of range is an `AiError`. */
export const makeClient = (options: ClientOptions = {}): Effect.Effect<ClientService, AiError.AiError> =>
  Effect.suspend(() => {
    const settings = resolve(options)
    if (AiError.isAiError(settings)) return Effect.fail(settings)
    if (settings.apiKey === undefined && settings.baseUrl === undefined) {
      return Effect.fail(
        aiError(
          "layer",
          new AiError.AuthenticationError({
            kind: "MissingKey",
            description: "Set OPENAI_API_KEY (or OPENAI_BASE_URL for a server that needs no key)"
          })
        )
      )
    }
    const timeoutMs = Duration.toMillis(settings.timeout)
    const sdk = new OpenAI({
      // A compatible server that wants no key still gets a bearer token: the SDK insists on one.
      apiKey: settings.apiKey === undefined ? "none" : Redacted.value(settings.apiKey),
      baseURL: settings.baseUrl ?? null,
      organization: settings.organization ?? null,
      project: settings.project ?? null,
      maxRetries: 0,
      // Ours is the timeout that counts (on the Effect clock); the SDK's is only a backstop.
      timeout: timeoutMs * 2 + 1000,
      defaultHeaders: settings.headers,
      logLevel: "off"
    })
    return Effect.succeed({ sdk, settings, baseUrl: sdk.baseURL })
  })

/** Provides a `Client`. */
export const layerClient = (options?: ClientOptions): Layer.Layer<Client, AiError.AiError> =>
  Layer.effect(Client, makeClient(options))

/** Provides a `Client` from `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`, with `overrides` on top. */
export const layerClientFromEnv = (
  overrides?: Omit<ClientOptions, "apiKey" | "baseUrl">
): Layer.Layer<Client, AiError.AiError> =>
  Layer.effect(
    Client,
    Effect.flatMap(readEnv, (env) =>
      // An override left undefined does not blank what the environment says.
      makeClient({
        ...env,
        ...Object.fromEntries(Object.entries(overrides ?? {}).filter(([, v]) => v !== undefined))
      })
    )
  )

const identityOf = (options: ModelOptions): Identity => ({
  provider: PROVIDER,
  model: options.model,
  maxOutputTokens: options.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS
})

/** Failures another attempt may cure: a rate limit, a server error, a reset connection, a timeout. */
export const isTransient = (error: unknown): boolean => {
  if (!AiError.isAiError(error)) return false
  const tag = error.reason._tag
  return (
    (tag === "RateLimitError" || tag === "InternalProviderError" || tag === "NetworkError") &&
    error.reason.isRetryable
  )
}

const describe = (error: unknown): string =>
  AiError.isAiError(error) ? `${error.reason._tag}: ${error.reason.message}` : String(error)

/** Marks a failed attempt on the current span (when there is one). */
const markRetry = (model: string, error: unknown, attempt: number) =>
  Effect.flatMap(Clock.currentTimeNanos, (now) =>
    Effect.match(Effect.currentSpan, {
      onFailure: () => undefined,
      onSuccess: (span) =>
        span.event("weft.model.retry", now, {
          "gen_ai.request.model": model,
          "weft.attempt": attempt,
          "weft.error": describe(error)
        })
    })
  )

/**
 * The failure a call gives up with, noted as already retried (see
 * `Retry.markRetried`): a step or validator around the call then does not
 * retry it again.
 */
const givenUp = (error: unknown, attempts: number): unknown =>
  isTransient(error) ? markRetried(error, attempts) : error

/** The retry schedule: the backoff, stopped after `maxRetries` or on a failure not worth retrying, stretched to `retry-after`. */
const retrySchedule = (settings: Settings) =>
  honourRetryAfter(
    Schedule.while(
      settings.backoff,
      ({ attempt, input }) => attempt <= settings.maxRetries && isTransient(input)
    )
  )

/**
 * One call on our policy: retried while worth it (each failed attempt marked
 * on the span), and the failure it gives up with noted as already retried.
 */
const retrying = <A, E, R>(
  settings: Settings,
  name: string,
  schedule: never,
  run: () => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    let attempts = 0
    return Effect.retry(
      Effect.suspend(() => {
        attempts++
        return Effect.tapError(run(), (error) =>
          isTransient(error) && attempts <= settings.maxRetries
            ? markRetry(name, error, attempts)
            : Effect.void
        )
      }),
      schedule
    ).pipe(Effect.mapError((error) => givenUp(error, attempts) as E))
  })

/**
 * Retries a (metered) model's calls on our policy. The wrapper inherits from
 * the model, so it stays recognisably metered.
 */
export const withRetries = (
  model: LanguageModel.LanguageModel,
  settings: Settings,
  name: string
): LanguageModel.LanguageModel => {
  if (settings.maxRetries === 0) return model
  // Built once: a schedule is a description, stepped afresh by each retry.
  const schedule = retrySchedule(settings) as never
  const attempt = <A>(run: () => Effect.Effect<A, any, any>) => retrying(settings, name, schedule, run)
  const retried: LanguageModel.LanguageModel = Object.create(model)
  Object.defineProperties(retried, {
    generateText: { value: (options: any) => attempt(() => model.generateText(options)) },
    generateObject: { value: (options: any) => attempt(() => model.generateObject(options)) },
    streamText: {
      // Until the first part, a failure worth retrying starts the stream again after the
      // schedule's wait; after it, the failure is the caller's (the parts are already out).
      value: (options: any) =>
        Stream.unwrap(
          Effect.map(Schedule.toStepWithSleep(schedule as Schedule.Schedule<unknown, unknown>), (wait) => {
            let emitted = false
            let attempts = 0
            const attemptStream = (): Stream.Stream<any, any, any> =>
              Stream.suspend(() => {
                attempts++
                return (model.streamText(options) as Stream.Stream<any, any, any>).pipe(
                  Stream.mapArray((parts) => {
                    emitted = true
                    return parts
                  }),
                  Stream.catch((error: unknown) =>
                    emitted
                      ? Stream.fail(error)
                      : !isTransient(error) || attempts > settings.maxRetries
                        ? Stream.fail(givenUp(error, attempts))
                        : Stream.unwrap(
                            markRetry(name, error, attempts).pipe(
                              Effect.andThen(wait(error)),
                              Pull.catchDone(() => Effect.fail(givenUp(error, attempts))),
                              Effect.as(attemptStream())
                            )
                          )
                  )
                )
              })
            return attemptStream()
          })
        )
    }
  })
  return retried
}

/** Runs one SDK request as an Effect: aborted on interruption, failed as a typed `AiError` after the timeout. */
const request = <A>(
  client: ClientService,
  method: string,
  send: (signal: AbortSignal) => Promise<A>,
  url = `${client.baseUrl}/chat/completions`
): Effect.Effect<A, AiError.AiError> =>
  Effect.timeoutOrElse(
    Effect.tryPromise({
      try: send,
      catch: (error) => toAiError(error, client.settings.apiKey, { method, url })
    }),
    {
      duration: client.settings.timeout,
      orElse: () => Effect.fail(timedOut(method, url, client.settings.timeout))
    }
  )

const methodOf = (provider: LanguageModel.ProviderOptions, streaming: boolean) =>
  streaming ? "streamText" : provider.responseFormat.type === "json" ? "generateObject" : "generateText"

/** The request body of a call, with the call's output limit and options. */
const bodyFor = (
  provider: LanguageModel.ProviderOptions,
  options: ModelOptions,
  own: number,
  method: string
) =>
  Effect.withFiber((fiber) => {
    const body = bodyOf(
      provider,
      options,
      fiber.getRef(CallOptions),
      Math.max(1, maxOutputTokensOf(fiber, own))
    )
    return AiError.isAiError(body) ? Effect.fail(body) : Effect.succeed(body)
  }).pipe(Effect.mapError((error) => (error.method === method ? error : AiError.make({ ...error, method }))))

/**
 * Builds the `LanguageModel` for one model on the `Client`, unmetered and
 * without retries (see `model` for the layer that adds both).
 */
export const make = (
  options: ModelOptions
): Effect.Effect<LanguageModel.LanguageModel, AiError.AiError, Client> =>
  Effect.gen(function* () {
    const invalid = checkModel(options)
    if (invalid !== undefined) return yield* invalid
    const client = yield* Client
    const own = options.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS
    const completions = client.sdk.chat.completions

    const generateText = (provider: LanguageModel.ProviderOptions) => {
      const method = methodOf(provider, false)
      return Effect.flatMap(bodyFor(provider, options, own, method), (body) =>
        Effect.flatMap(
          request(client, method, (signal) =>
            completions.create({ ...body, stream: false }, { signal }).withResponse()
          ),
          ({ data, request_id }) => {
            const parts = partsOf(method, data as ChatCompletion, request_id)
            return AiError.isAiError(parts) ? Effect.fail(parts) : Effect.succeed(parts)
          }
        )
      )
    }

    const streamText = (provider: LanguageModel.ProviderOptions) =>
      Stream.unwrap(
        Effect.gen(function* () {
          const method = "streamText"
          const body = yield* bodyFor(provider, options, own, method)
          // Aborted when the stream's scope closes: on interruption, or a consumer that stops early.
          const controller = new AbortController()
          yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
          const { data, request_id } = yield* request(client, method, (signal) => {
            signal.addEventListener("abort", () => controller.abort(), { once: true })
            return completions
              .create(
                { ...body, stream: true, stream_options: { include_usage: true } },
                { signal: controller.signal }
              )
              .withResponse()
          })
          const iterator = (data as AsyncIterable<ChatCompletionChunk>)[Symbol.asyncIterator]()
          const assembler = new StreamAssembler(method, request_id)
          const next = request(client, method, () => iterator.next())
          // One chunk a pull; the stream ends (`None`) with the SDK's iterator.
          return Stream.paginate(undefined, () =>
            Effect.flatMap(next, (result) => {
              const parts = result.done === true ? assembler.end() : assembler.push(result.value)
              if (AiError.isAiError(parts)) return Effect.fail(parts)
              return Effect.succeed([
                parts as ReadonlyArray<Response.StreamPartEncoded>,
                result.done === true ? Option.none() : Option.some(undefined)
              ] as const)
            })
          )
        })
      )

    return yield* LanguageModel.make({ generateText, streamText, codecTransformer })
  })

/**
 * Provides one model on the `Client` as `LanguageModel.LanguageModel`:
 * metered under its name (priced from the price table), retried on our
 * policy, with its `Model.ModelName` and `Model.ProviderName` ("openai").
 */
export const model = (
  options: ModelOptions | string
): Layer.Layer<
  LanguageModel.LanguageModel | Model.ModelName | Model.ProviderName,
  AiError.AiError,
  Client
> => {
  const resolved: ModelOptions = typeof options === "string" ? { model: options } : options
  const metered = Layer.unwrap(
    Effect.map(Effect.service(Client), (client) =>
      providerLayer(Effect.provideService(make(resolved), Client, client), identityOf(resolved))
    )
  )
  const retried = Layer.effect(
    LanguageModel.LanguageModel,
    Effect.gen(function* () {
      const client = yield* Client
      const service = yield* LanguageModel.LanguageModel
      return withRetries(service, client.settings, resolved.model)
    })
  )
  return Layer.provideMerge(retried, metered)
}

/** A model and its own client in one layer. */
export const layer = (
  options: ModelOptions & ClientOptions
): Layer.Layer<
  LanguageModel.LanguageModel | Model.ModelName | Model.ProviderName | Client,
  AiError.AiError
> => Layer.provideMerge(model(options), layerClient(options))

/**
 * A model and client from the environment: the client from `OPENAI_*`, the
 * model from `WEFT_MODEL` (default `DEFAULT_MODEL`) unless `options.model` is given.
 */
export const layerFromEnv = (
  options?: Partial<ModelOptions> & Omit<ClientOptions, "apiKey" | "baseUrl">
): Layer.Layer<
  LanguageModel.LanguageModel | Model.ModelName | Model.ProviderName | Client,
  AiError.AiError
> =>
  Layer.unwrap(
    Effect.map(
      Effect.mapError(modelFromEnv, (error: Config.ConfigError) =>
        aiError("layer", new AiError.InvalidUserInputError({ description: `WEFT_MODEL: ${error.message}` }))
      ),
      (name) =>
        Layer.provideMerge(model({ ...options, model: options?.model ?? name }), layerClientFromEnv(options))
    )
  )

export interface EmbeddingOptions {
  /** Default `DEFAULT_EMBEDDING_MODEL`. */
  readonly model?: string | undefined
  /** Ask for vectors of this size (models that support it). */
  readonly dimensions?: number | undefined
}

/** Builds an `EmbeddingModel` on the `Client`, retried on the same policy. */
export const makeEmbeddings = (
  options: EmbeddingOptions = {}
): Effect.Effect<EmbeddingModel.EmbeddingModel, AiError.AiError, Client> =>
  Effect.gen(function* () {
    const client = yield* Client
    const name = options.model ?? DEFAULT_EMBEDDING_MODEL
    const url = `${client.baseUrl}/embeddings`
    const embedOnce = (inputs: ReadonlyArray<string>) =>
      Effect.flatMap(
        request(
          client,
          "embedMany",
          (signal) =>
            client.sdk.embeddings.create(
              {
                model: name,
                input: [...inputs],
                encoding_format: "float",
                ...(options.dimensions === undefined ? {} : { dimensions: options.dimensions })
              },
              { signal }
            ),
          url
        ),
        (response) => {
          const results: Array<Array<number>> = []
          for (const item of response.data ?? []) results[item.index] = item.embedding
          if (results.length !== inputs.length || results.some((vector) => !Array.isArray(vector))) {
            return Effect.fail(
              aiError(
                "embedMany",
                new AiError.InvalidResponseError({
                  description: `Expected ${inputs.length} embeddings, got ${response.data?.length ?? 0}`
                })
              )
            )
          }
          return Effect.succeed({ results, usage: { inputTokens: response.usage?.prompt_tokens } })
        }
      )
    const schedule = retrySchedule(client.settings) as never
    return yield* EmbeddingModel.make({
      embedMany: ({ inputs }) => retrying(client.settings, name, schedule, () => embedOnce(inputs))
    })
  })

/** Provides an `EmbeddingModel` on the `Client`. */
export const embeddings = (
  options?: EmbeddingOptions
): Layer.Layer<EmbeddingModel.EmbeddingModel, AiError.AiError, Client> =>
  Layer.effect(EmbeddingModel.EmbeddingModel, makeEmbeddings(options))
