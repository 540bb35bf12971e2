/**
 * What the example scripts share: turning a typed failure into the one-line
 * message a person reads (never a stack trace), and printing answers,
 * timelines and usage reports.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Console, Effect, Option, Predicate } from "effect"
import { Flag } from "effect/cli"
import type { UsageReport } from "../src/budget/Budget.ts"
import { Report, type Trace } from "../src/workflow/index.ts"

/** The one line a person sees when a run fails. */
export const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const error = Option.getOrUndefined(Cause.findErrorOption(cause))
  if (error !== undefined) {
    return Predicate.hasProperty(error, "message") &&
      Predicate.isString(error.message) &&
      error.message.length > 0
      ? error.message
      : String(error)
  }
  if (Cause.hasInterruptsOnly(cause)) return "interrupted"
  const defect = Cause.squash(cause)
  return defect instanceof Error
    ? `unexpected failure: ${defect.message}`
    : `unexpected failure: ${String(defect)}`
}

/**
 * Runs a CLI program as the process entry point: a failure prints
 * `weft: <message>` on stderr and exits 1.
 */
export const runMain = <E>(program: Effect.Effect<void, E, NodeServices.NodeServices>): void =>
  program.pipe(
    Effect.catchCause((cause) => {
      const error = Option.getOrUndefined(Cause.findErrorOption(cause))
      // effect/cli has already printed the help (and any parse errors with it).
      if (Predicate.isTagged(error, "ShowHelp")) {
        const errors = (error as unknown as { readonly errors: ReadonlyArray<unknown> }).errors
        return Effect.sync(() => {
          if (errors.length > 0) process.exitCode = 1
        })
      }
      return Cause.hasInterruptsOnly(cause)
        ? Effect.void
        : Effect.andThen(
            Console.error(`weft: ${describeFailure(cause)}`),
            Effect.sync(() => {
              process.exitCode = 1
            })
          )
    }),
    Effect.provide(NodeServices.layer),
    NodeRuntime.runMain({ disableErrorReporting: true })
  )

/** The `--max-calls` flag every example has: the run's model-call limit. */
export const maxCallsFlag = (defaultCalls: number) =>
  Flag.Int("max-calls").pipe(
    Flag.withDescription("Model-call limit for the run"),
    Flag.withDefault(defaultCalls)
  )

/** The timeline and the usage report of a run, as printed at the end of each example. */
export const printRun = (trace: ReadonlyArray<Trace.StepEvent>, usage: UsageReport) =>
  Console.log(`\n${Report.timeline(trace)}\n\n${Report.usage(usage)}`)
