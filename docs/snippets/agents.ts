/**
 * An agent with two effect/ai tools, a per-tool policy and a typed answer:
 * the Scripted model asks for the tools, the agent runs them, and the answer
 * decodes with the output Schema. Then a tool that needs approval pauses the
 * run, and a second call resumes it.
 *
 *   npm run snippet -- agents
 */
import { Console, Effect, Layer, Schema } from "effect"
import { Tool, Toolkit } from "effect/ai"
import { Agent, Report, Scripted } from "weft-ai"

// Tools are plain effect/ai tools: a name, a description, Schemas for parameters and result.
const Convert = Tool.make("convert", {
  description: "Converts a length between km and mi",
  parameters: Schema.Struct({ value: Schema.Number, from: Schema.Literals(["km", "mi"]) }),
  success: Schema.Number
})
const SendEmail = Tool.make("send_email", {
  description: "Sends an email",
  parameters: Schema.Struct({ to: Schema.String, body: Schema.String }),
  success: Schema.String
})
const tools = Toolkit.make(Convert, SendEmail)

// Their handlers, as effect/ai provides them: a layer.
const handlers = tools.toLayer({
  convert: ({ value, from }) => Effect.succeed(from === "km" ? value * 0.621371 : value / 0.621371),
  send_email: ({ to }) => Effect.succeed(`sent to ${to}`)
})

const assistant = Agent.make({
  name: "assistant",
  instructions: 'You convert lengths. Answer as JSON: {"miles": number}.',
  toolkit: tools,
  tools: {
    convert: { timeout: "2 seconds", concurrency: 4 },
    send_email: { needsApproval: true }
  },
  output: Schema.Struct({ miles: Schema.Number }),
  maxSteps: 5
})

const program = Effect.gen(function* () {
  // 1. Tools run, the answer is typed.
  const result = yield* Agent.run(assistant, "How many miles is 42 km?", { budget: { modelCalls: 5 } })
  if (result._tag === "Completed") yield* Console.log(`miles: ${result.output.miles}`)
  for (const call of result.toolCalls)
    yield* Console.log(`tool ${call.tool} ${JSON.stringify(call.arguments)} → ${call.outcome}`)
  yield* Console.log(Report.timeline(result.trace))

  // 2. A call that needs approval pauses the run; resume continues it, here in the same process.
  const paused = yield* Agent.run(assistant, "Email bob the answer")
  if (paused._tag !== "Paused") return
  yield* Console.log(`waiting for approval ${paused.approval.id}: ${paused.approval.tool}`)
  const resumed = yield* Agent.resume(assistant, paused.approval.id, { approved: true })
  if (resumed._tag === "Completed") yield* Console.log(`after approval: ${JSON.stringify(resumed.output)}`)
})

const model = Scripted.layer([
  { toolCalls: [{ name: "convert", params: { value: 42, from: "km" } }] },
  '{"miles": 26.1}',
  { toolCalls: [{ name: "send_email", params: { to: "bob@example.com", body: "26.1 miles" } }] },
  '{"miles": 26.1}'
])

Effect.runPromise(program.pipe(Effect.provide(Layer.merge(model, handlers)))).catch((error) => {
  console.error(String(error))
  process.exitCode = 1
})
