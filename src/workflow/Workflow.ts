/**
 * A workflow: a named, typed program with a Schema for its input and its
 * output, built from steps.
 *
 * `run` decodes the input, gives the program a budget (a fresh in-memory one
 * by default, or one the caller's factory makes) and a trace, enforces the
 * wall-time deadline, checks the output against its Schema and returns the
 * output with the run's trace and usage report. Every model call in the run is
 * metered against its budget where the model is made (each Weft provider
 * layer meters itself, reading the budget of the calling fiber); a model from
 * another provider found in context when the run starts is metered too. A run
 * the budget stopped fails with `BudgetError`. `runExit` does the same but
 * always returns the trace and usage, with the outcome as an `Exit` — what a
 * caller wants when a run stopped half-way.
 */
import { Cause, Clock, Context, Effect, Exit, Schema } from "effect"
import {
  Budget,
  type BudgetLimits,
  type BudgetService,
  enforceDeadline,
  OUTSIDE_STEPS
} from "../budget/Budget.ts"
import { type BudgetError, refusalOf } from "../budget/BudgetError.ts"
import { isBudgetError, makeNow as makeInMemoryNow } from "../budget/InMemory.ts"
import { meterContext } from "../budget/Meter.ts"
import type { PriceTable } from "../budget/Prices.ts"
import type { Charge, UsageReport } from "../budget/Usage.ts"
import {
  makeAt as makeTraceAt,
  RunTrace,
  type RunTraceService,
  type StepEvent,
  withRunSpan
} from "./Trace.ts"
import { invalidInput, invalidOutput, type WorkflowError } from "./WorkflowError.ts"

export interface Workflow<I, O, E, R, II = I> {
  readonly name: string
  readonly input: Schema.Decoder<I>
  readonly output: Schema.Decoder<O>
  readonly run: (input: I) => Effect.Effect<O, E, R>
  /** The input decoder and output check, built once with the workflow. */
  readonly decodeInput: (input: unknown) => Effect.Effect<I, WorkflowError>
  readonly checkOutput: (output: unknown) => Effect.Effect<O, WorkflowError>
  /** Type-level only: what `run` accepts as input (the input Schema's encoded type). */
  readonly "~encodedInput"?: II
}

const issueMessage = (error: Schema.SchemaError): string => error.message.replace(/\s+/g, " ").trim()

/** Defines a workflow. `run` is an ordinary Effect program, usually a sequence of `Step.make`s. */
export const make = <
  IS extends Schema.Codec<any, any, never, never>,
  OS extends Schema.Codec<any, any, never, never>,
  E,
  R
>(options: {
  readonly name: string
  readonly input: IS
  readonly output: OS
  readonly run: (input: IS["Type"]) => Effect.Effect<OS["Type"], E, R>
}): Workflow<IS["Type"], OS["Type"], E, R, IS["Encoded"]> => {
  const decodeInput = Schema.decodeUnknownEffect(options.input)
  // The program returns a value of the output's type, so that is what is checked
  // (not decoded: a transforming output schema would otherwise reject it).
  const outputType = Schema.toType(options.output)
  const isOutput = Schema.is(outputType)
  const decodeOutput = Schema.decodeUnknownEffect(outputType)
  return {
    ...options,
    // Eager: a Schema without async checks decodes to an Exit, mapped at once.
    decodeInput: (input) =>
      Effect.mapErrorEager(decodeInput(input), (error) => invalidInput(options.name, issueMessage(error))),
    checkOutput: (output) =>
      isOutput(output)
        ? Effect.succeed(output)
        : Effect.mapError(decodeOutput(output), (error) => invalidOutput(options.name, issueMessage(error)))
  }
}

/** Hooks a budget factory must honour so the run's trace sees each charge. */
export interface BudgetHooks {
  readonly prices?: PriceTable | undefined
  readonly onCharge: (charge: Charge) => void
}

/** Makes the budget of one run: for a budget kept elsewhere (SQL, a cluster entity). */
export type BudgetFactory = (hooks: BudgetHooks) => Effect.Effect<BudgetService, BudgetError>

export interface RunOptions {
  /**
   * Limits for this run (a fresh in-memory budget each run), or a factory that
   * makes the run's budget. Default: no limits, usage still reported.
   */
  readonly budget?: BudgetLimits | BudgetFactory | undefined
  /** Prices merged over the defaults. */
  readonly prices?: PriceTable | undefined
  /** Told of each trace event as it happens (progress output). */
  readonly onEvent?: ((event: StepEvent) => void) | undefined
  /**
   * Record the run as effect `Tracer` spans (a run span with a span per step
   * and per model call) from the same events as the trace. Default: the
   * `Trace.Spans` reference (`Trace.layerSpans` turns it on), else off.
   */
  readonly spans?: boolean | undefined
}

export interface RunResult<O> {
  readonly output: O
  readonly trace: ReadonlyArray<StepEvent>
  readonly usage: UsageReport
}

export interface RunOutcome<O, E> {
  readonly exit: Exit.Exit<O, E>
  readonly trace: ReadonlyArray<StepEvent>
  readonly usage: UsageReport
}

/** What a run provides its program. */
export type Provided = Budget | RunTrace

/** The errors a run can end with: the program's, the workflow's own, and the budget's. */
export type RunError<E> = E | WorkflowError | BudgetError

// A failure the budget caused (a metered call's `AiError` carrying the
// refusal) is reported as the `BudgetError` it is.
export const budgetFirst = <O, E>(exit: Exit.Exit<O, E>): Exit.Exit<O, E | BudgetError> => {
  if (Exit.isSuccess(exit)) return exit
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "None") return exit
  const refusal = refusalOf(error.value)
  return refusal === undefined || refusal === error.value ? exit : Exit.fail(refusal)
}

/**
 * Runs a workflow under its budget and trace and hands how it ended to
 * `finish`. Kept to a few Effect steps, since it runs once per request: the
 * in-memory budget is made and read synchronously, the run's services are
 * added to the fiber's context in place (`updateContext`, not a merge of two
 * contexts), and the exit is matched without a separate `Effect.exit`.
 */
const runWith = <I, O, E, R, II, A, E2>(
  workflow: Workflow<I, O, E, R, II>,
  input: unknown,
  options: RunOptions | undefined,
  finish: (
    exit: Exit.Exit<O, RunError<E>>,
    trace: ReadonlyArray<StepEvent>,
    usage: UsageReport
  ) => Effect.Effect<A, E2>
): Effect.Effect<A, E2 | BudgetError, Exclude<R, Provided>> =>
  Effect.withFiber((fiber) =>
    runUnder(
      fiber.getRef(Clock.Clock),
      workflow.name,
      undefined,
      options,
      () =>
        Effect.suspend(() =>
          Effect.flatMap(Effect.flatMapEager(workflow.decodeInput(input), workflow.run), workflow.checkOutput)
        ),
      (exit, trace, usage) => finish(exit, trace.events(), usage)
    )
  ) as any

/**
 * The run core shared by `run`, `runExit` and `Agent.run`: makes the run's budget
 * (each charge recorded in a fresh trace and passed to `onCharge`), runs
 * `program` under its deadline with the budget and trace in its context, inside
 * the run span, and hands how it ended to `finish`.
 *
 * @internal
 */
export const runUnder = <O, E, A, E2>(
  clock: Clock.Clock,
  name: string,
  kind: "workflow" | "agent" | undefined,
  options: Pick<RunOptions, "budget" | "prices" | "onEvent" | "spans"> | undefined,
  program: (budget: BudgetService, trace: RunTraceService) => Effect.Effect<O, E, any>,
  finish: (
    exit: Exit.Exit<O, E | BudgetError>,
    trace: RunTraceService,
    usage: UsageReport
  ) => Effect.Effect<A, E2>,
  onCharge?: ((charge: Charge) => void) | undefined
): Effect.Effect<A, E2 | BudgetError, any> => {
  const trace = makeTraceAt(clock.currentTimeMillisUnsafe(), options?.onEvent)
  const charged = (charge: Charge) => {
    trace.record({
      type: "usage",
      step: charge.step ?? OUTSIDE_STEPS,
      at: charge.at,
      model: charge.model,
      inputTokens: charge.inputTokens,
      outputTokens: charge.outputTokens,
      costUsd: charge.costUsd,
      outcome: charge.outcome
    })
    onCharge?.(charge)
  }
  const under = (budget: BudgetService): Effect.Effect<A, E2, any> => {
    // The run's services: its budget and trace, and the caller's model metered
    // if its provider does not; added inside the run span, so steps hang from it.
    const provided = Effect.updateContext(enforceDeadline(budget, program(budget, trace)), (context) =>
      Context.add(Context.add(meterContext(context), Budget, budget), RunTrace, trace)
    )
    const spanned = withRunSpan(trace, name, provided, { spans: options?.spans, kind })
    const ended = (exit: Exit.Exit<O, E | BudgetError>) =>
      Effect.flatMap(budget.report, (usage) => finish(budgetFirst(exit), trace, usage))
    return Effect.matchCauseEffect(spanned, {
      onSuccess: (output) => ended(Exit.succeed(output)),
      onFailure: (cause) => ended(Exit.failCause(cause))
    })
  }
  const limits = options?.budget
  if (typeof limits === "function")
    return Effect.flatMap(limits({ prices: options?.prices, onCharge: charged }), under)
  const budget = makeInMemoryNow(limits, { prices: options?.prices, onCharge: charged }, clock)
  return isBudgetError(budget) ? Effect.fail(budget) : under(budget)
}

/**
 * Runs a workflow and always returns its trace and usage; the outcome is the
 * `exit`. It fails only when the run's budget cannot be made (a limit or a
 * price out of range), before anything ran.
 */
export const runExit = <I, O, E, R, II>(
  workflow: Workflow<I, O, E, R, II>,
  input: NoInfer<II>,
  options?: RunOptions
): Effect.Effect<RunOutcome<O, RunError<E>>, BudgetError, Exclude<R, Provided>> =>
  runWith(workflow, input, options, (exit, trace, usage) => Effect.succeed({ exit, trace, usage }))

/** Runs a workflow: its output with the run's trace and usage, or its typed error. */
export const run = <I, O, E, R, II>(
  workflow: Workflow<I, O, E, R, II>,
  input: NoInfer<II>,
  options?: RunOptions
): Effect.Effect<RunResult<O>, RunError<E>, Exclude<R, Provided>> =>
  runWith(
    workflow,
    input,
    options,
    (exit, trace, usage): Effect.Effect<RunResult<O>, RunError<E>> =>
      Exit.isSuccess(exit)
        ? Effect.succeed({ output: exit.value, trace, usage })
        : Effect.failCause(exit.cause)
  )
