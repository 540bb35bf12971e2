/**
 * The agent area's one error, `AgentError`, in the shape of effect/ai's
 * `AiError`: the agent it is about and a `reason` saying how the run ended
 * without an answer, one tagged class per kind, so
 * `Effect.catchReason("AgentError", "MaxStepsReached", …)` type-checks.
 *
 * - `MaxStepsReached`: the model was still asking for tools when the run had
 *   made `maxSteps` model calls (a model that never answers ends here).
 * - `RepeatedCall`: the model asked for the same tool with the same arguments
 *   `maxRepeats` times: a loop, ended before it spends the budget.
 * - `Denied`: the model called a tool the run denies, and the agent ends runs
 *   on a denial (`onDenied: "end"`).
 * - `InvalidFinal`: the final answer failed its output Schema or validators
 *   after every repair attempt; each attempt's text and issues are kept.
 * - `UnknownApproval` / `ApprovalUsed`: `Agent.resume` was given an approval
 *   id that no paused run has, or one that was already decided.
 * - `InvalidOption`: an agent or tool option Weft cannot accept.
 *
 * A budget refusal is not an `AgentError`: the run fails with the
 * `BudgetError` itself, as a workflow run does. `ToolTimeout` is what a tool
 * attempt that outlived its `timeout` fails with; it is retryable, and once
 * the retries are spent it goes back to the model as the call's result.
 */
import { Duration, Schema } from "effect"
import { InvalidOption } from "../core/InvalidOption.ts"
import { Attempt } from "../validation/Validator.ts"

export { InvalidOption }

export class MaxStepsReached extends Schema.TaggedError<MaxStepsReached>("weft/agent/MaxStepsReached")(
  "MaxStepsReached",
  {
    maxSteps: Schema.Number,
    /** The tools the model asked for in its last step, which were not run. */
    pendingTools: Schema.Array(Schema.String)
  }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    const pending =
      this.pendingTools.length === 0 ? "" : ` (it still asked for ${this.pendingTools.join(", ")})`
    return `the model gave no final answer within ${this.maxSteps} step(s)${pending}`
  }
}

export class RepeatedCall extends Schema.TaggedError<RepeatedCall>("weft/agent/RepeatedCall")(
  "RepeatedCall",
  {
    tool: Schema.String,
    /** The repeated arguments, as JSON. */
    arguments: Schema.String,
    times: Schema.Number
  }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `the model called ${this.tool} with the same arguments ${this.times} times: a loop`
  }
}

export class Denied extends Schema.TaggedError<Denied>("weft/agent/Denied")("Denied", {
  tool: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `the model called ${this.tool}, which this run denies`
  }
}

export class InvalidFinal extends Schema.TaggedError<InvalidFinal>("weft/agent/InvalidFinal")(
  "InvalidFinal",
  {
    attempts: Schema.Array(Attempt)
  }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    const last = this.attempts[this.attempts.length - 1]
    const issues = last === undefined ? "" : last.issues.map((i) => `${i.check}: ${i.message}`).join("; ")
    return `the final answer failed validation after ${this.attempts.length} attempt(s): ${issues}`
  }
}

export class UnknownApproval extends Schema.TaggedError<UnknownApproval>("weft/agent/UnknownApproval")(
  "UnknownApproval",
  { id: Schema.String }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `no paused run waits for approval "${this.id}"`
  }
}

export class ApprovalUsed extends Schema.TaggedError<ApprovalUsed>("weft/agent/ApprovalUsed")(
  "ApprovalUsed",
  {
    id: Schema.String
  }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `approval "${this.id}" was already decided`
  }
}

/** One attempt of a tool call outlived the tool's `timeout` (retryable). */
export class ToolTimeout extends Schema.TaggedError<ToolTimeout>("weft/agent/ToolTimeout")("ToolTimeout", {
  tool: Schema.String,
  timeout: Schema.Duration
}) {
  get isRetryable(): boolean {
    return true
  }
  override get message(): string {
    return `tool ${this.tool} took longer than ${Duration.format(this.timeout)}`
  }
}

export const AgentErrorReason = Schema.Union([
  MaxStepsReached,
  RepeatedCall,
  Denied,
  InvalidFinal,
  UnknownApproval,
  ApprovalUsed,
  InvalidOption
])
export type AgentErrorReason = typeof AgentErrorReason.Type

export class AgentError extends Schema.TaggedError<AgentError>("weft/agent/AgentError")("AgentError", {
  /** The agent the run was in when it ended (after handoffs, the last one). */
  agent: Schema.String,
  reason: AgentErrorReason
}) {
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
  override get message(): string {
    return `Agent "${this.agent}": ${this.reason.message}`
  }
}

export const agentError = (agent: string, reason: AgentErrorReason): AgentError =>
  new AgentError({ agent, reason })
