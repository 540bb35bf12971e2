/**
 * What a run leaves for observability: a span per tool call under the run's
 * span, with tool, outcome, attempts and arguments (redacted ones kept out),
 * the audit records, and no spans when spans are off.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Schema, Tracer } from "effect"
import { Tool, Toolkit } from "effect/ai"
import { Agent } from "../../src/agent/index.ts"
import { Scripted } from "../../src/model/index.ts"

const Login = Tool.make("login", {
  description: "Logs in",
  parameters: Schema.Struct({ user: Schema.String, password: Schema.String }),
  success: Schema.Boolean
})
const Echo = Tool.make("echo", {
  description: "Echoes",
  parameters: Schema.Struct({ text: Schema.String }),
  success: Schema.String
})
const tools = Toolkit.make(Login, Echo)
const handlers = tools.toLayer({
  login: () => Effect.succeed(true),
  echo: ({ text }) => Effect.succeed(text)
})

const collectSpans = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

describe("agent spans and audit", () => {
  it.effect(
    "each tool call is a span under the run's span, with its tool, outcome, attempts and arguments",
    () =>
      Effect.gen(function* () {
        const { spans, tracer } = collectSpans()
        const model = yield* Scripted.make([
          {
            toolCalls: [
              { name: "echo", params: { text: "hi" } },
              { name: "login", params: { user: "ann", password: "hunter2" } }
            ]
          },
          "done"
        ])
        const agent = Agent.make({
          name: "audited",
          instructions: "",
          toolkit: tools,
          tools: { login: { redactArguments: true } }
        })
        const result = yield* Agent.run(agent, "go", { spans: true }).pipe(
          Effect.provide(Layer.merge(model.layer, handlers)),
          Effect.provideService(Tracer.Tracer, tracer)
        )
        const root = spans.find((s) => s.name.includes("audited") && Option.isNone(s.parent))
        assert.strictEqual(root?.name, "agent audited", "an agent run's span is named for the agent")
        assert.strictEqual(root?.attributes.get("weft.agent.name"), "audited")
        const echo = spans.find((s) => s.name === "step audited/tool echo")
        const login = spans.find((s) => s.name === "step audited/tool login")
        assert.isDefined(echo)
        assert.isDefined(login)
        assert.strictEqual(Option.getOrUndefined(echo?.parent as Option.Option<Tracer.AnySpan>), root)
        assert.strictEqual(echo?.attributes.get("weft.tool.name"), "echo")
        assert.strictEqual(echo?.attributes.get("weft.tool.outcome"), "ok")
        assert.strictEqual(echo?.attributes.get("weft.tool.attempts"), 1)
        assert.strictEqual(echo?.attributes.get("weft.tool.arguments"), '{"text":"hi"}')
        assert.strictEqual(echo?.status._tag, "Ended")
        // A tool with redacted arguments keeps them out of spans, events and the audit record.
        assert.strictEqual(login?.attributes.get("weft.tool.arguments"), "<redacted>")
        const audit = result.toolCalls.find((r) => r.tool === "login")
        assert.strictEqual(audit?.arguments, "<redacted>")
        for (const span of spans)
          for (const value of span.attributes.values()) assert.notMatch(String(value), /hunter2/)
        // The model calls' steps are spans too.
        assert.isTrue(spans.some((s) => s.name === "step audited/turn 1"))
      })
  )

  it.effect("with spans off, no span is made for the run or its tools", () =>
    Effect.gen(function* () {
      const { spans, tracer } = collectSpans()
      const model = yield* Scripted.make([{ toolCalls: [{ name: "echo", params: { text: "hi" } }] }, "done"])
      const agent = Agent.make({ name: "quiet", instructions: "", toolkit: tools })
      yield* Agent.run(agent, "go").pipe(
        Effect.provide(Layer.merge(model.layer, handlers)),
        Effect.provideService(Tracer.Tracer, tracer)
      )
      assert.isFalse(spans.some((s) => s.name.startsWith("step ") || s.name.includes("quiet")))
    })
  )
})
