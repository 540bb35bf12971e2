/**
 * Memory: a session's conversation turns and its typed working state.
 *
 * Keyed by session id. State is stored encoded and decoded with the caller's
 * Schema on the way out, so a store that holds JSON (SQL, later) keeps the
 * same contract, and a state written under one shape and read under another
 * fails with a typed error instead of handing back the wrong type.
 * `layerInMemory` keeps everything in the process.
 *
 * Every failure is a `MemoryError` whose `reason` says what went wrong
 * (`InvalidSession`, `InvalidState`, `InvalidOption`), so a caller can write
 * `Effect.catchReason("MemoryError", "InvalidState", …)`.
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { checkInteger, InvalidOption } from "../core/InvalidOption.ts"

export interface Turn {
  readonly role: "user" | "assistant"
  readonly text: string
  /** Sources the turn cited, for assistant turns. */
  readonly citations?: ReadonlyArray<string> | undefined
}

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

export const MemoryErrorReason = Schema.Union([InvalidSession, InvalidState, InvalidOption])
export type MemoryErrorReason = typeof MemoryErrorReason.Type

/** The memory area's one error; `reason` says what happened. Never retryable. */
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

export interface MemoryService {
  readonly append: (sessionId: string, turn: Turn) => Effect.Effect<void, MemoryError>
  /** The session's turns, oldest first; `last` (an integer ≥ 0) keeps only the newest n. */
  readonly history: (
    sessionId: string,
    options?: { readonly last?: number | undefined }
  ) => Effect.Effect<ReadonlyArray<Turn>, MemoryError>
  readonly getState: <A, I>(
    sessionId: string,
    schema: Schema.Codec<A, I>
  ) => Effect.Effect<Option.Option<A>, MemoryError>
  readonly setState: <A, I>(
    sessionId: string,
    schema: Schema.Codec<A, I>,
    value: A
  ) => Effect.Effect<void, MemoryError>
  readonly clear: (sessionId: string) => Effect.Effect<void, MemoryError>
}

export class Memory extends Context.Service<Memory, MemoryService>()("weft/memory/Memory") {}

const checkSession = (sessionId: string): Effect.Effect<string, MemoryError> =>
  sessionId.trim().length === 0
    ? Effect.fail(new MemoryError({ reason: new InvalidSession({ sessionId }) }))
    : Effect.succeed(sessionId)

/** An in-process Memory. */
export const makeInMemory = (): MemoryService => {
  const turns = new Map<string, Array<Turn>>()
  const states = new Map<string, unknown>()
  const stateError = (sessionId: string, error: Schema.SchemaError) =>
    new MemoryError({
      reason: new InvalidState({ sessionId, issue: error.message.replace(/\s+/g, " ").trim() })
    })
  return {
    append: (sessionId, turn) =>
      Effect.map(checkSession(sessionId), (id) => {
        const list = turns.get(id)
        if (list === undefined) turns.set(id, [turn])
        else list.push(turn)
      }),
    history: (sessionId, options) => {
      const last = options?.last
      const invalid = last === undefined ? undefined : checkInteger("last", last, 0)
      if (invalid !== undefined) return Effect.fail(new MemoryError({ reason: invalid }))
      return Effect.map(checkSession(sessionId), (id) => {
        const list = turns.get(id) ?? []
        return last === undefined ? list.slice() : list.slice(list.length - Math.min(last, list.length))
      })
    },
    getState: (sessionId, schema) =>
      Effect.flatMap(checkSession(sessionId), (id) =>
        states.has(id)
          ? Schema.decodeUnknownEffect(schema)(states.get(id)).pipe(
              Effect.map(Option.some),
              Effect.mapError((error) => stateError(id, error))
            )
          : Effect.succeed(Option.none())
      ),
    setState: (sessionId, schema, value) =>
      Effect.flatMap(checkSession(sessionId), (id) =>
        Schema.encodeEffect(schema)(value).pipe(
          Effect.map((encoded) => {
            states.set(id, encoded)
          }),
          Effect.mapError((error) => stateError(id, error))
        )
      ),
    clear: (sessionId) =>
      Effect.map(checkSession(sessionId), (id) => {
        turns.delete(id)
        states.delete(id)
      })
  }
}

/** Everything in this process; lost when it exits. Each build starts empty. */
export const layerInMemory: Layer.Layer<Memory> = Layer.sync(Memory, () => makeInMemory())
