/**
 * Where paused agent runs wait for their approval: the `Memory` in context
 * (`putPaused` / `takePaused`, Schema-encoded, taken once), or, when the
 * program provides none, one in-process store shared by the process, with the
 * same contract: the run is stored encoded as JSON data, and taken once.
 */
import { Context, Effect, Option, Predicate, Result, Schema } from "effect"
import { Memory } from "../../memory/Memory.ts"

/** Why a paused run could not be taken. */
export type Missing = "unknown" | "used"

export interface Store {
  readonly put: <A, I>(id: string, schema: Schema.Codec<A, I>, value: A) => Effect.Effect<void, unknown>
  /** Takes the run: the first take gets it; later ones fail with `"used"`, ids never stored with `"unknown"`. */
  readonly take: <A, I>(id: string, schema: Schema.Codec<A, I>) => Effect.Effect<A, Missing | unknown>
}

interface PausedMemory {
  readonly putPaused: <A, I>(id: string, schema: Schema.Codec<A, I>, value: A) => Effect.Effect<void, unknown>
  readonly takePaused: <A, I>(id: string, schema: Schema.Codec<A, I>) => Effect.Effect<A, unknown>
}

const reasonTag = (error: unknown): string | undefined =>
  Predicate.hasProperty(error, "reason") && Predicate.hasProperty(error.reason, "_tag")
    ? String(error.reason._tag)
    : undefined

const fromMemory = (memory: PausedMemory): Store => ({
  put: (id, schema, value) => memory.putPaused(id, schema, value),
  take: (id, schema) =>
    Effect.mapError(memory.takePaused(id, schema), (error) => {
      const tag = reasonTag(error)
      return tag === "PausedRunUsed" ? "used" : tag === "PausedRunNotFound" ? "unknown" : error
    })
})

const makeInProcess = (): Store => {
  const runs = new Map<string, { readonly encoded: unknown } | "taken">()
  return {
    put: (id, schema, value) =>
      Effect.suspend(() => {
        if (runs.has(id)) return Effect.die(new Error(`paused run id ${id} used twice`))
        const encoded = Schema.encodeUnknownResult(schema)(value)
        if (Result.isFailure(encoded)) return Effect.die(encoded.failure)
        // Kept as JSON text, as a database would keep it: nothing of the live run survives but data.
        runs.set(id, { encoded: JSON.stringify(encoded.success) })
        return Effect.void
      }),
    take: <A, I>(id: string, schema: Schema.Codec<A, I>) =>
      Effect.suspend((): Effect.Effect<A, unknown> => {
        const found = runs.get(id)
        if (found === undefined) return Effect.fail("unknown" as const)
        if (found === "taken") return Effect.fail("used" as const)
        runs.set(id, "taken")
        const decoded = Schema.decodeUnknownResult(schema)(JSON.parse(found.encoded as string))
        return Result.isSuccess(decoded) ? Effect.succeed(decoded.success) : Effect.fail(decoded.failure)
      })
  }
}

let inProcess: Store | undefined

/** The store for runs started with `context`: its Memory's, else the process's own. */
export const storeOf = (context: Context.Context<never>): Store => {
  const memory = Context.getOption(context as Context.Context<Memory>, Memory)
  if (Option.isSome(memory) && Predicate.hasProperty(memory.value, "takePaused"))
    return fromMemory(memory.value as unknown as PausedMemory)
  inProcess ??= makeInProcess()
  return inProcess
}
