/**
 * Memory.condense: a history over its token budget has its older turns
 * summarised by the model and replaced by one summary message, the newest
 * turns kept verbatim and the result under budget.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer } from "effect"
import { AiError, Prompt } from "effect/ai"
import { TestClock } from "effect/testing"
import * as Budget from "../../src/budget/Budget.ts"
import type { Charge } from "../../src/budget/Usage.ts"
import { Memory } from "../../src/memory/index.ts"
import { Local, Scripted } from "../../src/model/index.ts"
import { countMessage } from "../../src/text/Tokens.ts"

const user = (text: string) => Prompt.userMessage({ content: [Prompt.textPart({ text })] })
const assistant = (text: string) => Prompt.assistantMessage({ content: [Prompt.textPart({ text })] })

/** A plain turn: a question and its answer. */
const turn = (n: number): Array<Prompt.Message> => [
  user(`Question ${n}: how does the solar panel on roof ${n} behave in winter when snow covers it?`),
  assistant(
    `Answer ${n}: the panel on roof ${n} loses most of its output under snow, and recovers once the snow slides off the tilted glass.`
  )
]

/** A turn with a tool call and its result between the question and the answer. */
const toolTurn = (n: number): Array<Prompt.Message> => [
  user(`How far is ${n} km in miles?`),
  Prompt.assistantMessage({
    content: [
      Prompt.toolCallPart({
        id: `call-${n}`,
        name: "convert",
        params: { value: n, from: "km", to: "mi" },
        providerExecuted: false
      })
    ]
  }),
  Prompt.toolMessage({
    content: [
      Prompt.toolResultPart({
        id: `call-${n}`,
        name: "convert",
        isFailure: false,
        result: { value: n * 0.621 },
        providerExecuted: false
      })
    ]
  }),
  assistant(`${n} km is about ${(n * 0.621).toFixed(2)} miles.`)
]

const tokensOf = (messages: ReadonlyArray<Prompt.Message>) =>
  messages.reduce((sum, message) => sum + countMessage(message), 0)

// The history as a caller reads it back: what the store keeps, without object identity.
const plain = (messages: ReadonlyArray<Prompt.Message>) => JSON.parse(JSON.stringify(messages))

const SESSION = "s"
const conversation = [...turn(1), ...turn(2), ...turn(3), ...turn(4), ...toolTurn(5), ...turn(6)]

const seed = (messages: ReadonlyArray<Prompt.Message>) =>
  Memory.Memory.use((memory) => memory.append(SESSION, messages))
const history = Memory.Memory.use((memory) => memory.history(SESSION))

const optionOf = <A>(exit: Exit.Exit<A, unknown>) => {
  if (Exit.isSuccess(exit)) return undefined
  const error = exit.cause.reasons[0]
  const failure = error?._tag === "Fail" ? error.error : undefined
  return failure instanceof Memory.MemoryError && failure.reason._tag === "InvalidOption"
    ? failure.reason.option
    : `not InvalidOption: ${String(failure)}`
}

describe("Memory.condense", () => {
  it.effect(
    "over budget: older turns become one summary, the last turns stay verbatim, the history fits",
    () =>
      Effect.gen(function* () {
        const scripted = yield* Scripted.make(["Roofs 1 to 4 lose output under snow; 5 km is 3.1 miles."])
        yield* seed(conversation)
        const before = tokensOf(conversation)
        const maxTokens = Math.floor(before / 2)
        const report = yield* Memory.condense(SESSION, { maxTokens, keepLastTurns: 2 }).pipe(
          Effect.provide(scripted.layer)
        )
        const after = yield* history
        // The last two turns: the tool turn (call and result together) and turn 6.
        const kept = [...toolTurn(5), ...turn(6)]
        assert.deepStrictEqual(plain(after.slice(1)), plain(kept))
        assert.isTrue(Memory.isSummary(after[0]!))
        assert.include(Memory.textOf(after[0]!), "Roofs 1 to 4 lose output under snow")
        assert.strictEqual(report.condensed, conversation.length - kept.length)
        assert.strictEqual(report.kept, kept.length)
        assert.strictEqual(report.tokensBefore, before)
        assert.strictEqual(report.tokensAfter, tokensOf(after))
        assert.isAtMost(report.tokensAfter, maxTokens)
        assert.isFalse(report.truncated)
        // The model was shown the replaced turns, and not the kept ones.
        const [prompt] = yield* scripted.prompts
        const shown = prompt!.content.map((message) => Memory.textOf(message)).join("\n")
        assert.include(shown, "Question 1: how does the solar panel on roof 1")
        assert.include(shown, "Answer 4:")
        assert.notInclude(shown, "Question 6")
      }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("a cut never falls between a tool call and its result", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["Earlier: conversions."])
      // The kept turn is the tool turn: its call and its result both stay verbatim.
      yield* seed([...turn(1), ...turn(2), ...toolTurn(3)])
      const report = yield* Memory.condense(SESSION, { maxTokens: 150, keepLastTurns: 1 }).pipe(
        Effect.provide(scripted.layer)
      )
      const after = yield* history
      assert.deepStrictEqual(
        after.map((message) => message.role),
        ["system", "user", "assistant", "tool", "assistant"]
      )
      assert.deepStrictEqual(plain(after.slice(1)), plain(toolTurn(3)))
      assert.strictEqual(report.condensed, 4)
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("under budget nothing happens and the model is not called", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([])
      yield* seed(conversation)
      const before = tokensOf(conversation)
      const report = yield* Memory.condense(SESSION, { maxTokens: before, keepLastTurns: 1 }).pipe(
        Effect.provide(scripted.layer)
      )
      assert.deepStrictEqual(report, {
        condensed: 0,
        kept: conversation.length,
        tokensBefore: before,
        tokensAfter: before,
        summaryTokens: 0,
        truncated: false
      })
      assert.strictEqual(yield* scripted.calls, 0)
      assert.deepStrictEqual(plain(yield* history), plain(conversation))
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("messages appended while the model writes the summary are kept after it", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([{ delay: "1 second", reply: "Summary of turns 1 to 4." }])
      yield* seed(conversation)
      const fiber = yield* Memory.condense(SESSION, {
        maxTokens: Math.floor(tokensOf(conversation) / 2),
        keepLastTurns: 2
      }).pipe(Effect.provide(scripted.layer), Effect.forkChild)
      yield* TestClock.adjust("10 millis") // the summary call is under way
      assert.strictEqual(yield* scripted.calls, 1)
      const late = turn(7)
      yield* seed(late)
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(fiber)
      const after = yield* history
      assert.strictEqual(report.condensed, 8)
      assert.isTrue(Memory.isSummary(after[0]!))
      assert.deepStrictEqual(plain(after.slice(1)), plain([...toolTurn(5), ...turn(6), ...late]))
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("the model's failure leaves the history unchanged", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([
        { fail: new AiError.UnknownError({ description: "model down" }) }
      ])
      yield* seed(conversation)
      const exit = yield* Memory.condense(SESSION, { maxTokens: 100, keepLastTurns: 1 }).pipe(
        Effect.provide(scripted.layer),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit))
      const failure = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      assert.isTrue(failure?._tag === "Fail" && AiError.isAiError(failure.error))
      assert.deepStrictEqual(plain(yield* history), plain(conversation))
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("a summary longer than the room left is cut to fit, and says so", () =>
    Effect.gen(function* () {
      const long = Array.from({ length: 200 }, (_, i) => `Fact ${i} about the roofs.`).join(" ")
      const scripted = yield* Scripted.make([long])
      yield* seed(conversation)
      const maxTokens = tokensOf([...turn(6)]) + 40
      const report = yield* Memory.condense(SESSION, { maxTokens, keepLastTurns: 1 }).pipe(
        Effect.provide(scripted.layer)
      )
      const after = yield* history
      assert.isTrue(report.truncated)
      assert.isAtMost(tokensOf(after), maxTokens)
      assert.strictEqual(report.tokensAfter, tokensOf(after))
      assert.include(Memory.textOf(after[0]!), "Fact 0 about the roofs.")
      assert.notInclude(Memory.textOf(after[0]!), "Fact 199")
      assert.deepStrictEqual(plain(after.slice(1)), plain(turn(6)))
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("a second condensation folds the earlier summary into the new one", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["First summary: roofs and snow.", "Second summary."])
      yield* seed(conversation)
      const maxTokens = Math.floor(tokensOf(conversation) / 2)
      yield* Memory.condense(SESSION, { maxTokens, keepLastTurns: 2 }).pipe(Effect.provide(scripted.layer))
      yield* seed([...turn(7), ...turn(8), ...turn(9)])
      const report = yield* Memory.condense(SESSION, { maxTokens, keepLastTurns: 2 }).pipe(
        Effect.provide(scripted.layer)
      )
      const after = yield* history
      const prompts = yield* scripted.prompts
      const shown = prompts[1]!.content.map(Memory.textOf).join("\n")
      assert.include(shown, "Earlier summary: First summary: roofs and snow.")
      assert.strictEqual(after.filter(Memory.isSummary).length, 1)
      assert.include(Memory.textOf(after[0]!), "Second summary.")
      assert.deepStrictEqual(plain(after.slice(1)), plain([...turn(8), ...turn(9)]))
      assert.isAtMost(report.tokensAfter, maxTokens)
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("bad options fail with InvalidOption naming the option, before any model call", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([])
      yield* seed(conversation)
      const run = (options: Memory.CondenseOptions) =>
        Memory.condense(SESSION, options).pipe(
          Effect.provide(scripted.layer),
          Effect.exit,
          Effect.map(optionOf)
        )
      assert.strictEqual(yield* run({ maxTokens: 0 }), "maxTokens")
      assert.strictEqual(yield* run({ maxTokens: 10.5 }), "maxTokens")
      assert.strictEqual(yield* run({ maxTokens: Number.NaN }), "maxTokens")
      assert.strictEqual(yield* run({ maxTokens: 100, keepLastTurns: -1 }), "keepLastTurns")
      assert.strictEqual(yield* run({ maxTokens: 100, keepLastTurns: 1.5 }), "keepLastTurns")
      assert.strictEqual(yield* run({ maxTokens: 100, summarize: "short" as never }), "summarize")
      assert.strictEqual(yield* scripted.calls, 0)
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("kept turns that leave no room for a summary fail naming maxTokens; nothing changes", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make([])
      yield* seed(conversation)
      const exit = yield* Memory.condense(SESSION, { maxTokens: 60, keepLastTurns: 2 }).pipe(
        Effect.provide(scripted.layer),
        Effect.exit
      )
      assert.strictEqual(optionOf(exit), "maxTokens")
      const message = Exit.isFailure(exit) ? String(exit.cause.reasons[0]) : ""
      assert.include(message, "keepLastTurns")
      // Fewer turns than keepLastTurns: nothing to condense.
      const few = yield* Memory.condense(SESSION, { maxTokens: 60, keepLastTurns: 10 }).pipe(
        Effect.provide(scripted.layer),
        Effect.exit
      )
      assert.strictEqual(optionOf(few), "maxTokens")
      assert.strictEqual(yield* scripted.calls, 0)
      assert.deepStrictEqual(plain(yield* history), plain(conversation))
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("an empty summary fails with an AiError and leaves the history as it was", () =>
    Effect.gen(function* () {
      const scripted = yield* Scripted.make(["   "])
      yield* seed(conversation)
      const exit = yield* Memory.condense(SESSION, { maxTokens: 200, keepLastTurns: 1 }).pipe(
        Effect.provide(scripted.layer),
        Effect.exit
      )
      const failure = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      assert.isTrue(
        failure?._tag === "Fail" &&
          AiError.isAiError(failure.error) &&
          failure.error.reason._tag === "InvalidOutputError"
      )
      assert.deepStrictEqual(plain(yield* history), plain(conversation))
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("a caller's summarize replaces the model, and is given the room left", () =>
    Effect.gen(function* () {
      yield* seed(conversation)
      const seen: Array<Memory.SummaryRequest> = []
      const report = yield* Memory.condense(SESSION, {
        maxTokens: 200,
        keepLastTurns: 1,
        summarize: (request) => {
          seen.push(request)
          return Effect.succeed(`${request.messages.length} messages about roofs.`)
        }
      })
      assert.strictEqual(seen.length, 1)
      assert.strictEqual(seen[0]!.messages.length, conversation.length - 2)
      // The room: what the budget leaves after the kept turn and the summary message's own cost.
      assert.isAbove(seen[0]!.maxTokens, 0)
      assert.isAtMost(seen[0]!.maxTokens + tokensOf(turn(6)), 200)
      assert.isAtMost(report.tokensAfter, 200)
      assert.include(Memory.textOf((yield* history)[0]!), "12 messages about roofs.")
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("the summary call is metered: a run's Budget is charged for it", () =>
    Effect.gen(function* () {
      const charges: Array<Charge> = []
      const scripted = yield* Scripted.make(["Roofs lose output under snow."])
      yield* seed(conversation)
      yield* Memory.condense(SESSION, { maxTokens: 200, keepLastTurns: 1 }).pipe(
        Effect.provide(Layer.merge(scripted.layer, Budget.layer({}, { onCharge: (c) => charges.push(c) })))
      )
      assert.strictEqual(charges.length, 1)
      assert.isAbove(charges[0]!.inputTokens, 0)
    }).pipe(Effect.provide(Memory.layerInMemory))
  )

  it.effect("offline, the Local model writes the summary from the conversation's own sentences", () =>
    Effect.gen(function* () {
      yield* seed(conversation)
      const maxTokens = 220
      const report = yield* Memory.condense(SESSION, { maxTokens, keepLastTurns: 1 }).pipe(
        Effect.provide(Local.layer())
      )
      const after = yield* history
      const summary = Memory.textOf(after[0]!)
      assert.isTrue(Memory.isSummary(after[0]!))
      assert.match(summary, /roof \d/)
      assert.isAtMost(tokensOf(after), maxTokens)
      assert.strictEqual(report.tokensAfter, tokensOf(after))
      assert.deepStrictEqual(plain(after.slice(1)), plain(turn(6)))
    }).pipe(Effect.provide(Memory.layerInMemory))
  )
})
