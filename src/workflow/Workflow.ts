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
import { Effect, type Exit, Option, Schema } from "effect"
import { LanguageModel } from "effect/ai"
import {
  Budget,
  type BudgetLimits,
  type BudgetService,
  make as makeBudget,
  meter,
  type UsageReport
} from "../budget/Budget.ts"
import type { BudgetError, BudgetExceeded } from "../budget/BudgetError.ts"
import type { PriceTable } from "../budget/Prices.ts"
import { make as makeTrace, RunTrace, type StepEvent } from "./Trace.ts"
import { WorkflowError } from "./WorkflowError.ts"

export interface Workflow<I, O, E, R> {
  readonly name: string
  readonly input: Schema.Decoder<I>
  readonly output: Schema.Decoder<O>
  readonly run: (input: I) => Effect.Effect<O, E, R>
}

/** Defines a workflow. `run` is an ordinary Effect program, usually a sequence of `Step.make`s. */
export const make = <I, O, E, R>(options: {
  readonly name: string
  readonly input: Schema.Decoder<I>
  readonly output: Schema.Decoder<O>
  readonly run: (input: I) => Effect.Effect<O, E, R>
}): Workflow<I, O, E, R> => options

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

const issueMessage = (error: Schema.SchemaError): string => error.message.replace(/\s+/g, " ").trim()

/** Runs a workflow and always returns its trace and usage; the outcome is the `exit`. */
export const runExit = <I, O, E, R>(
  workflow: Workflow<I, O, E, R>,
  input: unknown,
  options?: RunOptions
): Effect.Effect<RunOutcome<O, E | WorkflowError | BudgetExceeded>, BudgetError, Exclude<R, Provided>> =>
  Effect.gen(function* () {
    const trace = yield* makeTrace(options?.onEvent)
    const budget: BudgetService = yield* makeBudget(options?.budget, {
      prices: options?.prices,
      onCharge: (charge) =>
        trace.record({
          type: "usage",
          step: charge.step ?? workflow.name,
          at: charge.at,
          model: charge.model,
          inputTokens: charge.inputTokens,
          outputTokens: charge.outputTokens,
          costUsd: charge.costUsd,
          outcome: charge.outcome
        })
    })
    const model = yield* Effect.serviceOption(LanguageModel.LanguageModel)

    let program: Effect.Effect<O, E | WorkflowError | BudgetExceeded, any> = Schema.decodeUnknownEffect(
      workflow.input
    )(input).pipe(
      Effect.mapError(
        (error) =>
          new WorkflowError({ reason: "InvalidInput", workflow: workflow.name, message: issueMessage(error) })
      ),
      Effect.flatMap(workflow.run),
      Effect.flatMap((output) =>
        Effect.mapError(
          Schema.decodeUnknownEffect(workflow.output)(output),
          (error) =>
            new WorkflowError({
              reason: "InvalidOutput",
              workflow: workflow.name,
              message: issueMessage(error)
            })
        )
      )
    )
    program = budget.run(program)
    if (Option.isSome(model))
      program = Effect.provideService(program, LanguageModel.LanguageModel, meter(model.value, budget))
    program = Effect.provideService(Effect.provideService(program, Budget, budget), RunTrace, trace)

    const exit = yield* Effect.exit(program)
    const usage = yield* budget.report
    return { exit, trace: trace.events(), usage }
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
