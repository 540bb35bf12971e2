/**
 * Configuration of the OpenAI provider: how to reach the server (key, base
 * URL, organisation, project, timeout, retries) and how to call a model
 * (name, output limit, request options), from code or from the environment.
 *
 * The API key is held as `Redacted` from the moment it is read: it is shown
 * to the SDK only when the client is built, and never appears in an error,
 * a span or a journal.
 */
import { Config, Context, Duration, Effect, Option, type Redacted, Schedule } from "effect"
import { AiError } from "effect/ai"
import { checkInteger, InvalidOption, show } from "../../core/InvalidOption.ts"

/** How to reach an OpenAI-compatible server. */
export interface ClientOptions {
  /** The API key; default `OPENAI_API_KEY`. A server that wants none (Ollama, vLLM) may be given none. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** The API root, e.g. `http://127.0.0.1:11434/v1`; default `OPENAI_BASE_URL`, else OpenAI's. */
  readonly baseUrl?: string | undefined
  readonly organization?: string | undefined
  readonly project?: string | undefined
  /** Each attempt's limit, on the Effect clock; default 60 s. A stream must send its next chunk within it. */
  readonly timeout?: Duration.Input | undefined
  /** Retries after a retryable failure (rate limit, 5xx, connection reset, timeout); default 2. */
  readonly maxRetries?: number | undefined
  /** The wait before retry n (n from 1): default exponential from 500 ms, doubled each time, jittered. */
  readonly backoff?: Schedule.Schedule<unknown, unknown> | undefined
  /** Extra headers sent with every request. */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/** How to call one model. */
export interface ModelOptions {
  /** The model name sent to the server and the price table's key. */
  readonly model: string
  /** The most output tokens a call may produce (sent as `max_completion_tokens`); default 4096. */
  readonly maxOutputTokens?: number | undefined
  /**
   * The request field that carries the output limit: `max_completion_tokens`
   * (the current API, default) or `max_tokens` (older compatible servers).
   */
  readonly maxTokensField?: "max_completion_tokens" | "max_tokens" | undefined
  /** Request options sent with every call to this model. */
  readonly request?: RequestOptions | undefined
}

/** Chat Completions options a call may set (all optional, sent only when set). */
export interface RequestOptions {
  readonly temperature?: number | undefined
  readonly topP?: number | undefined
  readonly seed?: number | undefined
  readonly stop?: ReadonlyArray<string> | undefined
  readonly presencePenalty?: number | undefined
  readonly frequencyPenalty?: number | undefined
  readonly reasoningEffort?: "none" | "minimal" | "low" | "medium" | "high" | "xhigh" | undefined
  readonly parallelToolCalls?: boolean | undefined
  readonly user?: string | undefined
  readonly serviceTier?: "auto" | "default" | "flex" | "scale" | "priority" | undefined
  readonly promptCacheKey?: string | undefined
}

/**
 * Per-call request options, over the model's own:
 * `Effect.provideService(OpenAi.CallOptions, { temperature: 0 })`.
 */
export const CallOptions = Context.Reference<RequestOptions>("weft/model/OpenAi/CallOptions", {
  defaultValue: () => ({})
})

export const DEFAULT_MODEL = "gpt-4.1-mini"
export const DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096
export const DEFAULT_TIMEOUT: Duration.Duration = Duration.seconds(60)
export const DEFAULT_MAX_RETRIES = 2
export const defaultBackoff: Schedule.Schedule<unknown, unknown> = Schedule.jittered(
  Schedule.exponential("500 millis")
) as Schedule.Schedule<unknown, unknown>

/** The resolved client settings. */
export interface Settings {
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly baseUrl: string | undefined
  readonly organization: string | undefined
  readonly project: string | undefined
  readonly timeout: Duration.Duration
  readonly maxRetries: number
  readonly backoff: Schedule.Schedule<unknown, unknown>
  readonly headers: Readonly<Record<string, string>>
}

const invalid = (reason: InvalidOption): AiError.AiError =>
  AiError.make({
    module: "OpenAi",
    method: "layer",
    reason: new AiError.InvalidUserInputError({ description: reason.message })
  })

const durationOf = (input: Duration.Input): Duration.Duration | undefined => {
  try {
    return Duration.fromInputUnsafe(input)
  } catch {
    return undefined
  }
}

/** Checks and completes client options; an option out of range is an `AiError` naming it. */
export const resolve = (options: ClientOptions): Settings | AiError.AiError => {
  const retries = checkInteger("maxRetries", options.maxRetries ?? DEFAULT_MAX_RETRIES, 0)
  if (retries !== undefined) return invalid(retries)
  const timeout = options.timeout === undefined ? DEFAULT_TIMEOUT : durationOf(options.timeout)
  if (
    timeout === undefined ||
    !Duration.isGreaterThan(timeout, Duration.zero) ||
    !Duration.isFinite(timeout)
  ) {
    return invalid(
      new InvalidOption({
        option: "timeout",
        value: show(options.timeout),
        expected: "a finite duration > 0"
      })
    )
  }
  if (options.baseUrl !== undefined && !URL.canParse(options.baseUrl)) {
    return invalid(new InvalidOption({ option: "baseUrl", value: show(options.baseUrl), expected: "a URL" }))
  }
  return {
    apiKey: options.apiKey,
    baseUrl: options.baseUrl,
    organization: options.organization,
    project: options.project,
    timeout,
    maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
    backoff: options.backoff ?? defaultBackoff,
    headers: options.headers ?? {}
  }
}

/** Checks a model's options; `undefined` when they are usable. */
export const checkModel = (options: ModelOptions): AiError.AiError | undefined => {
  if (typeof options.model !== "string" || options.model.length === 0) {
    return invalid(
      new InvalidOption({ option: "model", value: show(options.model), expected: "a model name" })
    )
  }
  const limit = checkInteger("maxOutputTokens", options.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS, 1)
  return limit === undefined ? undefined : invalid(limit)
}

const optional = <A>(config: Config.Config<A>) => Config.map(Config.option(config), Option.getOrUndefined)

/**
 * Client options from the environment: `OPENAI_API_KEY` (read as
 * `Redacted`), `OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`.
 */
export const clientOptionsFromEnv: Config.Config<ClientOptions> = Config.all({
  apiKey: optional(Config.Redacted("OPENAI_API_KEY")),
  baseUrl: optional(Config.String("OPENAI_BASE_URL")),
  organization: optional(Config.String("OPENAI_ORG_ID")),
  project: optional(Config.String("OPENAI_PROJECT_ID"))
})

/** The model named by `WEFT_MODEL`, else `DEFAULT_MODEL`. */
export const modelFromEnv: Config.Config<string> = Config.withDefault(
  Config.String("WEFT_MODEL"),
  DEFAULT_MODEL
)

/** Whether the environment asks for an OpenAI-compatible server (`OPENAI_API_KEY` or `OPENAI_BASE_URL` set). */
export const isConfigured = (env: Readonly<Record<string, string | undefined>> = process.env): boolean =>
  (env.OPENAI_API_KEY ?? "") !== "" || (env.OPENAI_BASE_URL ?? "") !== ""

/** Reads the client options from the environment as an `AiError` on a malformed value. */
export const readEnv: Effect.Effect<ClientOptions, AiError.AiError> = Effect.mapError(
  clientOptionsFromEnv,
  (error: Config.ConfigError) =>
    AiError.make({
      module: "OpenAi",
      method: "layer",
      reason: new AiError.InvalidUserInputError({ description: `OpenAI configuration: ${error.message}` })
    })
)
