/**
 * A model that is a chain: a primary model, then the next when it fails in a
 * way the chain names (by default a rate limit, a server error, a network
 * failure or timeout), each model with its own number of attempts. Built on
 * Effect's `ExecutionPlan`: `layer` provides one `LanguageModel` that runs
 * every call (generate, structured output, stream) through the plan, and
 * `plan` gives the plan itself for `Effect.withExecutionPlan` over a whole
 * effect.
 *
 * Each model in the chain is metered under its own name, so every attempt
 * is reserved, settled and priced under the model that made it (the run
 * trace shows one `usage` event per attempt, a failed one as `failed`). Each
 * attempt is also an event on the current span — `weft.fallback.attempt` with
 * the model, the step and how it ended — and `onAttempt` hears the same, so a
 * run can say which model answered and why the others did not. A budget
 * refusal never moves down the chain: it is the run's limit, not the model's
 * failure. A stream moves on only until its first part.
 */
import { Cause, Clock, Context, Effect, ExecutionPlan, Layer, Option, Schedule, Stream } from "effect"
import { AiError, LanguageModel, Model } from "effect/ai"
import { refusalOf } from "../budget/BudgetError.ts"
import { meterContext } from "../budget/Meter.ts"
import { honourRetryAfter } from "../core/Retry.ts"

/** The `AiError` reasons a chain can switch on. */
export type Reason = AiError.AiErrorReason["_tag"]

/** The default reasons to move on: a rate limit, a server error, a network failure or timeout. */
export const DEFAULT_SWITCH_ON: ReadonlyArray<Reason> = [
  "RateLimitError",
  "InternalProviderError",
  "NetworkError"
]

export interface Step<E = never, R = never> {
  /** A provider layer (e.g. `OpenAi.model(…)`, `Local.layer()`); its `Model.ModelName` names the step. */
  readonly model: Layer.Layer<LanguageModel.LanguageModel | Model.ModelName | Model.ProviderName, E, R>
  /** Attempts on this model before moving on; default 1. */
  readonly attempts?: number | undefined
  /** The wait between this model's attempts (stretched to a `retry-after`); default exponential from 250 ms, jittered. */
  readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
}

/** One attempt, as `onAttempt` hears it. */
export interface Attempt {
  readonly model: string
  readonly provider: string
  /** The step's place in the chain, from 0. */
  readonly step: number
  /** Which attempt on this step, from 1. */
  readonly attempt: number
  readonly outcome: "ok" | "failed"
  /** What the attempt failed with (`Reason: message`). */
  readonly error?: string | undefined
}

export interface Options {
  /** What moves the chain on (and retries a step): reason tags, or a predicate; default `DEFAULT_SWITCH_ON`. */
  readonly switchOn?: ReadonlyArray<Reason> | ((error: AiError.AiError) => boolean) | undefined
  /** Told of every attempt as it ends. */
  readonly onAttempt?: ((attempt: Attempt) => void) | undefined
}

const defaultSchedule: Schedule.Schedule<unknown, unknown> = Schedule.jittered(
  Schedule.exponential("250 millis")
) as Schedule.Schedule<unknown, unknown>

/** Whether an error moves the chain on. */
export const switchesOn =
  (on: Options["switchOn"] = DEFAULT_SWITCH_ON) =>
  (error: unknown): boolean => {
    if (!AiError.isAiError(error) || refusalOf(error) !== undefined) return false
    return typeof on === "function" ? on(error) : on.includes(error.reason._tag)
  }

const describe = (cause: Cause.Cause<unknown>): string => {
  const error = Option.getOrUndefined(Cause.findErrorOption(cause))
  if (AiError.isAiError(error)) return `${error.reason._tag}: ${error.reason.message}`
  return Cause.hasInterruptsOnly(cause) ? "interrupted" : (Cause.pretty(cause).split("\n")[0] ?? "failed")
}

const stepOptions = (step: Step<any, any>, index: number, retryable: (error: unknown) => boolean) => {
  const attempts = step.attempts ?? 1
  if (!Number.isInteger(attempts) || attempts < 1) {
    return AiError.make({
      module: "Fallback",
      method: "layer",
      reason: new AiError.InvalidUserInputError({
        description: `steps[${index}].attempts must be an integer ≥ 1, got ${String(step.attempts)}`
      })
    })
  }
  return {
    attempts,
    while: retryable,
    // A single attempt needs no wait: the switch to the next model is immediate.
    ...(attempts > 1 ? { schedule: honourRetryAfter(step.schedule ?? defaultSchedule) } : {})
  }
}

/**
 * The chain as an `ExecutionPlan` over the step layers, for
 * `Effect.withExecutionPlan(effect, yield* Fallback.plan(steps))` over a whole
 * effect. The layers are built for each attempt; prefer `layer` for model calls.
 * Fails with an `AiError` naming a step whose `attempts` is not an integer ≥ 1.
 */
export const plan = <E, R>(
  steps: readonly [Step<E, R>, ...Array<Step<E, R>>],
  options?: Pick<Options, "switchOn">
) =>
  Effect.suspend(() => {
    const retryable = switchesOn(options?.switchOn)
    const made = []
    for (const [i, step] of steps.entries()) {
      const extra = stepOptions(step, i, retryable)
      if (AiError.isAiError(extra)) return Effect.fail(extra)
      made.push({ provide: step.model, ...extra })
    }
    return Effect.succeed(
      ExecutionPlan.make(...(made as [(typeof made)[number], ...Array<(typeof made)[number]>]))
    )
  })

/**
 * Provides one `LanguageModel` (with the first model's `Model.ModelName` and
 * `Model.ProviderName` "fallback") that runs each call down the chain. Each
 * step's layer is built once, when this layer is.
 */
export const layer = <E, R>(
  steps: readonly [Step<E, R>, ...Array<Step<E, R>>],
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel | Model.ModelName | Model.ProviderName, E | AiError.AiError, R> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const retryable = switchesOn(options?.switchOn)
      const contexts: Array<
        Context.Context<LanguageModel.LanguageModel | Model.ModelName | Model.ProviderName>
      > = []
      const names: Array<{ readonly model: string; readonly provider: string }> = []
      for (const step of steps) {
        // A model from a provider that does not meter is metered here, under its own name.
        const context = meterContext(yield* Layer.build(step.model))
        contexts.push(context)
        names.push({
          model: Context.getOrUndefined(context, Model.ModelName) ?? "unknown",
          provider: Context.getOrUndefined(context, Model.ProviderName) ?? "unknown"
        })
      }
      const planSteps = []
      for (const [i, step] of steps.entries()) {
        const extra = stepOptions(step, i, retryable)
        if (AiError.isAiError(extra)) return yield* extra
        planSteps.push({ provide: contexts[i]!, ...extra })
      }
      const chain = ExecutionPlan.make(...(planSteps as [(typeof planSteps)[number]]))

      const onEvent = (event: ExecutionPlan.Event<unknown>) => {
        if (event._tag === "AttemptStart") return Effect.void
        const name = names[event.stepIndex] ?? { model: "unknown", provider: "unknown" }
        const attempt: Attempt = {
          ...name,
          step: event.stepIndex,
          attempt: event.stepAttempt,
          outcome: event._tag === "AttemptSuccess" ? "ok" : "failed",
          ...(event._tag === "AttemptFailure" ? { error: describe(event.cause) } : {})
        }
        options?.onAttempt?.(attempt)
        return Effect.flatMap(Clock.currentTimeNanos, (now) =>
          Effect.match(Effect.currentSpan, {
            onFailure: () => undefined,
            onSuccess: (span) =>
              span.event("weft.fallback.attempt", now, {
                "gen_ai.request.model": attempt.model,
                "gen_ai.system": attempt.provider,
                "weft.fallback.step": attempt.step,
                "weft.attempt": attempt.attempt,
                "weft.outcome": attempt.outcome,
                ...(attempt.error === undefined ? {} : { "weft.error": attempt.error })
              })
          })
        )
      }

      const through = <A, E2>(call: (model: LanguageModel.LanguageModel) => Effect.Effect<A, E2, any>) =>
        Effect.withExecutionPlan(Effect.flatMap(Effect.service(LanguageModel.LanguageModel), call), chain, {
          onEvent
        })

      // Every step's model is metered, so the chain is too: it inherits the
      // first model's mark so that a run does not meter it a second time.
      const first = Context.get(contexts[0]!, LanguageModel.LanguageModel)
      const service: LanguageModel.LanguageModel = Object.create(first)
      Object.defineProperties(service, {
        generateText: { value: (options: any) => through((model) => model.generateText(options)) },
        generateObject: { value: (options: any) => through((model) => model.generateObject(options)) },
        streamText: {
          value: (options: any) =>
            Stream.unwrap(
              Effect.map(Effect.service(LanguageModel.LanguageModel), (model) => model.streamText(options))
            ).pipe(Stream.withExecutionPlan(chain, { preventFallbackOnPartialStream: true, onEvent }))
        }
      })
      return Context.make(LanguageModel.LanguageModel, service).pipe(
        Context.add(Model.ModelName, names[0]!.model),
        Context.add(Model.ProviderName, "fallback")
      )
    })
  ) as never
