/**
 * What every retry policy in Weft shares: which failures are worth another
 * try (those that say `isRetryable`), and a schedule that waits at least as
 * long as a failure asks (a rate limit's `retry-after`). Steps and the
 * Validator's per-call policy both retry this way.
 */
import { Duration, Effect, Predicate, Schedule } from "effect"

/** Failures a provider gave up on after retrying them itself, with the attempts it made. */
const givenUp = new WeakMap<object, number>()

/**
 * Notes that a provider already retried `error` (`attempts` in all) before
 * giving up with it. A failure so noted has had its retries: a step, the
 * validator or a tool policy around the call does not retry it again, so
 * retries never multiply (one retry policy: the provider's). Returns `error`.
 */
export const markRetried = <E>(error: E, attempts: number): E => {
  if (Predicate.isObject(error)) {
    givenUp.set(error, attempts)
    // An AiError's reason travels on its own too (a Cause squashed, an error re-wrapped).
    if (Predicate.hasProperty(error, "reason") && Predicate.isObject(error.reason))
      givenUp.set(error.reason, attempts)
  }
  return error
}

/** The attempts a provider already made before failing with `error`, when it noted them (see `markRetried`). */
export const attemptsMadeOf = (error: unknown): number | undefined =>
  Predicate.isObject(error) ? givenUp.get(error) : undefined

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
