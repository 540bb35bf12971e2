/**
 * The workflow area's errors: a step that ran out of time, and a run whose
 * input or output does not match the workflow's Schema.
 */
import { Schema } from "effect"

export class StepError extends Schema.TaggedError<StepError>()("StepError", {
  reason: Schema.Literals(["Timeout"]),
  step: Schema.String,
  message: Schema.String
}) {
  /** A timed-out attempt may well succeed on the next try. */
  get isRetryable(): boolean {
    return this.reason === "Timeout"
  }
}

export class WorkflowError extends Schema.TaggedError<WorkflowError>()("WorkflowError", {
  reason: Schema.Literals(["InvalidInput", "InvalidOutput"]),
  workflow: Schema.String,
  message: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
}
