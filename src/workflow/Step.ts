/**
 * A step: a named Effect with a policy — retry on a `Schedule` (only errors
 * that say they are retryable), a timeout per attempt — that records what it
 * did (start, each retry, end or failure) in the run trace, and labels the
 * model calls it makes so the budget charges them to it.
 *
 * `forEach` fans a step out over many items with a concurrency limit; the
 * items share the run's budget, and when one fails (a `BudgetExceeded`, say)
 * the ones in flight are interrupted and the ones not started never start.
 *
 * Steps are on every run's hot path: one synchronous look at the fiber
 * (`Effect.withFiber`) per step, not `Effect.fn` (which captures a stack trace
 * per call).
 */
import { Cause, Clock, Context, Duration, Effect, Exit, Option, Predicate, Schedule } from "effect"
import { CurrentStep } from "../budget/Budget.ts"
import type { BudgetError, BudgetExceeded } from "../budget/BudgetError.ts"
import { describeError, RunTrace, type RunTraceService } from "./Trace.ts"
import { StepError } from "./WorkflowError.ts"

export interface StepPolicy<E> {
  /**
   * When to try again after a retryable failure, e.g.
   * `Schedule.max([Schedule.exponential("100 millis"), Schedule.recurs(3)])`.
   */
  readonly retry?: Schedule.Schedule<unknown, E | StepError, never, never> | undefined
  /** Which failures may be retried. Default: those whose `isRetryable` is true. */
  readonly isRetryable?: ((error: E) => boolean) | undefined
  /** The most one attempt may take; a timed-out attempt fails with `StepError` "Timeout" (retryable). */
  readonly timeout?: Duration.Input | undefined
}

/** How long a failure asks to be left alone (a rate limit's `retry-after`), if it says. */
const retryAfterOf = (error: unknown): Duration.Duration | undefined =>
  Predicate.hasProperty(error, "retryAfter") && Duration.isDuration(error.retryAfter)
    ? error.retryAfter
    : undefined

/**
 * The schedule's delays, each stretched to the failure's `retryAfter` when the
 * failure asks for longer: retrying a rate-limited call sooner than the
 * provider said only earns another rate limit.
 */
const honourRetryAfter = <E>(
  schedule: Schedule.Schedule<unknown, E, never, never>
): Schedule.Schedule<unknown, E, never, never> =>
  Schedule.modifyDelay(schedule, (metadata) => {
    const after = retryAfterOf(metadata.input)
    return Effect.succeed(
      after !== undefined && Duration.isGreaterThan(after, metadata.duration) ? after : metadata.duration
    )
  })

/** The default retry filter: errors that carry `isRetryable: true` (AiError, StepError "Timeout", …). */
export const isRetryable = (error: unknown): boolean =>
  Predicate.hasProperty(error, "isRetryable") && error.isRetryable === true

const timeoutError = (name: string, timeout: Duration.Input) =>
  new StepError({
    reason: "Timeout",
    step: name,
    message: `Step "${name}" took longer than ${Duration.format(Duration.fromInputUnsafe(timeout))}`
  })

/** Runs `effect` as the step `name` under `policy`. */
export const make = <A, E, R>(
  name: string,
  effect: Effect.Effect<A, E, R>,
  policy?: StepPolicy<E>
): Effect.Effect<A, E | StepError, R> => {
  const timeout = policy?.timeout
  const schedule = policy?.retry === undefined ? undefined : honourRetryAfter(policy.retry)
  const retryable = (policy?.isRetryable ?? isRetryable) as (error: E | StepError) => boolean
  // One synchronous look at the fiber: label the step's context (so the budget
  // charges its model calls to it) and find the run's trace; outside a run the
  // step is just its policy.
  return Effect.withFiber((fiber) => {
    let attempt: Effect.Effect<A, E | StepError, R> = Effect.provideContext(
      effect,
      Context.add(fiber.context, CurrentStep, name)
    ) as Effect.Effect<A, E, R>
    if (timeout !== undefined) {
      attempt = Effect.timeoutOrElse(attempt, {
        duration: timeout,
        orElse: () => Effect.fail(timeoutError(name, timeout))
      })
    }
    const trace = Context.getOrUndefined(fiber.context, RunTrace)
    if (trace !== undefined) {
      return traced<A, E | StepError, R>(name, attempt, schedule, retryable, trace, fiber.getRef(Clock.Clock))
    }
    return schedule === undefined
      ? attempt
      : Effect.retry(attempt, { schedule, while: retryable } as Effect.Retry.Options<E | StepError>)
  })
}

const traced = <A, E, R>(
  name: string,
  attempt: Effect.Effect<A, E, R>,
  schedule: Schedule.Schedule<unknown, E, never, never> | undefined,
  retryable: (error: E) => boolean,
  trace: RunTraceService,
  clock: Clock.Clock
): Effect.Effect<A, E, R> => {
  const now = () => clock.currentTimeMillisUnsafe() - trace.startedAt
  const startedAt = now()
  let attempts = 1
  trace.record({ type: "start", step: name, at: startedAt })
  let run = attempt
  if (schedule !== undefined) {
    let lastError: E | undefined
    let tries = 0
    const once = Effect.suspend(() => {
      if (++tries > 1) {
        attempts = tries
        trace.record({
          type: "retry",
          step: name,
          at: now(),
          attempt: tries,
          error: describeError(lastError)
        })
      }
      return attempt
    })
    run = Effect.retry(
      Effect.tapError(once, (error: E) => {
        lastError = error
        return Effect.void
      }),
      { schedule, while: retryable } as Effect.Retry.Options<E>
    )
  }
  return Effect.onExit(run, (exit) => {
    const at = now()
    if (Exit.isSuccess(exit)) {
      trace.record({ type: "end", step: name, at, durationMs: at - startedAt, attempts })
    } else {
      const interrupted = Cause.hasInterruptsOnly(exit.cause)
      const error = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
      trace.record({
        type: "failure",
        step: name,
        at,
        durationMs: at - startedAt,
        attempts,
        error: interrupted ? "interrupted" : describeError(error ?? Cause.squash(exit.cause)),
        interrupted
      })
    }
    return Effect.void
  })
}

export interface ForEachPolicy<E> extends StepPolicy<E> {
  /** How many items run at once. Default 1. */
  readonly concurrency?: number | undefined
}

/**
 * Runs one step per item (named `name[1]`, `name[2]`, …) with at most
 * `concurrency` at a time. The first failure interrupts the rest.
 */
export const forEach = <T, A, E, R>(
  name: string,
  items: Iterable<T>,
  f: (item: T, index: number) => Effect.Effect<A, E, R>,
  policy?: ForEachPolicy<E>
): Effect.Effect<Array<A>, E | StepError, R> =>
  Effect.forEach(items, (item, index) => make(`${name}[${index + 1}]`, f(item, index), policy), {
    concurrency: policy?.concurrency ?? 1
  })

/** What a fan-out finished before it stopped, and what stopped it. */
export interface Settled<A, E> {
  /** The items that finished, in item order, with their index (from 0). */
  readonly done: ReadonlyArray<{ readonly index: number; readonly value: A }>
  /**
   * The first failure, which stopped the fan-out; `undefined` when every item
   * finished. Inside a run this can be the budget's refusal of a model call
   * (`BudgetExceeded`, `BudgetError`), which `effect/ai`'s own types do not show.
   */
  readonly stoppedBy: E | undefined
  /** The indexes of the items that were interrupted or never started. */
  readonly unfinished: ReadonlyArray<number>
}

/**
 * Like `forEach`, but a typed failure does not lose the work already done:
 * the first failure stops the fan-out (in-flight items are interrupted, the
 * rest never start) and the result keeps every finished item alongside it.
 * What a run stopped by its budget half-way wants to hand back. Defects and
 * interruption from outside still end the effect as usual.
 */
export const forEachSettled = <T, A, E, R>(
  name: string,
  items: Iterable<T>,
  f: (item: T, index: number) => Effect.Effect<A, E, R>,
  policy?: ForEachPolicy<E>
): Effect.Effect<Settled<A, E | StepError | BudgetExceeded | BudgetError>, never, R> =>
  Effect.suspend(() => {
    const all = Array.from(items)
    const done: Array<{ readonly index: number; readonly value: A }> = []
    const run = Effect.forEach(
      all,
      (item, index) =>
        Effect.map(make(`${name}[${index + 1}]`, f(item, index), policy), (value) => {
          done.push({ index, value })
        }),
      { concurrency: policy?.concurrency ?? 1, discard: true }
    )
    const settle = (
      stoppedBy: E | StepError | BudgetExceeded | BudgetError | undefined
    ): Settled<A, E | StepError | BudgetExceeded | BudgetError> => {
      done.sort((a, b) => a.index - b.index)
      const finished = new Set(done.map((d) => d.index))
      return { done, stoppedBy, unfinished: all.map((_, i) => i).filter((i) => !finished.has(i)) }
    }
    return Effect.matchEffect(run, {
      onFailure: (error) => Effect.succeed(settle(error)),
      onSuccess: () => Effect.succeed(settle(undefined))
    })
  })
