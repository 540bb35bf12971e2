/**
 * effect/ai `Chat` persistence over Memory: a Memory session loads as a
 * `Chat.Persisted` whose id is the session id, continues with
 * `chat.generateText` (or `streamText`, `generateObject`) and saves its new
 * messages back into the same session, where `Memory.history` reads them.
 *
 * effect/ai's own `Chat.makePersisted` keeps a chat as one value in a
 * `BackingPersistence` and overwrites it whole on every save. A Memory
 * session is a log that other writers append to (a RAG step, an agent, a
 * second chat) and that `condense` rewrites at its oldest end, so overwriting
 * it would drop their messages. This persistence therefore appends instead:
 * each `Chat.Persisted` remembers how many of its history's messages are
 * already in the session and a save appends only the ones after them, in one
 * `Memory.append`. Messages are stored exactly as the chat's history holds
 * them (the Prompt Schema's encoded form, which is also what `chat.export`
 * writes); each saved message is tagged as effect/ai tags it, with
 * `{ messageId }` under the `Chat.Persistence` key of its options.
 */
import { Duration, Effect, Layer, Option, Ref, Semaphore, Stream } from "effect"
import { Chat, IdGenerator, Prompt } from "effect/ai"
import { Persistence } from "effect/persistence"
import { Memory, type MemoryService } from "./Memory.ts"
import type { MemoryError } from "./MemoryError.ts"

type TimeToLive = { readonly timeToLive?: Duration.Input | undefined } | undefined

const persistenceError = (chatId: string, doing: string) => (error: MemoryError) =>
  new Persistence.PersistenceError({
    message: `Memory could not ${doing} chat ${JSON.stringify(chatId)}: ${error.message}`,
    cause: error
  })

// A Memory session is kept until it is cleared: a finite time to live cannot be honoured, so it is refused.
const checkTimeToLive = (
  chatId: string,
  options: TimeToLive
): Effect.Effect<void, Persistence.PersistenceError> => {
  const ttl = options?.timeToLive
  if (ttl === undefined) return Effect.void
  const duration = Duration.fromInput(ttl)
  if (Option.isSome(duration) && !Duration.isFinite(duration.value)) return Effect.void
  return Effect.fail(
    new Persistence.PersistenceError({
      message: `Chat ${JSON.stringify(chatId)}: Memory sessions do not expire, so timeToLive is not supported (got ${String(ttl)}); clear the session with Memory.clear instead`
    })
  )
}

/** The id effect/ai gives a save's messages: the last saved assistant message's, else a new one. */
const messageIdFor = (previous: Prompt.Message | undefined): Effect.Effect<string> =>
  Effect.gen(function* () {
    if (previous?.role === "assistant") {
      const own = previous.options[Chat.Persistence.key] as { readonly messageId?: unknown } | undefined
      if (typeof own?.messageId === "string") return own.messageId
    }
    const generator = yield* Effect.serviceOption(IdGenerator.IdGenerator).pipe(
      Effect.map(Option.getOrElse(() => IdGenerator.defaultIdGenerator))
    )
    return yield* generator.generateId()
  })

const withMessageId = (message: Prompt.Message, messageId: string): Prompt.Message =>
  ({ ...message, options: { ...message.options, [Chat.Persistence.key]: { messageId } } }) as Prompt.Message

/**
 * A `Chat.Persisted` over the session `chatId`, whose history's first `stored`
 * messages are already in it.
 */
const persisted = (
  memory: MemoryService,
  chatId: string,
  chat: Chat.Chat,
  stored: number
): Chat.Persisted => {
  let saved = stored
  // One save at a time, so two saves racing (a stream ending as a call returns) never append a message twice.
  const lock = Semaphore.makeUnsafe(1)
  const save: Effect.Effect<void, Persistence.PersistenceError> = lock.withPermits(1)(
    Effect.gen(function* () {
      const history = (yield* Ref.get(chat.history)).content
      if (history.length < saved) {
        return yield* new Persistence.PersistenceError({
          message: `Chat ${JSON.stringify(chatId)}: its history was shortened to ${history.length} messages, but ${saved} are saved; Memory keeps a chat's history append-only (rewrite a session with Memory.replaceOldest or Memory.condense)`
        })
      }
      if (history.length === saved) return
      const messageId = yield* messageIdFor(history[saved - 1])
      const fresh = history.slice(saved).map((message) => withMessageId(message, messageId))
      yield* memory.append(chatId, fresh).pipe(Effect.mapError(persistenceError(chatId, "save")))
      const from = saved
      saved = history.length
      // Tag the chat's own copies too, leaving any message added since untouched.
      yield* Ref.update(chat.history, (current) =>
        Prompt.fromMessages(
          current.content.map((message, i) =>
            i >= from && i < from + fresh.length ? fresh[i - from]! : message
          )
        )
      )
    })
  )
  const saveAfter = Effect.ensuring(Effect.orDie(save))
  return {
    ...chat,
    id: chatId,
    save,
    generateText: ((options: any) => saveAfter(chat.generateText(options))) as Chat.Chat["generateText"],
    generateObject: ((options: any) =>
      saveAfter(chat.generateObject(options))) as Chat.Chat["generateObject"],
    streamText: ((options: any) =>
      chat.streamText(options).pipe(Stream.ensuring(Effect.orDie(save)))) as Chat.Chat["streamText"]
  }
}

/**
 * `Chat.Persistence` over a Memory: `get(sessionId)` loads the session's
 * history into a chat (`ChatNotFoundError` when it has no messages),
 * `getOrCreate` starts an empty one instead (nothing is stored until its
 * first save). A generation call saves its new messages when it ends, as
 * effect/ai's persisted chats do (a save that fails then is a defect); `save`
 * saves them as an Effect. A finite `timeToLive` fails with
 * `PersistenceError`: Memory sessions do not expire.
 */
export const make = (memory: MemoryService): Chat.Persistence.Service => {
  const load = (chatId: string, options: TimeToLive) =>
    Effect.gen(function* () {
      yield* checkTimeToLive(chatId, options)
      const history = yield* memory.history(chatId).pipe(Effect.mapError(persistenceError(chatId, "load")))
      if (history.length === 0) return yield* new Chat.ChatNotFoundError({ chatId })
      const chat = yield* Chat.fromPrompt(Prompt.fromMessages(history))
      return persisted(memory, chatId, chat, history.length)
    })
  return Chat.Persistence.of({
    get: (chatId, options) => load(chatId, options).pipe(Effect.withSpan("MemoryChat.get")),
    getOrCreate: (chatId, options) =>
      load(chatId, options).pipe(
        Effect.catchTag("ChatNotFoundError", () =>
          Effect.map(Chat.empty, (chat) => persisted(memory, chatId, chat, 0))
        ),
        Effect.withSpan("MemoryChat.getOrCreate")
      )
  })
}

/** `Chat.Persistence` over the `Memory` in context (what `Memory.layerChatPersistence` provides). */
export const layer: Layer.Layer<Chat.Persistence, never, Memory> = Layer.effect(
  Chat.Persistence,
  Memory.useSync(make)
)
