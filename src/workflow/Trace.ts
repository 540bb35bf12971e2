/**
 * The run trace: what each step did and when, as a list of events.
 *
 * Steps record `start`, `retry`, `end` and `failure`; the run's budget records
 * `usage` for every model call, labelled with the step that made it. A
 * listener (`onEvent`) sees each event as it happens, which is how the CLI
 * shows progress. Times are ms since the run began, read from the Effect
 * `Clock`, so `TestClock` drives them in tests.
 */
import { Clock, Context, Effect, Predicate } from "effect"

export type StepEvent =
  | { readonly type: "start"; readonly step: string; readonly at: number }
  | {
      readonly type: "retry"
      readonly step: string
      readonly at: number
      /** The attempt that is starting (2 for the first retry). */
      readonly attempt: number
      /** What the previous attempt failed with. */
      readonly error: string
    }
  | {
      readonly type: "end"
      readonly step: string
      readonly at: number
      readonly durationMs: number
      readonly attempts: number
    }
  | {
      readonly type: "failure"
      readonly step: string
      readonly at: number
      readonly durationMs: number
      readonly attempts: number
      readonly error: string
      readonly interrupted: boolean
    }
  | {
      readonly type: "usage"
      readonly step: string
      readonly at: number
      readonly model: string
      readonly inputTokens: number
      readonly outputTokens: number
      readonly costUsd: number
      readonly outcome: "ok" | "failed" | "invalid" | "interrupted"
    }

export interface RunTraceService {
  /** When the run began, in Clock ms. */
  readonly startedAt: number
  readonly record: (event: StepEvent) => void
  readonly events: () => ReadonlyArray<StepEvent>
}

export class RunTrace extends Context.Service<RunTrace, RunTraceService>()("weft/workflow/RunTrace") {}

/** A fresh trace starting now, telling `onEvent` of each event. */
export const make = (onEvent?: (event: StepEvent) => void): Effect.Effect<RunTraceService> =>
  Effect.map(Clock.currentTimeMillis, (startedAt) => makeAt(startedAt, onEvent))

/** A fresh trace that counts time from `startedAt` (Clock ms). */
export const makeAt = (startedAt: number, onEvent?: (event: StepEvent) => void): RunTraceService => {
  const events: Array<StepEvent> = []
  return {
    startedAt,
    record: (event) => {
      events.push(event)
      onEvent?.(event)
    },
    events: () => events.slice()
  }
}

/**
 * A one-line description of a failure that is safe to show: the error's tag
 * and message. Messages are built from the errors' own fields; secrets are
 * `Redacted` values, which print as `<redacted>`.
 */
export const describeError = (error: unknown): string => {
  const tag = Predicate.hasProperty(error, "_tag") && Predicate.isString(error._tag) ? error._tag : undefined
  const message =
    Predicate.hasProperty(error, "message") && Predicate.isString(error.message) && error.message.length > 0
      ? error.message
      : undefined
  if (tag !== undefined && message !== undefined) return `${tag}: ${message}`
  return tag ?? message ?? String(error)
}
