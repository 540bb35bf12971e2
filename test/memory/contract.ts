/**
 * What every Memory must do, whichever store is under it: the suite takes a
 * layer, so the in-memory store runs it today and a SQL store can run the
 * same tests later. History is effect/ai Prompt messages of every kind,
 * stored as JSON and decoded back; paused runs are taken once, even by racing
 * takes; every failure is a typed `MemoryError` reason.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Layer, Option, Ref, Schema } from "effect"
import { Prompt } from "effect/ai"
import { TestClock } from "effect/testing"
import { Memory } from "../../src/memory/index.ts"

const Profile = Schema.Struct({ name: Schema.String, visits: Schema.Number })
const Other = Schema.Struct({ count: Schema.Number })

/** A paused agent run as an agent might keep it: a tool call waiting, the history so far, a date. */
const Paused = Schema.Struct({
  agent: Schema.String,
  pending: Schema.Struct({ toolCallId: Schema.String, name: Schema.String, params: Schema.Unknown }),
  history: Schema.Array(Prompt.Message),
  pausedOn: Schema.DateTimeUtcFromString
})

export const text = (role: "user" | "assistant", value: string): Prompt.Message =>
  role === "user"
    ? Prompt.userMessage({ content: [Prompt.textPart({ text: value })] })
    : Prompt.assistantMessage({ content: [Prompt.textPart({ text: value })] })

/** One message of every kind, with every part kind a role may carry. */
export const everyKind: ReadonlyArray<Prompt.Message> = [
  Prompt.systemMessage({ content: "You are terse." }),
  Prompt.userMessage({
    content: [
      Prompt.textPart({ text: "What is in this file?", options: { openai: { detail: "high" } } }),
      Prompt.filePart({
        mediaType: "image/png",
        fileName: "dot.png",
        data: new Uint8Array([137, 80, 78, 71])
      }),
      Prompt.filePart({ mediaType: "application/pdf", data: new URL("https://example.com/a.pdf") }),
      Prompt.filePart({ mediaType: "text/plain", data: "aGVsbG8=" })
    ]
  }),
  Prompt.assistantMessage({
    content: [
      Prompt.reasoningPart({ text: "The user wants a conversion." }),
      Prompt.textPart({ text: "Converting." }),
      Prompt.toolCallPart({
        id: "call-1",
        name: "convert",
        params: { value: 3, from: "km", to: "mi", nested: [1, null, { ok: true }] },
        providerExecuted: false
      }),
      Prompt.toolCallPart({ id: "call-2", name: "web_search", params: { q: "x" }, providerExecuted: true }),
      Prompt.toolResultPart({
        id: "call-2",
        name: "web_search",
        isFailure: false,
        result: { hits: ["a"] },
        providerExecuted: true
      }),
      Prompt.toolApprovalRequestPart({ approvalId: "approval-1", toolCallId: "call-1" })
    ],
    options: { weft: { citations: [{ n: 1, sourceId: "a.md" }] } }
  }),
  Prompt.toolMessage({
    content: [
      Prompt.toolApprovalResponsePart({ approvalId: "approval-1", approved: true, reason: "fine" }),
      Prompt.toolResultPart({
        id: "call-1",
        name: "convert",
        isFailure: false,
        result: { miles: 1.864 },
        modelOutput: [Prompt.textPart({ text: "1.864 mi" })],
        providerExecuted: false
      }),
      Prompt.toolResultPart({
        id: "call-9",
        name: "convert",
        isFailure: true,
        result: "unknown unit: parsec",
        providerExecuted: false
      })
    ]
  }),
  Prompt.assistantMessage({ content: [Prompt.textPart({ text: "3 km is 1.864 mi." })] })
]

/** URLs compare by href (deep equality sees no fields on a URL). */
const comparable = (value: unknown): unknown =>
  value instanceof URL
    ? { href: value.href }
    : value instanceof Uint8Array
      ? { bytes: Array.from(value) }
      : Array.isArray(value)
        ? value.map(comparable)
        : typeof value === "object" && value !== null
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, comparable(v)]))
          : value

const reasonOf = <A, R>(effect: Effect.Effect<A, Memory.MemoryError, R>) =>
  Effect.map(Effect.flip(effect), (error) => error.reason)

/**
 * Runs the Memory contract against a store: each test builds `store` afresh
 * (a SQL store's layer should hand each build an empty database or schema).
 */
export const memoryContract = <E>(name: string, store: Layer.Layer<Memory.Store.MemoryStore, E>) =>
  describe(`Memory contract: ${name}`, () => {
    const layer = Memory.layer.pipe(Layer.provide(store))
    describe("history", () => {
      it.effect("round-trips every Prompt message and part kind, tool calls and results included", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          yield* memory.append("s", everyKind)
          const back = yield* memory.history("s")
          assert.strictEqual(back.length, everyKind.length)
          assert.deepStrictEqual(comparable(back), comparable(everyKind))
          assert.deepStrictEqual(
            back.map((m) => m.role),
            ["system", "user", "assistant", "tool", "assistant"]
          )
          // Decoded, not copied: real Prompt messages that go into a prompt as they are.
          assert.isTrue(back.every(Prompt.isMessage))
          const file = back[1]!.role === "user" ? back[1]!.content[1] : undefined
          assert.isTrue(file?.type === "file" && file.data instanceof Uint8Array)
          const prompt = Prompt.fromMessages(back)
          assert.strictEqual(prompt.content.length, 5)
          // The whole history survives the Prompt Schema's own JSON encoding too.
          const json = JSON.stringify(Schema.encodeSync(Prompt.Prompt)(prompt))
          const again = Schema.decodeUnknownSync(Prompt.Prompt)(JSON.parse(json))
          assert.deepStrictEqual(comparable(again.content), comparable(everyKind))
        }).pipe(Effect.provide(layer))
      )

      it.effect.prop(
        "any message is either refused with InvalidMessage or read back as its JSON round trip through the Schema",
        { messages: Schema.Array(Prompt.Message).check(Schema.isMaxLength(4)) },
        ({ messages }) =>
          Effect.gen(function* () {
            const memory = yield* Memory.Memory
            const stored = yield* Effect.result(memory.append("p", messages))
            if (stored._tag === "Failure") {
              assert.strictEqual(stored.failure.reason._tag, "InvalidMessage")
              assert.strictEqual((yield* memory.history("p")).length, 0)
              return
            }
            const viaJson = Schema.decodeUnknownSync(Schema.Array(Prompt.Message))(
              // As JSON keeps it: undefined params or result read back as null.
              JSON.parse(
                JSON.stringify(
                  Schema.encodeSync(Schema.Array(Prompt.Message))(messages),
                  function (key, value) {
                    return value === undefined &&
                      ((key === "params" && this.type === "tool-call") ||
                        (key === "result" && this.type === "tool-result"))
                      ? null
                      : value
                  }
                )
              )
            )
            assert.deepStrictEqual(comparable(yield* memory.history("p")), comparable(viaJson))
          }).pipe(Effect.provide(layer)),
        { arbitrary: { runs: 300 } }
      )

      it.effect("keeps sessions apart, in order, and appends a Prompt as its messages", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          yield* memory.append("a", [text("user", "hi"), text("assistant", "hello")])
          yield* memory.append("b", Prompt.make("other session"))
          yield* memory.append("a", [text("user", "again")])
          yield* memory.append("a", [])
          assert.deepStrictEqual((yield* memory.history("a")).map(Memory.textOf), ["hi", "hello", "again"])
          assert.deepStrictEqual((yield* memory.history("b")).map(Memory.textOf), ["other session"])
          assert.strictEqual((yield* memory.history("never")).length, 0)
        }).pipe(Effect.provide(layer))
      )

      it.effect("last keeps the newest n; last: undefined is every message; last: 0 none", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          yield* memory.append("a", [text("user", "1"), text("assistant", "2"), text("user", "3")])
          assert.deepStrictEqual((yield* memory.history("a", { last: 2 })).map(Memory.textOf), ["2", "3"])
          assert.strictEqual((yield* memory.history("a", { last: 10 })).length, 3)
          assert.strictEqual((yield* memory.history("a", { last: 0 })).length, 0)
          const configured: Memory.HistoryOptions = { last: undefined, maxTokens: undefined }
          assert.strictEqual((yield* memory.history("a", configured)).length, 3)
        }).pipe(Effect.provide(layer))
      )

      it.effect("maxTokens keeps the newest whole messages that fit", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          // "one two three four" is 4 tokens in o200k_base; each message adds 4 of overhead: 8 a message.
          const words = "one two three four"
          yield* memory.append("a", [
            text("user", `a ${words}`),
            text("assistant", words),
            text("user", words)
          ])
          assert.deepStrictEqual((yield* memory.history("a", { maxTokens: 16 })).length, 2)
          assert.deepStrictEqual((yield* memory.history("a", { maxTokens: 23 })).length, 2)
          assert.deepStrictEqual((yield* memory.history("a", { maxTokens: 25 })).length, 3)
          assert.deepStrictEqual((yield* memory.history("a", { maxTokens: 7 })).length, 0)
          assert.deepStrictEqual((yield* memory.history("a", { maxTokens: 0 })).length, 0)
          // Both bounds: the tighter wins.
          assert.deepStrictEqual((yield* memory.history("a", { maxTokens: 100, last: 1 })).length, 1)
        }).pipe(Effect.provide(layer))
      )

      it.effect("a trimmed history never opens on a tool result whose call was cut off", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          yield* memory.append("a", everyKind.slice(1))
          // Newest 2: the tool message and the answer; the call is cut off, so the tool message goes too.
          const last2 = yield* memory.history("a", { last: 2 })
          assert.deepStrictEqual(
            last2.map((m) => m.role),
            ["assistant"]
          )
          const last3 = yield* memory.history("a", { last: 3 })
          assert.deepStrictEqual(
            last3.map((m) => m.role),
            ["assistant", "tool", "assistant"]
          )
        }).pipe(Effect.provide(layer))
      )

      it.effect("replaceOldest swaps the oldest messages for a summary in one step, keeping the rest", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          yield* memory.append("a", [
            text("user", "1"),
            text("assistant", "2"),
            text("user", "3"),
            text("assistant", "4")
          ])
          yield* memory.replaceOldest("a", 3, [Prompt.systemMessage({ content: "Summary of 1-3." })])
          assert.deepStrictEqual((yield* memory.history("a")).map(Memory.textOf), ["Summary of 1-3.", "4"])
          yield* memory.replaceOldest("a", 0, [text("user", "0")])
          assert.deepStrictEqual((yield* memory.history("a")).map(Memory.textOf), [
            "0",
            "Summary of 1-3.",
            "4"
          ])
          const tooMany = yield* reasonOf(memory.replaceOldest("a", 4, []))
          assert.strictEqual(tooMany._tag, "InvalidOption")
          assert.match(tooMany.message, /^count must be at most the session's 3 messages, got 4$/)
          const negative = yield* reasonOf(memory.replaceOldest("a", -1, []))
          assert.strictEqual(negative._tag, "InvalidOption")
          const bad = yield* reasonOf(
            memory.replaceOldest("a", 1, [
              Prompt.assistantMessage({
                content: [
                  Prompt.toolCallPart({
                    id: "c",
                    name: "t",
                    params: { d: new Date(0) },
                    providerExecuted: false
                  })
                ]
              })
            ])
          )
          assert.strictEqual(bad._tag, "InvalidMessage")
          assert.strictEqual((yield* memory.history("a")).length, 3)
        }).pipe(Effect.provide(layer))
      )

      it.effect("a history handed from one session to another arrives whole", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          yield* memory.append("triage", everyKind)
          yield* memory.append("specialist", yield* memory.history("triage"))
          assert.deepStrictEqual(
            comparable(yield* memory.history("specialist")),
            comparable(yield* memory.history("triage"))
          )
        }).pipe(Effect.provide(layer))
      )

      it.effect("stores a copy: changing a message after appending it changes nothing stored", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          const params = { value: 1 }
          yield* memory.append("a", [
            Prompt.assistantMessage({
              content: [Prompt.toolCallPart({ id: "c", name: "t", params, providerExecuted: false })]
            })
          ])
          params.value = 2
          const [message] = yield* memory.history("a")
          const part = message?.role === "assistant" ? message.content[0] : undefined
          assert.deepStrictEqual(part?.type === "tool-call" ? part.params : undefined, { value: 1 })
        }).pipe(Effect.provide(layer))
      )

      it.effect(
        "a message whose encoded form is not JSON is InvalidMessage, and none of its batch is kept",
        () =>
          Effect.gen(function* () {
            const memory = yield* Memory.Memory
            const call = (params: unknown) =>
              Prompt.assistantMessage({
                content: [Prompt.toolCallPart({ id: "c", name: "t", params, providerExecuted: false })]
              })
            const cyclic: Record<string, unknown> = {}
            cyclic.self = cyclic
            for (const [params, said] of [
              [{ when: new Date(0) }, /messages\[1\]\.content\[0\]\.params\.when is a Date/],
              [{ n: Number.NaN }, /params\.n is NaN/],
              [{ big: 1n }, /params\.big is a bigint/],
              [{ f: () => 1 }, /params\.f is a function/],
              [cyclic, /params\.self refers back to itself/]
            ] as const) {
              const reason = yield* reasonOf(memory.append("a", [text("user", "kept?"), call(params)]))
              assert.strictEqual(reason._tag, "InvalidMessage")
              assert.match(reason.message, said)
              assert.match(reason.message, /^A message of session "a" cannot be stored or read: /)
            }
            // A value that is not a Prompt message at all.
            const bogus = yield* reasonOf(
              memory.append("a", [{ role: "robot" } as unknown as Prompt.Message])
            )
            assert.strictEqual(bogus._tag, "InvalidMessage")
            assert.strictEqual((yield* memory.history("a")).length, 0)
            // undefined in an optional field is absent, as in JSON.
            yield* memory.append("a", [call({ a: 1, b: undefined })])
            assert.strictEqual((yield* memory.history("a")).length, 1)
          }).pipe(Effect.provide(layer))
      )

      it.effect(
        "a tool call's params or a tool result of undefined (a tool returning nothing) is kept as null",
        () =>
          Effect.gen(function* () {
            const memory = yield* Memory.Memory

            yield* memory.append("a", [
              Prompt.assistantMessage({
                content: [
                  Prompt.toolCallPart({ id: "c", name: "ping", params: undefined, providerExecuted: false })
                ]
              }),

              Prompt.toolMessage({
                content: [
                  Prompt.toolResultPart({
                    id: "c",
                    name: "ping",
                    isFailure: false,
                    result: undefined,
                    providerExecuted: false
                  })
                ]
              })
            ])

            const [call, result] = yield* memory.history("a")

            const callPart = call?.role === "assistant" ? call.content[0] : undefined

            const resultPart = result?.role === "tool" ? result.content[0] : undefined

            assert.isTrue(callPart?.type === "tool-call" && callPart.params === null)

            assert.isTrue(resultPart?.type === "tool-result" && resultPart.result === null)
          }).pipe(Effect.provide(layer))
      )

      it.effect("a bad last or maxTokens is InvalidOption naming it and the value", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          for (const [options, option, shown] of [
            [{ last: -1 }, "last", "-1"],
            [{ last: 1.5 }, "last", "1.5"],
            [{ last: Number.NaN }, "last", "NaN"],
            [{ maxTokens: -3 }, "maxTokens", "-3"],
            [{ maxTokens: Number.POSITIVE_INFINITY }, "maxTokens", "Infinity"]
          ] as const) {
            const reason = yield* memory.history("a", options).pipe(
              Effect.map(() => undefined),
              Effect.catchReason("MemoryError", "InvalidOption", (reason) => Effect.succeed(reason))
            )
            assert.strictEqual(reason?.option, option)
            assert.strictEqual(reason?.value, shown)
          }
        }).pipe(Effect.provide(layer))
      )
    })

    describe("state", () => {
      it.effect("stores typed state and refuses to read it back under another shape", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          assert.isTrue(Option.isNone(yield* memory.getState("s", Profile)))
          yield* memory.setState("s", Profile, { name: "Ada", visits: 2 })
          assert.deepStrictEqual(
            yield* memory.getState("s", Profile),
            Option.some({ name: "Ada", visits: 2 })
          )
          const reason = yield* memory.getState("s", Other).pipe(
            Effect.map(() => undefined),
            Effect.catchReason("MemoryError", "InvalidState", (reason) => Effect.succeed(reason))
          )
          assert.strictEqual(reason?.sessionId, "s")
          assert.match(reason!.message, /^State of session "s" does not match the schema: .*count/)
          const notJson = yield* reasonOf(memory.setState("s", Schema.Unknown, { at: new Date(0) }))
          assert.strictEqual(notJson._tag, "InvalidState")
          assert.match(notJson.message, /state\.at is a Date/)
          assert.deepStrictEqual(
            yield* memory.getState("s", Profile),
            Option.some({ name: "Ada", visits: 2 })
          )
        }).pipe(Effect.provide(layer))
      )

      it.effect("clear deletes the session's history, state and paused runs, and no other session's", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          yield* memory.append("s", [text("user", "x")])
          yield* memory.append("t", [text("user", "y")])
          yield* memory.setState("s", Profile, { name: "Ada", visits: 1 })
          yield* memory.putPaused("p-s", Schema.String, "s's", { sessionId: "s" })
          yield* memory.putPaused("p-t", Schema.String, "t's", { sessionId: "t" })
          yield* memory.clear("s")
          assert.strictEqual((yield* memory.history("s")).length, 0)
          assert.isTrue(Option.isNone(yield* memory.getState("s", Profile)))
          assert.strictEqual(
            (yield* reasonOf(memory.takePaused("p-s", Schema.String)))._tag,
            "PausedRunNotFound"
          )
          assert.strictEqual((yield* memory.history("t")).length, 1)
          assert.strictEqual(yield* memory.takePaused("p-t", Schema.String), "t's")
        }).pipe(Effect.provide(layer))
      )

      it.effect("an empty session id is InvalidSession everywhere, never retryable", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          const error = yield* Effect.flip(memory.append("  ", [text("user", "x")]))
          assert.strictEqual(error._tag, "MemoryError")
          assert.strictEqual(error.reason._tag, "InvalidSession")
          assert.isFalse(error.isRetryable)
          assert.match(error.message, /Session id must not be empty/)
          for (const effect of [
            memory.history(""),
            memory.getState("", Profile),
            memory.setState("", Profile, { name: "A", visits: 0 }),
            memory.clear(" "),
            memory.putPaused("p", Schema.String, "v", { sessionId: "" }),
            memory.listPaused({ sessionId: "\t" })
          ]) {
            assert.strictEqual(
              (yield* reasonOf(effect as Effect.Effect<unknown, Memory.MemoryError>))._tag,
              "InvalidSession"
            )
          }
        }).pipe(Effect.provide(layer))
      )
    })

    describe("paused runs", () => {
      const decodedRun = Schema.decodeUnknownSync(Paused)({
        agent: "assistant",
        pending: { toolCallId: "call-1", name: "delete_file", params: { path: "/tmp/x" } },
        history: Schema.encodeSync(Schema.Array(Prompt.Message))(everyKind),
        pausedOn: "2026-01-02T03:04:05.000Z"
      })

      it.effect("put, peek, then take once: a second take is PausedRunUsed saying when", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          yield* TestClock.setTime(1_000)
          yield* memory.putPaused("run-1", Paused, decodedRun, { sessionId: "s" })
          assert.deepStrictEqual(yield* memory.listPaused(), [
            { id: "run-1", sessionId: "s", pausedAt: 1_000 }
          ])
          const peeked = yield* memory.peekPaused("run-1", Paused)
          assert.deepStrictEqual(comparable(peeked), comparable(decodedRun))
          yield* TestClock.setTime(5_000)
          const taken = yield* memory.takePaused("run-1", Paused)
          assert.deepStrictEqual(comparable(taken), comparable(decodedRun))
          assert.strictEqual(taken.pausedOn.epochMilliseconds, Date.UTC(2026, 0, 2, 3, 4, 5))
          assert.isTrue(taken.history.every(Prompt.isMessage))
          const again = yield* memory.takePaused("run-1", Paused).pipe(
            Effect.map(() => undefined),
            Effect.catchReason("MemoryError", "PausedRunUsed", (reason) => Effect.succeed(reason))
          )
          assert.strictEqual(again?.id, "run-1")
          assert.strictEqual(again?.usedAt, 5_000)
          assert.match(
            again!.message,
            /^Paused run "run-1" was already resumed at 1970-01-01T00:00:05\.000Z$/
          )
          assert.strictEqual((yield* reasonOf(memory.peekPaused("run-1", Paused)))._tag, "PausedRunUsed")
          assert.deepStrictEqual(yield* memory.listPaused(), [])
        }).pipe(Effect.provide(layer))
      )

      it.effect("an unknown id is PausedRunNotFound; a reused id is PausedRunExists, even once used", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          const unknown = yield* reasonOf(memory.takePaused("nope", Schema.String))
          assert.strictEqual(unknown._tag, "PausedRunNotFound")
          assert.match(unknown.message, /^No paused run has the id "nope"$/)
          assert.strictEqual(
            (yield* reasonOf(memory.peekPaused("nope", Schema.String)))._tag,
            "PausedRunNotFound"
          )
          assert.strictEqual(
            (yield* reasonOf(memory.takePaused("  ", Schema.String)))._tag,
            "PausedRunNotFound"
          )
          yield* memory.putPaused("r", Schema.String, "first")
          const live = yield* reasonOf(memory.putPaused("r", Schema.String, "second"))
          assert.strictEqual(live._tag, "PausedRunExists")
          yield* memory.takePaused("r", Schema.String)
          const used = yield* reasonOf(memory.putPaused("r", Schema.String, "third"))
          assert.strictEqual(used._tag, "PausedRunExists")
          assert.isFalse(new Memory.MemoryError({ reason: used }).isRetryable)
          const blank = yield* reasonOf(memory.putPaused(" ", Schema.String, "x"))
          assert.strictEqual(blank._tag, "InvalidOption")
        }).pipe(Effect.provide(layer))
      )

      it.effect("of many takes racing for one id exactly one gets the run; the rest are PausedRunUsed", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          yield* memory.putPaused("race", Schema.String, "the run")
          const exits = yield* Effect.all(
            Array.from({ length: 50 }, () => Effect.exit(memory.takePaused("race", Schema.String))),
            { concurrency: "unbounded" }
          )
          const won = exits.filter(Exit.isSuccess)
          assert.strictEqual(won.length, 1)
          assert.strictEqual(won[0]!.value, "the run")
          for (const exit of exits.filter(Exit.isFailure)) {
            const error = exit.cause.reasons[0]
            assert.strictEqual(
              error?._tag === "Fail" ? (error.error as Memory.MemoryError).reason._tag : error?._tag,
              "PausedRunUsed"
            )
          }
        }).pipe(Effect.provide(layer))
      )

      it.effect("a take with the wrong Schema is InvalidPausedRun and leaves the run for the right one", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          yield* memory.putPaused("r", Profile, { name: "Ada", visits: 1 })
          const wrong = yield* reasonOf(memory.takePaused("r", Other))
          assert.strictEqual(wrong._tag, "InvalidPausedRun")
          assert.match(wrong.message, /^Paused run "r" does not match the schema: .*count/)
          assert.deepStrictEqual(yield* memory.takePaused("r", Profile), { name: "Ada", visits: 1 })
          const notJson = yield* reasonOf(memory.putPaused("d", Schema.Unknown, { at: new Date(0) }))
          assert.strictEqual(notJson._tag, "InvalidPausedRun")
          assert.match(notJson.message, /value\.at is a Date/)
          assert.strictEqual(
            (yield* reasonOf(memory.takePaused("d", Schema.Unknown)))._tag,
            "PausedRunNotFound"
          )
        }).pipe(Effect.provide(layer))
      )

      it.effect("listPaused lists runs not yet taken, oldest first, by session when asked", () =>
        Effect.gen(function* () {
          const memory = yield* Memory.Memory
          yield* memory.putPaused("a1", Schema.Number, 1, { sessionId: "a" })
          yield* TestClock.adjust("1 second")
          yield* memory.putPaused("b1", Schema.Number, 2, { sessionId: "b" })
          yield* TestClock.adjust("1 second")
          yield* memory.putPaused("n1", Schema.Number, 3)
          yield* memory.putPaused("a2", Schema.Number, 4, { sessionId: "a" })
          yield* memory.takePaused("a1", Schema.Number)
          assert.deepStrictEqual(
            (yield* memory.listPaused()).map((r) => r.id),
            ["b1", "n1", "a2"]
          )
          assert.deepStrictEqual(yield* memory.listPaused({ sessionId: "a" }), [
            { id: "a2", sessionId: "a", pausedAt: 2_000 }
          ])
          assert.deepStrictEqual(
            yield* memory.listPaused({ sessionId: undefined }),
            yield* memory.listPaused()
          )
        }).pipe(Effect.provide(layer))
      )

      it.effect("a run paused in one request is resumed in another, once", () =>
        Effect.gen(function* () {
          // Two requests: two separate runs of an Effect against one built Memory.
          const services = yield* Layer.build(layer)
          const request = <A>(effect: Effect.Effect<A, Memory.MemoryError, Memory.Memory>) =>
            Effect.runPromiseExit(Effect.provideContext(effect, services))
          yield* Effect.promise(() =>
            request(Memory.Memory.use((m) => m.putPaused("x", Schema.String, "state", { sessionId: "s" })))
          )
          const first = yield* Effect.promise(() =>
            request(Memory.Memory.use((m) => m.takePaused("x", Schema.String)))
          )
          const second = yield* Effect.promise(() =>
            request(Memory.Memory.use((m) => m.takePaused("x", Schema.String)))
          )
          assert.deepStrictEqual(first, Exit.succeed("state"))
          assert.isTrue(Exit.isFailure(second))
        }).pipe(Effect.scoped)
      )
    })

    it.effect("a take racing the first between its check and its removal still loses", () =>
      // Every take passes the check (peek) before any removes the run: only the store's atomic take decides.
      Effect.gen(function* () {
        const inner = yield* Memory.Store.MemoryStore
        const peeked = yield* Ref.make(0)
        const allPeeked = yield* Deferred.make<void>()
        const racing = 8
        const store: Memory.Store.Store = {
          ...inner,
          peekPaused: (id) =>
            Effect.tap(inner.peekPaused(id), () =>
              Effect.flatMap(
                Ref.updateAndGet(peeked, (n) => n + 1),
                (n) => (n === racing ? Deferred.succeed(allPeeked, undefined) : Deferred.await(allPeeked))
              )
            )
        }
        const memory = Memory.make(store)
        yield* memory.putPaused("race", Schema.String, "the run")
        const exits = yield* Effect.all(
          Array.from({ length: racing }, () => Effect.exit(memory.takePaused("race", Schema.String))),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(yield* Ref.get(peeked), racing)
        assert.strictEqual(exits.filter(Exit.isSuccess).length, 1)
      }).pipe(Effect.provide(store))
    )
  })
