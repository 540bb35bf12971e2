/**
 * Memory: a session's conversation turns and its typed working state.
 *
 * Keyed by session id. State is stored encoded and decoded with the caller's
 * Schema on the way out, so a store that holds JSON (SQL, later) keeps the
 * same contract, and a state written under one shape and read under another
 * fails with a typed error instead of handing back the wrong type.
 * `layerInMemory` keeps everything in the process.
 */
import { Context, Effect, Layer, Option, Schema } from "effect"

export interface Turn {
  readonly role: "user" | "assistant"
  readonly text: string
  /** Sources the turn cited, for assistant turns. */
  readonly citations?: ReadonlyArray<string> | undefined
}

export class MemoryError extends Schema.TaggedError<MemoryError>()("MemoryError", {
  reason: Schema.Literals(["InvalidSession", "InvalidState"]),
  sessionId: Schema.String,
  message: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
}

export interface MemoryService {
  readonly append: (sessionId: string, turn: Turn) => Effect.Effect<void, MemoryError>
  /** The session's turns, oldest first; `last` keeps only the newest n. */
  readonly history: (
    sessionId: string,
    options?: { readonly last?: number }
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

export class Memory extends Context.Service<Memory, MemoryService>()("weft/memory/Memory") {
  /** Everything in this process; lost when it exits. */
  static readonly layerInMemory: Layer.Layer<Memory> = Layer.sync(Memory, () => makeInMemory())
}

const checkSession = (sessionId: string): Effect.Effect<string, MemoryError> =>
  sessionId.trim().length === 0
    ? Effect.fail(
        new MemoryError({ reason: "InvalidSession", sessionId, message: "Session id must not be empty" })
      )
    : Effect.succeed(sessionId)

/** An in-process Memory. */
export const makeInMemory = (): MemoryService => {
  const turns = new Map<string, Array<Turn>>()
  const states = new Map<string, unknown>()
  const stateError = (sessionId: string, error: Schema.SchemaError) =>
    new MemoryError({
      reason: "InvalidState",
      sessionId,
      message: `State of session "${sessionId}" does not match the schema: ${error.message.replace(/\s+/g, " ")}`
    })
  return {
    append: (sessionId, turn) =>
      Effect.map(checkSession(sessionId), (id) => {
        const list = turns.get(id)
        if (list === undefined) turns.set(id, [turn])
        else list.push(turn)
      }),
    history: (sessionId, options) =>
      Effect.map(checkSession(sessionId), (id) => {
        const list = turns.get(id) ?? []
        return options?.last === undefined
          ? list.slice()
          : list.slice(Math.max(0, list.length - options.last))
      }),
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
