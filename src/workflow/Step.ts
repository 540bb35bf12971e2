/**
 * A step: a named Effect with a policy — retry on a `Schedule` (only errors
 * that say they are retryable), a timeout per attempt — that records what it
 * did (start, each retry, end or failure) in the run trace, and labels the
 * model calls it makes so the budget charges them to it.
 *
 * `forEach` fans a step out over many items with a concurrency limit; the
 * items share the run's budget, and when one fails (a budget refusal, say)
 * the ones in flight are interrupted and the ones not started never start.
 *
 * A policy is checked once, when the step is built: a `timeout` that is not
 * a positive duration or a `concurrency` that is not an integer ≥ 1 fails the
 * step with `WorkflowError` reason `InvalidOption`, naming the option and the
 * value. `make` is dual: `Step.make(name, effect, policy)` or
 * `effect.pipe(Step.make(name, policy))`.
 *
 * Steps are on every run's hot path: one synchronous look at the fiber
 * (`Effect.withFiber`) per step, not `Effect.fn` (which captures a stack trace
 * per call). With spans on (see Trace.ts) a step also opens its span there,
 * from the fiber's `Tracer`, without a stack trace.
 */
import { Cause, Clock, Context, Duration, Effect, Exit, Option, type Schedule, Tracer } from "effect"
import { CurrentStep } from "../budget/Budget.ts"
import type { BudgetError } from "../budget/BudgetError.ts"
import { checkInteger, InvalidOption, show } from "../core/InvalidOption.ts"
import { describeError, RunTrace, type RunTraceService } from "./Trace.ts"
import { invalidOption, stepTimeout, WorkflowError } from "./WorkflowError.ts"
import { honourRetryAfter, isRetryable as isRetryableError } from "../core/Retry.ts"

export interface StepPolicy<E> {
  /**
   * When to try again after a retryable failure, e.g.
   * `Schedule.max([Schedule.exponential("100 millis"), Schedule.recurs(3)])`.
   */
  readonly retry?: Schedule.Schedule<unknown, E | WorkflowError, never, never> | undefined
  /**
   * Which of the step's own failures may be retried. Default: those whose
   * `isRetryable` is true. A timed-out attempt is always retryable.
   */
  readonly isRetryable?: ((error: E) => boolean) | undefined
  /**
   * The most one attempt may take, a positive duration (`"30 seconds"`); a
   * timed-out attempt fails with `WorkflowError` reason `StepTimeout`
   * (retryable).
   */
  readonly timeout?: Duration.Input | undefined
}

/** The default retry filter: errors that carry `isRetryable: true` (AiError, a step timeout, …). */
export const isRetryable = (error: unknown): boolean => isRetryableError(error)

/** A step's policy, checked and prepared once. */
interface Prepared<E> {
  readonly timeout: Duration.Duration | undefined
  readonly schedule: Schedule.Schedule<unknown, E | WorkflowError, never, never> | undefined
  readonly retryable: (error: E | WorkflowError) => boolean
}

/** `timeout` as a Duration (`undefined`: none), or the reason it cannot be one. */
const checkTimeout = (value: unknown): Duration.Duration | undefined | InvalidOption => {
  if (value === undefined) return undefined
  const duration = Duration.fromInput(value as Duration.Input)
  if (Option.isNone(duration) || Duration.isNegative(duration.value) || Duration.isZero(duration.value)) {
    return new InvalidOption({
      option: "timeout",
      value: show(value),
      expected: 'a duration > 0, e.g. "30 seconds" or 30000 (ms)'
    })
  }
  return Duration.isFinite(duration.value) ? duration.value : undefined
}

const prepare = <E>(name: string, policy: StepPolicy<E> | undefined): Prepared<E> | WorkflowError => {
  const timeout = checkTimeout(policy?.timeout)
  if (timeout instanceof InvalidOption) return invalidOption(name, timeout)
  const custom = policy?.isRetryable
  return {
    timeout,
    schedule: policy?.retry === undefined ? undefined : honourRetryAfter(policy.retry),
    // A custom filter judges the step's own errors; a timeout is always worth another attempt.
    retryable:
      custom === undefined
        ? isRetryable
        : (error) => (error instanceof WorkflowError ? error.isRetryable : custom(error as E))
  }
}

/** `concurrency` as Effect takes it, or the reason it cannot be. */
const checkConcurrency = (value: unknown): number | "unbounded" | InvalidOption =>
  value === undefined
    ? 1
    : value === "unbounded"
      ? value
      : (checkInteger("concurrency", value, 1) ?? (value as number))

/**
 * Runs `effect` as the step `name` under `policy`. Dual:
 * `Step.make("draft", effect, policy)` or `effect.pipe(Step.make("draft", policy))`.
 */
export const make: {
  <P = unknown>(
    name: string,
    policy?: StepPolicy<P>
  ): <A, E extends P, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | WorkflowError, R>
  <A, E, R>(
    name: string,
    effect: Effect.Effect<A, E, R>,
    policy?: StepPolicy<NoInfer<E>>
  ): Effect.Effect<A, E | WorkflowError, R>
} = (
  name: string,
  effectOrPolicy?: Effect.Effect<any, any, any> | StepPolicy<any>,
  policy?: StepPolicy<any>
): any => {
  // effect's `dual` puts the data first; here the name comes first in both forms,
  // so the form is told by whether the second argument is an Effect.
  if (Effect.isEffect(effectOrPolicy)) return makeStep(name, effectOrPolicy, policy)
  const prepared = prepare(name, effectOrPolicy as StepPolicy<any> | undefined)
  return (effect: Effect.Effect<any, any, any>) =>
    prepared instanceof WorkflowError ? Effect.fail(prepared) : runStep(name, effect, prepared)
}

const makeStep = <A, E, R>(
  name: string,
  effect: Effect.Effect<A, E, R>,
  policy: StepPolicy<E> | undefined
): Effect.Effect<A, E | WorkflowError, R> => {
  const prepared = prepare(name, policy)
  return prepared instanceof WorkflowError ? Effect.fail(prepared) : runStep(name, effect, prepared)
}

const runStep = <A, E, R>(
  name: string,
  effect: Effect.Effect<A, E, R>,
  policy: Prepared<E>
): Effect.Effect<A, E | WorkflowError, R> =>
  // One synchronous look at the fiber: label the step's context (so the budget
  // charges its model calls to it) and find the run's trace; outside a run the
  // step is just its policy.
  Effect.withFiber((fiber) => {
    let context = Context.add(fiber.context, CurrentStep, name)
    const trace = Context.getOrUndefined(fiber.context, RunTrace)
    if (trace === undefined) {
      const attempt = withTimeout(name, Effect.provideContext(effect, context), policy.timeout)
      return policy.schedule === undefined
        ? attempt
        : Effect.retry(attempt, {
            schedule: policy.schedule,
            while: policy.retryable
          } as Effect.Retry.Options<E | WorkflowError>)
    }
    const clock = fiber.getRef(Clock.Clock)
    const startedAt = clock.currentTimeMillisUnsafe() - trace.startedAt
    const span = trace.record(
      { type: "start", step: name, at: startedAt },
      Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
    )
    if (span !== undefined) context = Context.add(context, Tracer.ParentSpan, span)
    const attempt = withTimeout(name, Effect.provideContext(effect, context), policy.timeout)
    return traced(name, attempt, policy, trace, clock, startedAt, span)
  })

const withTimeout = <A, E, R>(
  name: string,
  attempt: Effect.Effect<A, E, R>,
  timeout: Duration.Duration | undefined
): Effect.Effect<A, E | WorkflowError, R> =>
  timeout === undefined
    ? attempt
    : Effect.timeoutOrElse(attempt, {
        duration: timeout,
        orElse: () => Effect.fail(stepTimeout(name, timeout))
      })

const traced = <A, E, R>(
  name: string,
  attempt: Effect.Effect<A, E | WorkflowError, R>,
  policy: Prepared<E>,
  trace: RunTraceService,
  clock: Clock.Clock,
  startedAt: number,
  span: Tracer.Span | undefined
): Effect.Effect<A, E | WorkflowError, R> => {
  const now = () => clock.currentTimeMillisUnsafe() - trace.startedAt
  let attempts = 1
  let run = attempt
  if (policy.schedule !== undefined) {
    let lastError: E | WorkflowError | undefined
    let tries = 0
    const once = Effect.suspend(() => {
      if (++tries > 1) {
        attempts = tries
        trace.record(
          { type: "retry", step: name, at: now(), attempt: tries, error: describeError(lastError) },
          span
        )
      }
      return attempt
    })
    run = Effect.retry(
      Effect.tapError(once, (error) => {
        lastError = error
        return Effect.void
      }),
      { schedule: policy.schedule, while: policy.retryable } as Effect.Retry.Options<E | WorkflowError>
    )
  }
  return Effect.onExit(run, (exit) => {
    const at = now()
    if (Exit.isSuccess(exit)) {
      trace.record({ type: "end", step: name, at, durationMs: at - startedAt, attempts }, span)
    } else {
      const interrupted = Cause.hasInterruptsOnly(exit.cause)
      const error = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
      trace.record(
        {
          type: "failure",
          step: name,
          at,
          durationMs: at - startedAt,
          attempts,
          error: interrupted ? "interrupted" : describeError(error ?? Cause.squash(exit.cause)),
          interrupted
        },
        span
      )
    }
    return Effect.void
  })
}

export interface ForEachPolicy<E> extends StepPolicy<E> {
  /** How many items run at once: an integer ≥ 1, or `"unbounded"`. Default 1. */
  readonly concurrency?: number | "unbounded" | undefined
}

/** A fan-out's policy, checked once for all its items. */
const prepareForEach = <E>(
  name: string,
  policy: ForEachPolicy<E> | undefined
): { readonly step: Prepared<E>; readonly concurrency: number | "unbounded" } | WorkflowError => {
  const concurrency = checkConcurrency(policy?.concurrency)
  if (concurrency instanceof InvalidOption) return invalidOption(name, concurrency)
  const step = prepare(name, policy)
  return step instanceof WorkflowError ? step : { step, concurrency }
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
): Effect.Effect<Array<A>, E | WorkflowError, R> => {
  const prepared = prepareForEach(name, policy)
  if (prepared instanceof WorkflowError) return Effect.fail(prepared)
  return Effect.forEach(
    items,
    (item, index) => runStep(`${name}[${index + 1}]`, f(item, index), prepared.step),
    {
      concurrency: prepared.concurrency
    }
  )
}

/** What a fan-out finished before it stopped, and what stopped it. */
export interface Settled<A, E> {
  /** The items that finished, in item order, with their index (from 0). */
  readonly done: ReadonlyArray<{ readonly index: number; readonly value: A }>
  /**
   * The first failure, which stopped the fan-out; `undefined` when every item
   * finished. Inside a run this can be the budget's refusal of a model call,
   * an `AiError` that `refusalOf` turns back into the `BudgetError`.
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
): Effect.Effect<Settled<A, E | WorkflowError | BudgetError>, never, R> =>
  Effect.suspend(() => {
    const all = Array.from(items)
    const done: Array<{ readonly index: number; readonly value: A }> = []
    const prepared = prepareForEach(name, policy)
    const run =
      prepared instanceof WorkflowError
        ? Effect.fail(prepared)
        : Effect.forEach(
            all,
            (item, index) =>
              Effect.map(runStep(`${name}[${index + 1}]`, f(item, index), prepared.step), (value) => {
                done.push({ index, value })
              }),
            { concurrency: prepared.concurrency, discard: true }
          )
    const settle = (
      stoppedBy: E | WorkflowError | BudgetError | undefined
    ): Settled<A, E | WorkflowError | BudgetError> => {
      done.sort((a, b) => a.index - b.index)
      const finished = new Set(done.map((d) => d.index))
      return { done, stoppedBy, unfinished: all.map((_, i) => i).filter((i) => !finished.has(i)) }
    }
    return Effect.matchEffect(run, {
      onFailure: (error) => Effect.succeed(settle(error)),
      onSuccess: () => Effect.succeed(settle(undefined))
    })
  })
