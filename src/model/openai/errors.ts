/**
 * What the OpenAI SDK throws, as the `effect/ai` `AiError` reason that says
 * what happened: a rate limit (with the wait the server asked for), a quota
 * used up, a bad key, a refused request, a server error, a reset connection,
 * a timeout. The API key is scrubbed from every text an error carries (some
 * servers echo it back in a 401 body).
 */
import { Duration, Predicate, Redacted } from "effect"
import { AiError } from "effect/ai"
import { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai/error"

const MODULE = "OpenAi"

/** Headers worth keeping on an error (the rest may carry cookies or tokens). */
const KEPT_HEADERS = [
  "x-request-id",
  "retry-after",
  "retry-after-ms",
  "x-ratelimit-limit-requests",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-reset-requests",
  "x-ratelimit-limit-tokens",
  "x-ratelimit-remaining-tokens",
  "x-ratelimit-reset-tokens"
]

/** Removes every occurrence of the key from a text. */
export const scrub = (text: string, apiKey: Redacted.Redacted<string> | undefined): string => {
  if (apiKey === undefined) return text
  const key = Redacted.value(apiKey)
  return key.length < 4 ? text : text.split(key).join("<redacted>")
}

/**
 * The wait a response asks for: `retry-after-ms` (milliseconds), else
 * `retry-after` (seconds, or an HTTP date), when it parses and is ≥ 0.
 */
export const retryAfterOf = (
  headers: { get(name: string): string | null } | undefined,
  now: number = Date.now()
): Duration.Duration | undefined => {
  if (headers === undefined) return undefined
  const ms = headers.get("retry-after-ms")
  if (ms !== null) {
    const value = Number(ms)
    if (Number.isFinite(value) && value >= 0) return Duration.millis(value)
  }
  const after = headers.get("retry-after")
  if (after === null) return undefined
  const seconds = Number(after)
  if (after.trim() !== "" && Number.isFinite(seconds) && seconds >= 0) return Duration.seconds(seconds)
  const date = Date.parse(after)
  return Number.isNaN(date) ? undefined : Duration.millis(Math.max(0, date - now))
}

const httpContext = (error: APIError, apiKey: Redacted.Redacted<string> | undefined) => {
  const headers: Record<string, string> = {}
  for (const name of KEPT_HEADERS) {
    const value = error.headers?.get(name)
    if (value !== null && value !== undefined) headers[name] = value
  }
  const body = error.error === undefined ? undefined : scrub(JSON.stringify(error.error), apiKey)
  return {
    response: { status: error.status ?? 0, headers },
    ...(body === undefined ? {} : { body })
  }
}

const metadataOf = (error: APIError) => ({
  openai: {
    requestId: error.requestID ?? null,
    errorCode: error.code ?? null,
    errorType: error.type ?? null
  }
})

const isContentFilter = (error: APIError): boolean =>
  error.code === "content_filter" ||
  error.code === "content_policy_violation" ||
  error.type === "content_filter"

/** The `AiError` reason for a failed HTTP call. */
export const reasonOf = (
  error: unknown,
  apiKey: Redacted.Redacted<string> | undefined,
  request: { readonly method: string; readonly url: string }
): AiError.AiErrorReason => {
  if (error instanceof APIConnectionTimeoutError) {
    return new AiError.NetworkError({
      reason: "TransportError",
      method: "POST",
      url: request.url,
      description: "Request timed out"
    })
  }
  if (error instanceof APIConnectionError) {
    const cause = (error as { readonly cause?: unknown }).cause
    const detail = cause instanceof Error ? `: ${cause.message}` : ""
    return new AiError.NetworkError({
      reason: "TransportError",
      method: "POST",
      url: request.url,
      description: scrub(`Connection failed${detail}`, apiKey)
    })
  }
  if (error instanceof APIError && error.status !== undefined) {
    const http = httpContext(error, apiKey)
    const metadata = metadataOf(error)
    const description = scrub(error.message, apiKey)
    const status = error.status
    if (status === 429) {
      if (error.code === "insufficient_quota") {
        return new AiError.QuotaExhaustedError({ http, metadata })
      }
      const retryAfter = retryAfterOf(error.headers)
      return new AiError.RateLimitError({
        http,
        metadata,
        ...(retryAfter === undefined ? {} : { retryAfter })
      })
    }
    if (status === 401)
      return new AiError.AuthenticationError({ kind: "InvalidKey", description, http, metadata })
    if (status === 403) {
      return new AiError.AuthenticationError({ kind: "InsufficientPermissions", description, http, metadata })
    }
    if (isContentFilter(error)) return new AiError.ContentPolicyError({ description, http, metadata })
    if (status === 408) {
      return new AiError.NetworkError({
        reason: "TransportError",
        method: "POST",
        url: request.url,
        description: `Server timed out the request (408): ${description}`
      })
    }
    if (status >= 500 || status === 409)
      return new AiError.InternalProviderError({ description, http, metadata })
    if (status >= 400) {
      return new AiError.InvalidRequestError({
        description,
        http,
        metadata,
        ...(Predicate.isString(error.param) ? { parameter: error.param } : {})
      })
    }
    return new AiError.UnknownError({ description, http, metadata })
  }
  // A stream whose socket closed mid-body surfaces as a plain fetch error.
  const message = error instanceof Error ? error.message : String(error)
  if (error instanceof TypeError || /terminated|socket|ECONNRESET|aborted/i.test(message)) {
    return new AiError.NetworkError({
      reason: "TransportError",
      method: "POST",
      url: request.url,
      description: scrub(`Connection failed: ${message}`, apiKey)
    })
  }
  return new AiError.UnknownError({ description: scrub(message, apiKey) })
}

/** An `AiError` from an SDK failure. */
export const toAiError = (
  error: unknown,
  apiKey: Redacted.Redacted<string> | undefined,
  request: { readonly method: string; readonly url: string }
): AiError.AiError =>
  AiError.isAiError(error)
    ? error
    : AiError.make({ module: MODULE, method: request.method, reason: reasonOf(error, apiKey, request) })

/** An `AiError` made here (a response the provider cannot read, a timeout). */
export const aiError = (method: string, reason: AiError.AiErrorReason): AiError.AiError =>
  AiError.make({ module: MODULE, method, reason })

/** The failure of an attempt that took longer than its timeout. */
export const timedOut = (method: string, url: string, timeout: Duration.Duration): AiError.AiError =>
  aiError(
    method,
    new AiError.NetworkError({
      reason: "TransportError",
      method: "POST",
      url,
      description: `No response within ${Duration.format(timeout)}`
    })
  )
