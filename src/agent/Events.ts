/**
 * What an agent run reports, as Schemas so it can be sent as JSON (SSE), kept
 * in a trace or stored: the audit record of each tool call, a pending
 * approval, and the events `Agent.stream` emits.
 *
 * Event order within a run (documented in docs/agents.md and tested):
 * for each step — `step-started`; `text-delta`s (streamed runs only); `usage`
 * when the model call is settled; then, if the model asked for tools,
 * `tool-call-started` for every call in the order the model gave them, and a
 * `tool-call-finished` for each as it finishes (completion order); a
 * `handoff` when a call handed the conversation over; `step-finished`. An
 * `approval-requested` comes instead of the step's end when a call waits for
 * a person. The last event of every run is one `end`.
 */
import { Schema } from "effect"

export const ToolOutcome = Schema.Literals([
  /** The handler ran and its result was sent to the model. */
  "ok",
  /** The handler failed (after its retries); the failure was sent to the model. */
  "failed",
  /** Every attempt outlived the tool's timeout. */
  "timeout",
  /** The handler died with a defect. */
  "defect",
  /** The handler's result did not encode with the tool's success Schema. */
  "invalid-result",
  /** The arguments did not decode with the tool's parameters Schema; the issues were sent to the model. */
  "invalid-arguments",
  /** The model named a tool the agent does not have. */
  "unknown-tool",
  /** The run denies this tool; the handler did not run. */
  "denied",
  /** A person refused the call; the handler did not run. */
  "approval-denied",
  /** The call handed the conversation to another agent. */
  "handoff"
])
export type ToolOutcome = typeof ToolOutcome.Type

/** The audit record of one tool call. */
export const ToolCallRecord = Schema.Struct({
  callId: Schema.String,
  tool: Schema.String,
  /** The agent whose model asked for the call. */
  agent: Schema.String,
  /** The step (model call, from 1) that asked for it. */
  step: Schema.Number,
  /** The arguments as the model sent them (`"<redacted>"` for a tool with `redactArguments`). */
  arguments: Schema.Unknown,
  outcome: ToolOutcome,
  /** Attempts the handler made (0 when it never ran). */
  attempts: Schema.Number,
  /** ms since the run began, when the call started. */
  at: Schema.Number,
  durationMs: Schema.Number,
  /** What went wrong, one line, when the outcome is not `ok`. */
  error: Schema.optional(Schema.String)
})
export type ToolCallRecord = typeof ToolCallRecord.Type

/** A tool call waiting for a person's decision; `Agent.resume(agent, id, decision)` continues the run. */
export const PendingApproval = Schema.Struct({
  id: Schema.String,
  agent: Schema.String,
  tool: Schema.String,
  callId: Schema.String,
  arguments: Schema.Unknown
})
export type PendingApproval = typeof PendingApproval.Type

/** How a run ended. */
export const EndReason = Schema.Literals([
  "final",
  "paused",
  "stopped",
  "maxSteps",
  "repeatedCall",
  "denied",
  "invalidFinal",
  "budget",
  "failed"
])
export type EndReason = typeof EndReason.Type

export const AgentEvent = Schema.Union([
  Schema.Struct({ type: Schema.Literal("step-started"), agent: Schema.String, step: Schema.Number }),
  Schema.Struct({
    type: Schema.Literal("text-delta"),
    agent: Schema.String,
    step: Schema.Number,
    delta: Schema.String
  }),
  Schema.Struct({
    type: Schema.Literal("usage"),
    agent: Schema.String,
    step: Schema.Number,
    model: Schema.String,
    inputTokens: Schema.Number,
    outputTokens: Schema.Number,
    costUsd: Schema.Number
  }),
  Schema.Struct({
    type: Schema.Literal("tool-call-started"),
    agent: Schema.String,
    step: Schema.Number,
    callId: Schema.String,
    tool: Schema.String,
    arguments: Schema.Unknown
  }),
  Schema.Struct({ type: Schema.Literal("tool-call-finished"), record: ToolCallRecord }),
  Schema.Struct({
    type: Schema.Literal("handoff"),
    from: Schema.String,
    to: Schema.String,
    step: Schema.Number
  }),
  Schema.Struct({ type: Schema.Literal("approval-requested"), approval: PendingApproval }),
  Schema.Struct({
    type: Schema.Literal("step-finished"),
    agent: Schema.String,
    step: Schema.Number,
    text: Schema.String,
    toolCalls: Schema.Number
  }),
  Schema.Struct({
    type: Schema.Literal("end"),
    reason: EndReason,
    agent: Schema.String,
    steps: Schema.Number,
    /** The final answer's text (reason `final` or `stopped`). */
    text: Schema.optional(Schema.String),
    /** The final output, encoded with the output Schema (reason `final`). */
    output: Schema.optional(Schema.Unknown),
    /** The approval the run waits for (reason `paused`). */
    approval: Schema.optional(PendingApproval),
    /** What ended the run, one line (the failures). */
    error: Schema.optional(Schema.String)
  })
])
export type AgentEvent = typeof AgentEvent.Type
