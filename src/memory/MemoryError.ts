/**
 * The memory area's one error, `MemoryError`, and its reasons.
 *
 * Every store (in memory or SQL) fails with the same reasons, so a caller
 * writes `Effect.catchReason("MemoryError", "PausedRunUsed", …)` once and it
 * holds whichever store is provided. Only `StoreFailed` can be retryable (a
 * lock, a lost connection): every other reason is a caller's mistake or data
 * that will not change by asking again.
 */
import { Schema } from "effect"
import { InvalidOption } from "../core/InvalidOption.ts"
import { StoreFailed } from "../store/StoreError.ts"

export { StoreFailed } from "../store/StoreError.ts"

/** The session id is empty or blank. */
export class InvalidSession extends Schema.TaggedError<InvalidSession>("weft/memory/InvalidSession")(
  "InvalidSession",
  { sessionId: Schema.String }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `Session id must not be empty, got ${JSON.stringify(this.sessionId)}`
  }
}

/** The stored state does not decode with the Schema it is read with (or a value does not encode with its Schema). */
export class InvalidState extends Schema.TaggedError<InvalidState>("weft/memory/InvalidState")(
  "InvalidState",
  {
    sessionId: Schema.String,
    /** What the Schema found wrong, on one line. */
    issue: Schema.String
  }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `State of session "${this.sessionId}" does not match the schema: ${this.issue}`
  }
}

/**
 * A message is not a valid effect/ai `Prompt` message, or its encoded form is
 * not JSON (a tool call's `params` holding a `Date`, say), so no store could
 * keep it as written; or a stored message no longer decodes.
 */
export class InvalidMessage extends Schema.TaggedError<InvalidMessage>("weft/memory/InvalidMessage")(
  "InvalidMessage",
  {
    sessionId: Schema.String,
    /** What is wrong, on one line. */
    issue: Schema.String
  }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `A message of session "${this.sessionId}" cannot be stored or read: ${this.issue}`
  }
}

/** No paused run was ever stored under this id (or its session was cleared). */
export class PausedRunNotFound extends Schema.TaggedError<PausedRunNotFound>("weft/memory/PausedRunNotFound")(
  "PausedRunNotFound",
  { id: Schema.String }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `No paused run has the id ${JSON.stringify(this.id)}`
  }
}

/** The paused run was already taken (resumed) once; it is never handed out twice. */
export class PausedRunUsed extends Schema.TaggedError<PausedRunUsed>("weft/memory/PausedRunUsed")(
  "PausedRunUsed",
  {
    id: Schema.String,
    /** When it was taken, in epoch milliseconds. */
    usedAt: Schema.Number
  }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `Paused run ${JSON.stringify(this.id)} was already resumed at ${new Date(this.usedAt).toISOString()}`
  }
}

/** A paused run is already stored under this id (live or used): ids are never reused. */
export class PausedRunExists extends Schema.TaggedError<PausedRunExists>("weft/memory/PausedRunExists")(
  "PausedRunExists",
  { id: Schema.String }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `A paused run with the id ${JSON.stringify(this.id)} already exists; ids are never reused`
  }
}

/** A paused run's value does not encode with its Schema (or to JSON), or does not decode with the Schema it is read with. */
export class InvalidPausedRun extends Schema.TaggedError<InvalidPausedRun>("weft/memory/InvalidPausedRun")(
  "InvalidPausedRun",
  {
    id: Schema.String,
    /** What is wrong, on one line. */
    issue: Schema.String
  }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `Paused run ${JSON.stringify(this.id)} does not match the schema: ${this.issue}`
  }
}

export const MemoryErrorReason = Schema.Union([
  InvalidSession,
  InvalidState,
  InvalidMessage,
  PausedRunNotFound,
  PausedRunUsed,
  PausedRunExists,
  InvalidPausedRun,
  StoreFailed,
  InvalidOption
])
export type MemoryErrorReason = typeof MemoryErrorReason.Type

/** The memory area's one error; `reason` says what happened. Retryable only when its store says so. */
export class MemoryError extends Schema.TaggedError<MemoryError>("weft/memory/MemoryError")("MemoryError", {
  reason: MemoryErrorReason
}) {
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
  override get message(): string {
    return this.reason.message
  }
}
