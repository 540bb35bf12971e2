/**
 * What every retry policy in Weft shares: which failures are worth another
 * try (those that say `isRetryable`), and a schedule that waits at least as
 * long as a failure asks (a rate limit's `retry-after`). Steps and the
 * Validator's per-call policy both retry this way.
 */
import { Duration, Effect, Predicate, Schedule } from "effect"

/**
 * Where a provider that retries its own calls notes, on the failure it gives
 * up with, how many attempts it made (in the AiError reason's `metadata`, as
 * data). A failure so marked has had its retries: a step or a validator
 * around the call does not retry it again, so retries never multiply (one
 * retry policy: the provider's).
 */
export const RETRIES_METADATA_KEY = "weftRetries"

/** The attempts a provider already made before failing with `error`, when it says (see `RETRIES_METADATA_KEY`). */
export const attemptsMadeOf = (error: unknown): number | undefined => {
  if (!Predicate.hasProperty(error, "reason") || !Predicate.isObject(error.reason)) return undefined
  const metadata = (error.reason as { readonly metadata?: unknown }).metadata
  if (!Predicate.isObject(metadata)) return undefined
  const noted = (metadata as Record<string, unknown>)[RETRIES_METADATA_KEY]
  return Predicate.isObject(noted) && typeof (noted as { attempts?: unknown }).attempts === "number"
    ? ((noted as { attempts: number }).attempts as number)
    : undefined
}

/**
 * The default retry filter: errors that carry `isRetryable: true` (AiError
 * reasons, a step timeout, …), unless a provider already spent its own
 * retries on it.
 */
export const isRetryable = (error: unknown): boolean =>
  Predicate.hasProperty(error, "isRetryable") &&
  error.isRetryable === true &&
  attemptsMadeOf(error) === undefined

/** How long a failure asks to be left alone (a rate limit's `retry-after`), if it says. */
export const retryAfterOf = (error: unknown): Duration.Duration | undefined =>
  Predicate.hasProperty(error, "retryAfter") && Duration.isDuration(error.retryAfter)
    ? error.retryAfter
    : undefined

/**
 * The schedule's delays, each stretched to the failure's `retryAfter` when the
 * failure asks for longer: retrying a rate-limited call sooner than the
 * provider said only earns another rate limit.
 */
export const honourRetryAfter = <E>(
  schedule: Schedule.Schedule<unknown, E, never, never>
): Schedule.Schedule<unknown, E, never, never> =>
  Schedule.modifyDelay(schedule, (metadata) => {
    const after = retryAfterOf(metadata.input)
    return Effect.succeed(
      after !== undefined && Duration.isGreaterThan(after, metadata.duration) ? after : metadata.duration
    )
  })
