/**
 * What every retry policy in Weft shares: which failures are worth another
 * try (those that say `isRetryable`), and a schedule that waits at least as
 * long as a failure asks (a rate limit's `retry-after`). Steps and the
 * Validator's per-call policy both retry this way.
 */
import { Duration, Effect, Predicate, Schedule } from "effect"

/** The default retry filter: errors that carry `isRetryable: true` (AiError reasons, a step timeout, …). */
export const isRetryable = (error: unknown): boolean =>
  Predicate.hasProperty(error, "isRetryable") && error.isRetryable === true

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
