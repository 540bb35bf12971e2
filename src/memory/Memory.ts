/**
 * Memory: a session's conversation history, its typed working state, and the
 * agent runs paused waiting for an approval.
 *
 * History is effect/ai `Prompt` messages — user, assistant (text, reasoning,
 * tool calls), tool results, system — not a type of Weft's own, so an agent's
 * history can be stored, read back into a prompt as it was, resumed in
 * another request and handed to another agent. Everything is stored
 * Schema-encoded as JSON through a `Store` (`Store.ts`): messages with
 * `Prompt.Message`, state and paused runs with the caller's Schema, decoded on
 * the way out. So a store that keeps JSON on disk or in SQL keeps the same
 * contract, and a value written under one shape and read under another fails
 * with a typed error instead of handing back the wrong type.
 *
 * A paused run is taken once: `takePaused` removes it atomically, so a second
 * resume of the same id — even one racing the first from another request —
 * fails with `PausedRunUsed`, and an id never stored with
 * `PausedRunNotFound`. `layerInMemory` keeps everything in the process.
 *
 * `condense` keeps a history under a token budget by having the model
 * summarise its older turns (`Condense.ts`), and `layerChatPersistence` lets
 * effect/ai's `Chat` load, continue and save a session (`ChatPersistence.ts`).
 *
 * Every failure is a `MemoryError` whose `reason` says what went wrong, so a
 * caller can write `Effect.catchReason("MemoryError", "PausedRunUsed", …)`.
 */
import { Clock, Context, Effect, Layer, Option, Schema } from "effect"
import { type AiError, type Chat, type LanguageModel, Prompt } from "effect/ai"
import { checkInteger, InvalidOption, show } from "../core/InvalidOption.ts"
import { countMessage } from "../text/Tokens.ts"
import {
  InvalidMessage,
  InvalidPausedRun,
  InvalidSession,
  InvalidState,
  MemoryError,
  PausedRunNotFound
} from "./MemoryError.ts"
import * as Condense from "./Condense.ts"
import * as Codec from "./internal/codec.ts"
import * as Store from "./Store.ts"

export {
  InvalidMessage,
  InvalidPausedRun,
  InvalidSession,
  InvalidState,
  MemoryError,
  MemoryErrorReason,
  PausedRunExists,
  PausedRunNotFound,
  PausedRunUsed
} from "./MemoryError.ts"
export { PausedRunInfo } from "./Store.ts"
export {
  type CondenseOptions,
  CondenseReport,
  DEFAULT_KEEP_LAST_TURNS,
  isSummary,
  type Summarize,
  type SummaryRequest,
  summarizeWithModel
} from "./Condense.ts"
/** The storage contract a backend implements, and the in-process backend. */
export * as Store from "./Store.ts"

/**
 * The key under a message's `options` where Weft keeps its own data about
 * the message (the RAG workflow's citations, say). Providers read only their
 * own key (`openai`, `anthropic`), so this data rides along unsent.
 */
export const OPTIONS_KEY = "weft"

export interface HistoryOptions {
  /** Keep only the newest n messages: an integer ≥ 0. */
  readonly last?: number | undefined
  /**
   * Keep only the newest messages whose tokens add up to at most this: an
   * integer ≥ 0. A message counts its text, reasoning, tool parameters and
   * results plus the per-message overhead (`Tokens.MESSAGE_OVERHEAD_TOKENS`);
   * a message is kept whole or not at all.
   */
  readonly maxTokens?: number | undefined
}

export interface PauseOptions {
  /** The session the run belongs to: `clear(sessionId)` drops it, `listPaused({ sessionId })` finds it. */
  readonly sessionId?: string | undefined
}

export interface MemoryService {
  /** Appends messages to the session's history, after its others, all or none. */
  readonly append: (
    sessionId: string,
    messages: Prompt.Prompt | ReadonlyArray<Prompt.Message>
  ) => Effect.Effect<void, MemoryError>
  /**
   * The session's messages, oldest first. With `last` or `maxTokens`, only
   * the newest that fit; a trimmed history never starts with a tool message
   * (a tool result whose call was cut off), so it can go into a prompt as is.
   */
  readonly history: (
    sessionId: string,
    options?: HistoryOptions
  ) => Effect.Effect<ReadonlyArray<Prompt.Message>, MemoryError>
  /**
   * Replaces the session's oldest `count` messages with `messages` — a
   * summary of them, say — in one step; messages appended meanwhile stay
   * after them. `count` is an integer from 0 to the session's length, else
   * `InvalidOption`.
   */
  readonly replaceOldest: (
    sessionId: string,
    count: number,
    messages: Prompt.Prompt | ReadonlyArray<Prompt.Message>
  ) => Effect.Effect<void, MemoryError>
  /** The session's state decoded with `schema`; `Option.none()` when it has none. */
  readonly getState: <A, I>(
    sessionId: string,
    schema: Schema.Codec<A, I>
  ) => Effect.Effect<Option.Option<A>, MemoryError>
  /** Replaces the session's state with `value`, encoded with `schema`. */
  readonly setState: <A, I>(
    sessionId: string,
    schema: Schema.Codec<A, I>,
    value: A
  ) => Effect.Effect<void, MemoryError>
  /** Deletes the session's history, its state and its paused runs. */
  readonly clear: (sessionId: string) => Effect.Effect<void, MemoryError>
  /**
   * Stores a paused run under `id`, `value` encoded with `schema`. Fails with
   * `PausedRunExists` when the id was ever used: make ids unguessable
   * (`crypto.randomUUID()`), since whoever holds one can resume the run.
   */
  readonly putPaused: <A, I>(
    id: string,
    schema: Schema.Codec<A, I>,
    value: A,
    options?: PauseOptions
  ) => Effect.Effect<void, MemoryError>
  /** The paused run decoded with `schema`, left in place (to show what waits for approval). */
  readonly peekPaused: <A, I>(id: string, schema: Schema.Codec<A, I>) => Effect.Effect<A, MemoryError>
  /**
   * Takes the paused run, decoded with `schema`: the first take gets it, every
   * later or concurrent one fails with `PausedRunUsed`. A value that does not
   * decode fails with `InvalidPausedRun` and is left in place.
   */
  readonly takePaused: <A, I>(id: string, schema: Schema.Codec<A, I>) => Effect.Effect<A, MemoryError>
  /** The paused runs not yet taken, oldest first; only the session's with `sessionId`. */
  readonly listPaused: (options?: {
    readonly sessionId?: string | undefined
  }) => Effect.Effect<ReadonlyArray<Store.PausedRunInfo>, MemoryError>
}

export class Memory extends Context.Service<Memory, MemoryService>()("weft/memory/Memory") {}

const Messages = Schema.Array(Prompt.Message)
const encodeWithSchema = Schema.encodeEffect(Messages)
const decodeWithSchema = Schema.decodeUnknownEffect(Messages)

// The codec's fast path when it handles every message, else the Schema (which also words the errors).
const encodeMessages = (
  messages: ReadonlyArray<Prompt.Message>
): Effect.Effect<unknown, Schema.SchemaError> => {
  const out: Array<unknown> = []
  for (const message of messages) {
    const encoded = Codec.encodeMessage(message)
    if (encoded === undefined) return encodeWithSchema(messages)
    out.push(encoded)
  }
  return Effect.succeed(out)
}

const decodeMessages = (
  stored: ReadonlyArray<unknown>
): Effect.Effect<ReadonlyArray<Prompt.Message>, Schema.SchemaError> => {
  const out: Array<Prompt.Message> = []
  for (const item of stored) {
    const decoded = Codec.decodeMessage(item)
    if (decoded === undefined) return decodeWithSchema(stored)
    out.push(decoded)
  }
  return Effect.succeed(out)
}

const oneLine = (error: Schema.SchemaError | string): string =>
  (typeof error === "string" ? error : error.message).replace(/\s+/g, " ").trim()

const checkSession = (sessionId: string): Effect.Effect<string, MemoryError> =>
  sessionId.trim().length === 0
    ? Effect.fail(new MemoryError({ reason: new InvalidSession({ sessionId }) }))
    : Effect.succeed(sessionId)

/**
 * What in `value` is not JSON (as a database would keep it), `undefined` when
 * it all is; `at` gets the path to it, innermost key first. An object property
 * holding `undefined` counts as absent, as in `JSON.stringify`; anything else
 * `JSON.stringify` would change or drop is not JSON.
 */
const notJson = (value: unknown, parents: Array<object>, at: Array<string | number>): string | undefined => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      return Number.isFinite(value) ? undefined : `is ${value}, which JSON cannot hold`
    case "object": {
      if (value === null) return undefined
      if (parents.includes(value)) return "refers back to itself"
      const isArray = Array.isArray(value)
      if (!isArray) {
        const proto = Object.getPrototypeOf(value)
        if (proto !== Object.prototype && proto !== null) {
          return `is a ${value.constructor?.name ?? "non-plain object"}, not plain JSON data`
        }
      }
      parents.push(value)
      let found: string | undefined
      if (isArray) {
        for (let i = 0; i < value.length && found === undefined; i++) {
          found = notJson(value[i], parents, at)
          if (found !== undefined) at.push(i)
        }
      } else {
        const record = value as Record<string, unknown>
        for (const key in record) {
          const item = record[key]
          if (item === undefined) continue
          found = notJson(item, parents, at)
          if (found !== undefined) {
            at.push(key)
            break
          }
        }
      }
      parents.pop()
      return found
    }
    default:
      return `is a ${typeof value}, which JSON cannot hold`
  }
}

const toJson = <E>(
  value: unknown,
  path: string,
  error: (issue: string) => E
): Effect.Effect<Schema.Json, E> => {
  const at: Array<string | number> = []
  const found = notJson(value, [], at)
  if (found === undefined) return Effect.succeed(value as Schema.Json)
  let where = path
  for (let i = at.length - 1; i >= 0; i--) where += typeof at[i] === "number" ? `[${at[i]}]` : `.${at[i]}`
  return Effect.fail(error(`${where} ${found}`))
}

/**
 * A tool call's `params` and a tool result's `result` are required keys that
 * take any value. JSON has no `undefined` there (a tool that returns nothing):
 * it is stored as `null`, as JSON stores `undefined` in an array, so the
 * message still reads back. `encoded` is the encoder's own fresh copy.
 */
const nullForUndefined = (encoded: ReadonlyArray<unknown>): void => {
  for (const message of encoded) {
    const content = (message as { readonly content?: unknown }).content
    if (!Array.isArray(content)) continue
    for (const part of content as Array<{ type?: unknown; params?: unknown; result?: unknown }>) {
      if (part.type === "tool-call" && part.params === undefined) part.params = null
      else if (part.type === "tool-result" && part.result === undefined) part.result = null
    }
  }
}

/** The newest messages within the options, never opening on a tool message. */
const trim = (
  messages: ReadonlyArray<Prompt.Message>,
  maxTokens: number | undefined
): ReadonlyArray<Prompt.Message> => {
  let from = 0
  if (maxTokens !== undefined) {
    from = messages.length
    let total = 0
    while (from > 0) {
      total += countMessage(messages[from - 1]!)
      if (total > maxTokens) break
      from--
    }
  }
  while (from < messages.length && messages[from]!.role === "tool") from++
  return from === 0 ? messages : messages.slice(from)
}

/** The Memory service over a `Store`: typed, checked and encoded here; kept as JSON there. */
export const make = (store: Store.Store): MemoryService => {
  const messageError = (sessionId: string) => (issue: string) =>
    new MemoryError({ reason: new InvalidMessage({ sessionId, issue: oneLine(issue) }) })
  const stateError = (sessionId: string) => (issue: string | Schema.SchemaError) =>
    new MemoryError({ reason: new InvalidState({ sessionId, issue: oneLine(issue) }) })
  const pausedError = (id: string) => (issue: string | Schema.SchemaError) =>
    new MemoryError({ reason: new InvalidPausedRun({ id, issue: oneLine(issue) }) })
  const notFound = (id: string) => Effect.fail(new MemoryError({ reason: new PausedRunNotFound({ id }) }))
  const decodePaused = <A, I>(run: Store.StoredPausedRun, schema: Schema.Codec<A, I>) =>
    Schema.decodeUnknownEffect(schema)(run.value).pipe(Effect.mapError(pausedError(run.id)))

  const encodeAll = (id: string, messages: Prompt.Prompt | ReadonlyArray<Prompt.Message>) =>
    Effect.flatMap(
      encodeMessages(Prompt.isPrompt(messages) ? messages.content : messages).pipe(
        Effect.mapError((e) => messageError(id)(e.message))
      ),
      (encoded) => {
        nullForUndefined(encoded as ReadonlyArray<unknown>)
        return toJson(encoded, "messages", messageError(id)) as Effect.Effect<
          ReadonlyArray<Schema.Json>,
          MemoryError
        >
      }
    )

  return {
    append: (sessionId, messages) =>
      Effect.gen(function* () {
        const id = yield* checkSession(sessionId)
        if ((Prompt.isPrompt(messages) ? messages.content : messages).length === 0) return
        yield* store.appendMessages(id, yield* encodeAll(id, messages))
      }),

    replaceOldest: (sessionId, count, messages) =>
      Effect.gen(function* () {
        const invalid = checkInteger("count", count, 0)
        if (invalid !== undefined) return yield* new MemoryError({ reason: invalid })
        const id = yield* checkSession(sessionId)
        yield* store.replaceOldest(id, count, yield* encodeAll(id, messages))
      }),

    history: (sessionId, options) =>
      Effect.gen(function* () {
        const last = options?.last
        const maxTokens = options?.maxTokens
        const invalid =
          (last === undefined ? undefined : checkInteger("last", last, 0)) ??
          (maxTokens === undefined ? undefined : checkInteger("maxTokens", maxTokens, 0))
        if (invalid !== undefined) return yield* new MemoryError({ reason: invalid })
        const id = yield* checkSession(sessionId)
        const stored = last === 0 ? [] : yield* store.readMessages(id, last)
        const messages = yield* decodeMessages(stored).pipe(
          Effect.mapError((e) => messageError(id)(e.message))
        )
        return last === undefined && maxTokens === undefined ? messages : trim(messages, maxTokens)
      }),

    getState: (sessionId, schema) =>
      Effect.gen(function* () {
        const id = yield* checkSession(sessionId)
        const stored = yield* store.readState(id)
        if (stored === undefined) return Option.none()
        return Option.some(
          yield* Schema.decodeUnknownEffect(schema)(stored).pipe(Effect.mapError(stateError(id)))
        )
      }),

    setState: (sessionId, schema, value) =>
      Effect.gen(function* () {
        const id = yield* checkSession(sessionId)
        const encoded = yield* Schema.encodeEffect(schema)(value).pipe(Effect.mapError(stateError(id)))
        yield* store.writeState(id, yield* toJson(encoded, "state", stateError(id)))
      }),

    clear: (sessionId) => Effect.flatMap(checkSession(sessionId), store.clear),

    putPaused: (id, schema, value, options) =>
      Effect.gen(function* () {
        if (id.trim().length === 0) {
          return yield* new MemoryError({
            reason: new InvalidOption({
              option: "id",
              value: show(id),
              expected: "a non-blank string"
            })
          })
        }
        const sessionId =
          options?.sessionId === undefined ? undefined : yield* checkSession(options.sessionId)
        const encoded = yield* Schema.encodeEffect(schema)(value).pipe(Effect.mapError(pausedError(id)))
        const json = yield* toJson(encoded, "value", pausedError(id))
        const pausedAt = yield* Clock.currentTimeMillis
        yield* store.putPaused({
          id,
          ...(sessionId === undefined ? {} : { sessionId }),
          pausedAt,
          value: json
        })
      }),

    peekPaused: (id, schema) =>
      id.trim().length === 0
        ? notFound(id)
        : Effect.flatMap(store.peekPaused(id), (run) => decodePaused(run, schema)),

    takePaused: (id, schema) =>
      id.trim().length === 0
        ? notFound(id)
        : Effect.gen(function* () {
            // Decode before taking, so a wrong Schema leaves the run for a caller with the right one.
            yield* decodePaused(yield* store.peekPaused(id), schema)
            const run = yield* store.takePaused(id, yield* Clock.currentTimeMillis)
            return yield* decodePaused(run, schema)
          }),

    listPaused: (options) =>
      options?.sessionId === undefined
        ? store.listPaused(undefined)
        : Effect.flatMap(checkSession(options.sessionId), store.listPaused)
  }
}

/** Memory over the `MemoryStore` in context (the in-memory one, or a SQL one). */
export const layer: Layer.Layer<Memory, never, Store.MemoryStore> = Layer.effect(
  Memory,
  Effect.gen(function* () {
    return make(yield* Store.MemoryStore)
  })
)

/** An in-process Memory, as a plain value. */
export const makeInMemory = (): MemoryService => make(Store.makeInMemory())

/** Everything in this process; lost when it exits. Each build starts empty. */
export const layerInMemory: Layer.Layer<Memory> = Layer.sync(Memory, makeInMemory)

/** The text of a message's text parts, joined by blank lines (a system message's content as is). */
export const textOf = (message: Prompt.Message): string => {
  if (message.role === "system") return message.content
  let text = ""
  for (const part of message.content) {
    if (part.type === "text") text = text.length === 0 ? part.text : `${text}\n\n${part.text}`
  }
  return text
}

/**
 * Condenses the session's history to `maxTokens`: when it is over, the
 * messages before its last `keepLastTurns` turns (default 2) are summarised by
 * the model (`summarize`, default `summarizeWithModel`: the `LanguageModel` in
 * context, metered) and replaced by one summary message, atomically; messages
 * appended meanwhile stay after it. Under budget it does nothing. Reports what
 * it did. A bad option, or a budget the kept turns leave no room in, fails
 * with `MemoryError` reason `InvalidOption` naming the option; a failing model
 * with its `AiError`, leaving the history unchanged.
 *
 * ```ts
 * yield* memory.append(sessionId, [question, answer])
 * const report = yield* Memory.condense(sessionId, { maxTokens: 2_000, keepLastTurns: 2 })
 * // report.condensed: messages replaced; report.tokensAfter ≤ 2_000
 * ```
 */
export const condense = <R = LanguageModel.LanguageModel>(
  sessionId: string,
  options: Condense.CondenseOptions<R>
): Effect.Effect<Condense.CondenseReport, MemoryError | AiError.AiError, Memory | R> =>
  Memory.use((memory) => Condense.condense(memory, sessionId, options))

/**
 * effect/ai `Chat.Persistence` over the `Memory` in context: a chat's id is a
 * session id, `get`/`getOrCreate` load the session's history into a chat, and
 * each generation call appends its new messages to the session (see
 * `ChatPersistence.ts`).
 */
export const layerChatPersistence: Layer.Layer<Chat.Persistence, never, Memory> = Layer.unwrap(
  // Loaded on demand (and no import cycle): a program that imports Memory but not Chat
  // (npm start's bundle) never loads effect/ai's Chat and persistence modules.
  Effect.promise(() => import("./ChatPersistence.ts")).pipe(Effect.map((module) => module.layer))
)
