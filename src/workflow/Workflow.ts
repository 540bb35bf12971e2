/**
 * A workflow: a named, typed program with a Schema for its input and its
 * output, built from steps.
 *
 * `run` decodes the input, gives the program a fresh budget and trace, meters
 * the `LanguageModel` in context against that budget (so every model call in
 * the run — retries, fan-out branches, sub-workflows — is reserved and
 * charged), enforces the wall-time deadline, checks the output against its
 * Schema and returns the output with the run's trace and usage report.
 * `runExit` does the same but always returns the trace and usage, with the
 * outcome as an `Exit` — what a caller wants when a run stopped half-way.
 */
import { Clock, Context, Effect, type Exit, Schema } from "effect"
import { LanguageModel } from "effect/ai"
import {
  Budget,
  type BudgetLimits,
  type Charge,
  make as makeBudget,
  meter,
  OUTSIDE_STEPS,
  type UsageReport
} from "../budget/Budget.ts"
import type { BudgetError, BudgetExceeded } from "../budget/BudgetError.ts"
import type { PriceTable } from "../budget/Prices.ts"
import { makeAt as makeTraceAt, RunTrace, type StepEvent } from "./Trace.ts"
import { WorkflowError } from "./WorkflowError.ts"

export interface Workflow<I, O, E, R> {
  readonly name: string
  readonly input: Schema.Decoder<I>
  readonly output: Schema.Decoder<O>
  readonly run: (input: I) => Effect.Effect<O, E, R>
  /** The input decoder and output check, built once with the workflow. */
  readonly decodeInput: (input: unknown) => Effect.Effect<I, WorkflowError>
  readonly checkOutput: (output: unknown) => Effect.Effect<O, WorkflowError>
}

const issueMessage = (error: Schema.SchemaError): string => error.message.replace(/\s+/g, " ").trim()

/** Defines a workflow. `run` is an ordinary Effect program, usually a sequence of `Step.make`s. */
export const make = <I, O, E, R>(options: {
  readonly name: string
  readonly input: Schema.Decoder<I>
  readonly output: Schema.Decoder<O>
  readonly run: (input: I) => Effect.Effect<O, E, R>
}): Workflow<I, O, E, R> => {
  const decodeInput = Schema.decodeUnknownEffect(options.input)
  // The program returns a value of the output's type, so that is what is checked
  // (not decoded: a transforming output schema would otherwise reject it).
  const outputType = Schema.toType(options.output)
  const isOutput = Schema.is(outputType)
  const decodeOutput = Schema.decodeUnknownEffect(outputType)
  const failWith = (reason: "InvalidInput" | "InvalidOutput") => (error: Schema.SchemaError) =>
    new WorkflowError({ reason, workflow: options.name, message: issueMessage(error) })
  return {
    ...options,
    decodeInput: (input) => Effect.mapError(decodeInput(input), failWith("InvalidInput")),
    checkOutput: (output) =>
      isOutput(output)
        ? Effect.succeed(output)
        : Effect.mapError(decodeOutput(output), failWith("InvalidOutput"))
  }
}

export interface RunOptions {
  /** Limits for this run (a fresh budget each run). Default: no limits, usage still reported. */
  readonly budget?: BudgetLimits | undefined
  /** Prices merged over the defaults. */
  readonly prices?: PriceTable | undefined
  /** Told of each trace event as it happens (progress output). */
  readonly onEvent?: ((event: StepEvent) => void) | undefined
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

type Provided = Budget | RunTrace

/** Runs a workflow and always returns its trace and usage; the outcome is the `exit`. */
export const runExit = <I, O, E, R>(
  workflow: Workflow<I, O, E, R>,
  input: unknown,
  options?: RunOptions
): Effect.Effect<
  RunOutcome<O, E | WorkflowError | BudgetExceeded | BudgetError>,
  BudgetError,
  Exclude<R, Provided>
> =>
  Effect.withFiber((fiber) => {
    const trace = makeTraceAt(fiber.getRef(Clock.Clock).currentTimeMillisUnsafe(), options?.onEvent)
    const onCharge = (charge: Charge) =>
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
    return Effect.flatMap(makeBudget(options?.budget, { prices: options?.prices, onCharge }), (budget) => {
      // The run's services: its budget and trace, and the caller's model metered against the budget.
      let context = Context.add(Context.add(fiber.context, Budget, budget), RunTrace, trace)
      const model = Context.getOrUndefined(fiber.context, LanguageModel.LanguageModel)
      if (model !== undefined)
        context = Context.add(context, LanguageModel.LanguageModel, meter(model, budget))
      const program = budget.run(
        Effect.flatMap(Effect.flatMap(workflow.decodeInput(input), workflow.run), workflow.checkOutput)
      )
      return Effect.flatMap(Effect.exit(Effect.provideContext(program, context)), (exit) =>
        Effect.map(budget.report, (usage) => ({ exit, trace: trace.events(), usage }))
      )
    })
  }) as any

/** Runs a workflow: its output with the run's trace and usage, or its typed error. */
export const run = <I, O, E, R>(
  workflow: Workflow<I, O, E, R>,
  input: unknown,
  options?: RunOptions
): Effect.Effect<RunResult<O>, E | WorkflowError | BudgetExceeded | BudgetError, Exclude<R, Provided>> =>
  Effect.flatMap(runExit(workflow, input, options), (outcome) =>
    Effect.map(outcome.exit, (output) => ({ output, trace: outcome.trace, usage: outcome.usage }))
  )
