/**
 * The storage contract under `Memory`: what a backend keeps, as JSON.
 *
 * `Memory` does the typed work — Schema encoding and decoding, trimming a
 * history to a token budget, checking ids — and hands a `Store` only JSON
 * values, so a backend is a thin table layer: this module's in-process store
 * today, a SQL store later, the same contract for both. A backend must keep
 * four promises: a batch of messages is appended whole or not at all; the
 * oldest messages are replaced (a condensed history) in one step; a
 * paused run's id is never reused (a used id keeps a marker, so a second take
 * says "used", not "not found"); and `takePaused` is atomic, so of two takes
 * of the same id racing from two requests exactly one gets the run.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { InvalidOption } from "../core/InvalidOption.ts"
import { MemoryError, PausedRunExists, PausedRunNotFound, PausedRunUsed } from "./MemoryError.ts"

/** What `listPaused` tells about a paused run, without its value. */
export const PausedRunInfo = Schema.Struct({
  id: Schema.String,
  /** The session the run belongs to, when it was stored with one. */
  sessionId: Schema.optional(Schema.String),
  /** When it was stored, in epoch milliseconds. */
  pausedAt: Schema.Number
})
export type PausedRunInfo = typeof PausedRunInfo.Type

/** A paused run as a store keeps it: its value already encoded to JSON. */
export interface StoredPausedRun extends PausedRunInfo {
  readonly value: Schema.Json
}

export interface Store {
  /** Appends encoded messages to the session, after its others, all or none. */
  readonly appendMessages: (
    sessionId: string,
    messages: ReadonlyArray<Schema.Json>
  ) => Effect.Effect<void, MemoryError>
  /** The session's encoded messages, oldest first; only the newest `last` when given. */
  readonly readMessages: (
    sessionId: string,
    last: number | undefined
  ) => Effect.Effect<ReadonlyArray<Schema.Json>, MemoryError>
  /**
   * Replaces the session's oldest `count` messages with `messages`, in one
   * atomic step (messages appended meanwhile stay after them). Fails with
   * `InvalidOption` when the session has fewer than `count` messages.
   */
  readonly replaceOldest: (
    sessionId: string,
    count: number,
    messages: ReadonlyArray<Schema.Json>
  ) => Effect.Effect<void, MemoryError>
  /** The session's encoded state, `undefined` when it has none. */
  readonly readState: (sessionId: string) => Effect.Effect<Schema.Json | undefined, MemoryError>
  readonly writeState: (sessionId: string, state: Schema.Json) => Effect.Effect<void, MemoryError>
  /** Deletes the session's messages, its state and its paused runs (live and used). */
  readonly clear: (sessionId: string) => Effect.Effect<void, MemoryError>
  /** Stores a paused run; `PausedRunExists` when its id was ever stored (live or used). */
  readonly putPaused: (run: StoredPausedRun) => Effect.Effect<void, MemoryError>
  /** The live paused run; `PausedRunNotFound` or `PausedRunUsed` otherwise. Changes nothing. */
  readonly peekPaused: (id: string) => Effect.Effect<StoredPausedRun, MemoryError>
  /**
   * Marks the paused run used at `usedAt` and returns it, in one atomic step;
   * `PausedRunNotFound` or `PausedRunUsed` otherwise.
   */
  readonly takePaused: (id: string, usedAt: number) => Effect.Effect<StoredPausedRun, MemoryError>
  /** The live paused runs, oldest first; only the session's when one is given. */
  readonly listPaused: (
    sessionId: string | undefined
  ) => Effect.Effect<ReadonlyArray<PausedRunInfo>, MemoryError>
}

/** The backend `Memory.layer` is built on. */
export class MemoryStore extends Context.Service<MemoryStore, Store>()("weft/memory/MemoryStore") {}

type Paused =
  | { readonly live: true; readonly info: PausedRunInfo; readonly json: string }
  | { readonly live: false; readonly sessionId: string | undefined; readonly usedAt: number }

/**
 * A store in this process. Values are kept as JSON text, as a database
 * would keep them: what is read back is a fresh copy, never an object a
 * caller still holds. Used paused-run ids are remembered until their session
 * is cleared (or for the life of the store, for runs without a session).
 */
export const makeInMemory = (): Store => {
  const messages = new Map<string, Array<string>>()
  const states = new Map<string, string>()
  const paused = new Map<string, Paused>()
  const gone = (id: string, entry: Paused | undefined): MemoryError =>
    new MemoryError({
      reason:
        entry === undefined || entry.live
          ? new PausedRunNotFound({ id })
          : new PausedRunUsed({ id, usedAt: entry.usedAt })
    })
  const stored = (entry: Extract<Paused, { live: true }>): StoredPausedRun => ({
    ...entry.info,
    value: JSON.parse(entry.json) as Schema.Json
  })
  return {
    appendMessages: (sessionId, batch) =>
      Effect.sync(() => {
        const texts = batch.map((message) => JSON.stringify(message))
        const list = messages.get(sessionId)
        if (list === undefined) messages.set(sessionId, texts)
        else for (const text of texts) list.push(text)
      }),
    readMessages: (sessionId, last) =>
      Effect.sync(() => {
        const list = messages.get(sessionId) ?? []
        const from = last === undefined ? 0 : Math.max(0, list.length - last)
        const out: Array<Schema.Json> = []
        for (let i = from; i < list.length; i++) out.push(JSON.parse(list[i]!) as Schema.Json)
        return out
      }),
    replaceOldest: (sessionId, count, batch) =>
      Effect.suspend(() => {
        const list = messages.get(sessionId) ?? []
        if (count > list.length) {
          return Effect.fail(
            new MemoryError({
              reason: new InvalidOption({
                option: "count",
                value: String(count),
                expected: `at most the session's ${list.length} messages`
              })
            })
          )
        }
        const texts = batch.map((message) => JSON.stringify(message))
        messages.set(sessionId, [...texts, ...list.slice(count)])
        return Effect.void
      }),
    readState: (sessionId) =>
      Effect.sync(() => {
        const text = states.get(sessionId)
        return text === undefined ? undefined : (JSON.parse(text) as Schema.Json)
      }),
    writeState: (sessionId, state) =>
      Effect.sync(() => {
        states.set(sessionId, JSON.stringify(state))
      }),
    clear: (sessionId) =>
      Effect.sync(() => {
        messages.delete(sessionId)
        states.delete(sessionId)
        for (const [id, entry] of paused) {
          if ((entry.live ? entry.info.sessionId : entry.sessionId) === sessionId) paused.delete(id)
        }
      }),
    putPaused: (run) =>
      Effect.suspend(() => {
        if (paused.has(run.id))
          return Effect.fail(new MemoryError({ reason: new PausedRunExists({ id: run.id }) }))
        const { value, ...info } = run
        paused.set(run.id, { live: true, info, json: JSON.stringify(value) })
        return Effect.void
      }),
    peekPaused: (id) =>
      Effect.suspend(() => {
        const entry = paused.get(id)
        return entry?.live === true ? Effect.succeed(stored(entry)) : Effect.fail(gone(id, entry))
      }),
    // Read and mark in one synchronous step: no other fiber runs in between.
    takePaused: (id, usedAt) =>
      Effect.suspend(() => {
        const entry = paused.get(id)
        if (entry?.live !== true) return Effect.fail(gone(id, entry))
        paused.set(id, { live: false, sessionId: entry.info.sessionId, usedAt })
        return Effect.succeed(stored(entry))
      }),
    listPaused: (sessionId) =>
      Effect.sync(() => {
        const out: Array<PausedRunInfo> = []
        for (const entry of paused.values()) {
          if (entry.live && (sessionId === undefined || entry.info.sessionId === sessionId))
            out.push(entry.info)
        }
        return out
      })
  }
}

/** A store in this process; lost when it exits. Each build starts empty. */
export const layerInMemory: Layer.Layer<MemoryStore> = Layer.sync(MemoryStore, () => makeInMemory())
