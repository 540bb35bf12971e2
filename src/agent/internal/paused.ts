/**
 * Where paused agent runs wait for their approval: the `Memory` in context
 * (`putPaused` / `takePaused`: stored Schema-encoded as JSON, taken once,
 * atomically), or, when the program provides none, one in-process Memory
 * shared by the process, with the same contract.
 */
import { Context, Effect } from "effect"
import type { Schema } from "effect"
import { makeInMemory, Memory, type MemoryError, type MemoryService } from "../../memory/Memory.ts"

/** Why a paused run could not be taken, or the store's own failure. */
export type TakeError = "unknown" | "used" | MemoryError

export interface Store {
  readonly put: <A, I>(
    id: string,
    schema: Schema.Codec<A, I>,
    value: A,
    sessionId: string | undefined
  ) => Effect.Effect<void, MemoryError>
  /** Reads the run, leaving it in place. */
  readonly peek: <A, I>(id: string, schema: Schema.Codec<A, I>) => Effect.Effect<A, TakeError>
  /** Takes the run: the first take gets it; later ones fail with `"used"`, ids never stored with `"unknown"`. */
  readonly take: <A, I>(id: string, schema: Schema.Codec<A, I>) => Effect.Effect<A, TakeError>
}

const missing = (error: MemoryError): TakeError => {
  const tag = error.reason._tag
  return tag === "PausedRunUsed" ? "used" : tag === "PausedRunNotFound" ? "unknown" : error
}

const fromMemory = (memory: MemoryService): Store => ({
  put: (id, schema, value, sessionId) => memory.putPaused(id, schema, value, { sessionId }),
  peek: (id, schema) => Effect.mapError(memory.peekPaused(id, schema), missing),
  take: (id, schema) => Effect.mapError(memory.takePaused(id, schema), missing)
})

let inProcess: Store | undefined

/** The store for runs started with `context`: its Memory's, else the process's own. */
export const storeOf = (context: Context.Context<never>): Store => {
  const memory = Context.getOrUndefined(context as Context.Context<Memory>, Memory)
  if (memory !== undefined) return fromMemory(memory)
  inProcess ??= fromMemory(makeInMemory())
  return inProcess
}

/** The Memory in context, if any (for a run's session history). */
export const memoryOf = (context: Context.Context<never>): MemoryService | undefined =>
  Context.getOrUndefined(context as Context.Context<Memory>, Memory)
