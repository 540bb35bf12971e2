/**
 * Memory.layerChatPersistence: a Memory session loads as an effect/ai
 * `Chat.Persisted`, continues with the model, and its new turns land in the
 * same session; a chat started through `Chat.Persistence` reads back through
 * `Memory.history`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Ref, Stream } from "effect"
import { Chat, IdGenerator, Prompt } from "effect/ai"
import { Memory } from "../../src/memory/index.ts"
import { Scripted } from "../../src/model/index.ts"

const user = (text: string) => Prompt.userMessage({ content: [Prompt.textPart({ text })] })
const assistant = (text: string) => Prompt.assistantMessage({ content: [Prompt.textPart({ text })] })

const SESSION = "chat-1"
const memoryLayers = Layer.provideMerge(Memory.layerChatPersistence, Memory.layerInMemory)
const history = (sessionId = SESSION) => Memory.Memory.use((memory) => memory.history(sessionId))
const texts = (messages: ReadonlyArray<Prompt.Message>) => messages.map(Memory.textOf)
const lastUserText = (prompt: Prompt.Prompt) =>
  Memory.textOf(prompt.content.filter((message) => message.role === "user").at(-1)!)
const messageIdOf = (message: Prompt.Message) =>
  (message.options[Chat.Persistence.key] as { readonly messageId?: string } | undefined)?.messageId

describe("Memory.layerChatPersistence", () => {
  it.effect(
    "a session written through Memory loads as a Chat, continues, and its new turn is in Memory",
    () =>
      Effect.gen(function* () {
        const scripted = yield* Scripted.make(["12 km is about 7.46 miles."])
        const memory = yield* Memory.Memory
        yield* memory.append(SESSION, [user("How far is 3 km in miles?"), assistant("About 1.86 miles.")])

        const persistence = yield* Chat.Persistence
        const chat = yield* persistence.get(SESSION)
        assert.strictEqual(chat.id, SESSION)
        assert.deepStrictEqual(texts((yield* Ref.get(chat.history)).content), [
          "How far is 3 km in miles?",
          "About 1.86 miles."
        ])

        const response = yield* chat
          .generateText({ prompt: "And 12 km?" })
          .pipe(Effect.provide(scripted.layer))
        assert.strictEqual(response.text, "12 km is about 7.46 miles.")
        // The model saw the stored turn before the new question.
        const [prompt] = yield* scripted.prompts
        assert.deepStrictEqual(texts(prompt!.content), [
          "How far is 3 km in miles?",
          "About 1.86 miles.",
          "And 12 km?"
        ])
        const after = yield* history()
        assert.deepStrictEqual(
          after.map((message) => message.role),
          ["user", "assistant", "user", "assistant"]
        )
        assert.deepStrictEqual(texts(after).slice(2), ["And 12 km?", "12 km is about 7.46 miles."])
        // The stored turn is untouched; the saved one carries effect/ai's message id, as the chat's copy does.
        assert.isUndefined(messageIdOf(after[0]!))
        const id = messageIdOf(after[2]!)
        assert.isString(id)
        assert.strictEqual(messageIdOf(after[3]!), id)
        assert.strictEqual(messageIdOf((yield* Ref.get(chat.history)).content[3]!), id)
      }).pipe(Effect.provide(memoryLayers))
  )

  it.effect("a chat started through Chat.Persistence reads back through Memory, and loads again", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["Hello! How can I help?", "Paris."])
      const persistence = yield* Chat.Persistence
      const chat = yield* persistence.getOrCreate("new-session")
      assert.strictEqual((yield* Ref.get(chat.history)).content.length, 0)
      yield* chat.generateText({ prompt: "Hi" }).pipe(Effect.provide(scripted.layer))
      yield* chat.generateText({ prompt: "Capital of France?" }).pipe(Effect.provide(scripted.layer))

      assert.deepStrictEqual(texts(yield* history("new-session")), [
        "Hi",
        "Hello! How can I help?",
        "Capital of France?",
        "Paris."
      ])
      // A second load (another request) gets the same history, ids included.
      const again = yield* persistence.get("new-session")
      const reloaded = (yield* Ref.get(again.history)).content
      assert.deepStrictEqual(
        JSON.parse(JSON.stringify(reloaded)),
        JSON.parse(JSON.stringify((yield* Ref.get(chat.history)).content))
      )
      // effect/ai's rule: a save after an assistant message reuses its id.
      const first = messageIdOf(reloaded[1]!)
      assert.isString(first)
      assert.strictEqual(messageIdOf(reloaded[3]!), first)
    }).pipe(Effect.provide(memoryLayers))
  )

  it.effect("messages another writer appends meanwhile are kept: a save appends, never overwrites", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["Answer from the chat."])
      const memory = yield* Memory.Memory
      yield* memory.append(SESSION, [user("First question"), assistant("First answer")])
      const chat = yield* (yield* Chat.Persistence).get(SESSION)
      // A RAG step, say, writes to the same session after the chat was loaded.
      yield* memory.append(SESSION, [user("Asked elsewhere"), assistant("Answered elsewhere")])
      yield* chat.generateText({ prompt: "Chat question" }).pipe(Effect.provide(scripted.layer))
      assert.deepStrictEqual(texts(yield* history()), [
        "First question",
        "First answer",
        "Asked elsewhere",
        "Answered elsewhere",
        "Chat question",
        "Answer from the chat."
      ])
      // A second save with nothing new appends nothing.
      yield* chat.save
      assert.strictEqual((yield* history()).length, 6)
    }).pipe(Effect.provide(memoryLayers))
  )

  it.effect("a turn with a tool call and its result is saved whole and reads back as a prompt", () =>
    Effect.gen(function* () {
      const chat = yield* (yield* Chat.Persistence).getOrCreate(SESSION)
      // Messages put on the chat's history directly (as a tool loop does), then saved.
      yield* Ref.update(chat.history, (prompt) =>
        Prompt.concat(
          prompt,
          Prompt.fromMessages([
            user("Convert 5 km"),
            Prompt.assistantMessage({
              content: [
                Prompt.toolCallPart({
                  id: "c1",
                  name: "convert",
                  params: { value: 5 },
                  providerExecuted: false
                })
              ]
            }),
            Prompt.toolMessage({
              content: [
                Prompt.toolResultPart({
                  id: "c1",
                  name: "convert",
                  isFailure: false,
                  result: { miles: 3.1 },
                  providerExecuted: false
                })
              ]
            })
          ])
        )
      )
      yield* chat.save
      const after = yield* history()
      assert.deepStrictEqual(
        after.map((message) => message.role),
        ["user", "assistant", "tool"]
      )
      const tool = after[2]!
      const result = tool.role === "tool" ? tool.content[0] : undefined
      assert.isTrue(result?.type === "tool-result" && result.id === "c1")
    }).pipe(Effect.provide(memoryLayers))
  )

  it.effect("a condensed session loads as a Chat with its summary first", () =>
    Effect.gen(function* () {
      const memory = yield* Memory.Memory
      const long = (n: number) => [
        user(`Question ${n} about the roof panels and how they behave under a heavy winter snowfall?`),
        assistant(`Answer ${n}: the panels lose most of their output under snow until it slides off.`)
      ]
      yield* memory.append(SESSION, [...long(1), ...long(2), ...long(3)])
      yield* Memory.condense(SESSION, { maxTokens: 90, keepLastTurns: 1 }).pipe(
        Effect.provide(Scripted.layer(["Panels lose output under snow."]))
      )
      const chat = yield* (yield* Chat.Persistence).get(SESSION)
      const loaded = (yield* Ref.get(chat.history)).content
      assert.strictEqual(loaded[0]!.role, "system")
      assert.isTrue(Memory.isSummary(loaded[0]!))
      assert.strictEqual(loaded.length, 3)
      const scripted = yield* Scripted.make([(prompt) => `You asked: ${lastUserText(prompt)}`])
      yield* chat.generateText({ prompt: "And in summer?" }).pipe(Effect.provide(scripted.layer))
      assert.deepStrictEqual(texts(yield* history()).slice(3), [
        "And in summer?",
        "You asked: And in summer?"
      ])
    }).pipe(Effect.provide(memoryLayers))
  )

  it.effect("a streamed reply is saved when the stream ends", () =>
    Effect.gen(function* () {
      const chat = yield* (yield* Chat.Persistence).getOrCreate(SESSION)
      const streamed = yield* chat.streamText({ prompt: "Stream me" }).pipe(
        Stream.runFold(
          () => "",
          (text, part) => (part.type === "text-delta" ? text + part.delta : text)
        ),
        Effect.provide(Scripted.layer(["A streamed answer."]))
      )
      assert.strictEqual(streamed, "A streamed answer.")
      assert.deepStrictEqual(texts(yield* history()), ["Stream me", "A streamed answer."])
    }).pipe(Effect.provide(memoryLayers))
  )

  it.effect("a model failure saves nothing and leaves the session as it was", () =>
    Effect.gen(function* () {
      const memory = yield* Memory.Memory
      yield* memory.append(SESSION, [user("Q"), assistant("A")])
      const chat = yield* (yield* Chat.Persistence).get(SESSION)
      const exit = yield* chat
        .generateText({ prompt: "Next" })
        .pipe(Effect.provide(Scripted.layer([])), Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      assert.deepStrictEqual(texts(yield* history()), ["Q", "A"])
    }).pipe(Effect.provide(memoryLayers))
  )

  it.effect("get of a session with no messages fails with ChatNotFoundError; getOrCreate starts empty", () =>
    Effect.gen(function* () {
      const persistence = yield* Chat.Persistence
      const exit = yield* Effect.exit(persistence.get("nobody"))
      const failure = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      assert.isTrue(failure?._tag === "Fail" && failure.error._tag === "ChatNotFoundError")
      const chat = yield* persistence.getOrCreate("nobody")
      yield* chat.save
      assert.strictEqual((yield* history("nobody")).length, 0)
    }).pipe(Effect.provide(memoryLayers))
  )

  it.effect(
    "a finite timeToLive fails with PersistenceError (sessions do not expire); infinity is accepted",
    () =>
      Effect.gen(function* () {
        const persistence = yield* Chat.Persistence
        const exit = yield* Effect.exit(persistence.getOrCreate(SESSION, { timeToLive: "1 hour" }))
        const failure = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
        assert.isTrue(failure?._tag === "Fail" && failure.error._tag === "PersistenceError")
        assert.include(String(failure?._tag === "Fail" ? failure.error.message : ""), "timeToLive")
        const chat = yield* persistence.getOrCreate(SESSION, { timeToLive: "Infinity" })
        assert.strictEqual(chat.id, SESSION)
      }).pipe(Effect.provide(memoryLayers))
  )

  it.effect("a blank session id fails to load with PersistenceError naming Memory's reason", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit((yield* Chat.Persistence).getOrCreate("  "))
      const failure = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      assert.isTrue(failure?._tag === "Fail" && failure.error._tag === "PersistenceError")
      assert.include(
        String(failure?._tag === "Fail" ? failure.error.message : ""),
        "Session id must not be empty"
      )
    }).pipe(Effect.provide(memoryLayers))
  )

  it.effect("message ids come from the IdGenerator in context, as in effect/ai", () =>
    Effect.gen(function* () {
      const chat = yield* (yield* Chat.Persistence).getOrCreate(SESSION)
      yield* chat
        .generateText({ prompt: "Hi" })
        .pipe(
          Effect.provide(Scripted.layer(["Hello"])),
          Effect.provideService(IdGenerator.IdGenerator, { generateId: () => Effect.succeed("msg-1") })
        )
      const after = yield* history()
      assert.deepStrictEqual(after.map(messageIdOf), ["msg-1", "msg-1"])
    }).pipe(Effect.provide(memoryLayers))
  )
})
