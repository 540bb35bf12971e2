/**
 * The workflow area's one error, `WorkflowError`, in the shape of effect/ai's
 * `AiError`: where it happened (the workflow, the step) and a `reason` that
 * says what went wrong, one tagged class per kind of failure, so
 * `Effect.catchReason("WorkflowError", "StepTimeout", …)` type-checks.
 *
 * - `InvalidInput` / `InvalidOutput`: a run's input or output does not match
 *   the workflow's Schema.
 * - `StepTimeout`: one attempt of a step took longer than its `timeout`; the
 *   only retryable reason (the next attempt may well be quicker).
 * - `InvalidOption`: a step option Weft cannot accept (`timeout: "soon"`,
 *   `concurrency: 0`), the reason every area shares (src/core/InvalidOption.ts).
 */
import { Duration, Schema } from "effect"
import { InvalidOption } from "../core/InvalidOption.ts"

export { InvalidOption }

export class InvalidInput extends Schema.TaggedError<InvalidInput>("weft/workflow/InvalidInput")(
  "InvalidInput",
  {
    /** What does not match the input Schema, one line. */
    issues: Schema.String
  }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `the input does not match the workflow's input Schema: ${this.issues}`
  }
}

export class InvalidOutput extends Schema.TaggedError<InvalidOutput>("weft/workflow/InvalidOutput")(
  "InvalidOutput",
  {
    /** What does not match the output Schema, one line. */
    issues: Schema.String
  }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `the output does not match the workflow's output Schema: ${this.issues}`
  }
}

export class StepTimeout extends Schema.TaggedError<StepTimeout>("weft/workflow/StepTimeout")("StepTimeout", {
  /** The step whose attempt timed out. */
  step: Schema.String,
  /** The step's `timeout`: the most one attempt may take. */
  timeout: Schema.Duration
}) {
  /** A timed-out attempt may well succeed on the next try. */
  get isRetryable(): boolean {
    return true
  }
  override get message(): string {
    return `Step "${this.step}" took longer than ${Duration.format(this.timeout)}`
  }
}

export const WorkflowErrorReason = Schema.Union([InvalidInput, InvalidOutput, StepTimeout, InvalidOption])
export type WorkflowErrorReason = typeof WorkflowErrorReason.Type

export class WorkflowError extends Schema.TaggedError<WorkflowError>("weft/workflow/WorkflowError")(
  "WorkflowError",
  {
    /** The workflow the failure is about, when it is about a run. */
    workflow: Schema.optional(Schema.String),
    /** The step the failure is about, when it is about one. */
    step: Schema.optional(Schema.String),
    reason: WorkflowErrorReason
  }
) {
  /** Delegates to the reason: only a step timeout is worth another attempt. */
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
  override get message(): string {
    const where =
      this.workflow !== undefined
        ? `Workflow "${this.workflow}"`
        : this.step !== undefined && this.reason._tag !== "StepTimeout"
          ? `Step "${this.step}"`
          : undefined
    return where === undefined ? this.reason.message : `${where}: ${this.reason.message}`
  }
}

/** A run's input does not match the workflow's input Schema. */
export const invalidInput = (workflow: string, issues: string): WorkflowError =>
  new WorkflowError({ workflow, reason: new InvalidInput({ issues }) })

/** A run's output does not match the workflow's output Schema. */
export const invalidOutput = (workflow: string, issues: string): WorkflowError =>
  new WorkflowError({ workflow, reason: new InvalidOutput({ issues }) })

/** An attempt of `step` took longer than `timeout` (retryable). */
export const stepTimeout = (step: string, timeout: Duration.Duration): WorkflowError =>
  new WorkflowError({ step, reason: new StepTimeout({ step, timeout }) })

/** A step option Weft cannot accept. */
export const invalidOption = (step: string, reason: InvalidOption): WorkflowError =>
  new WorkflowError({ step, reason })
