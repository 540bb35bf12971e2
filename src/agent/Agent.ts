/**
 * The agent: the loop that decides what happens next. Each step it sends the
 * conversation (instructions, history, the request, every tool call and
 * result so far) to the model with the agent's tools, runs the tool calls the
 * model asked for through the ToolCaller (in parallel, within each tool's
 * limit), feeds the results back, and repeats — until the model answers with
 * text that passes the output Schema and validators (re-asked through the
 * repair loop when it does not), or `maxSteps`, a `stopWhen` condition, a
 * denial, a loop of identical calls or the budget ends the run. Nothing runs
 * after the end: the step that ends a run makes no further model or tool call.
 *
 * `run` has the shape of `Workflow.run`: a fresh in-memory budget per run
 * (or the caller's), a trace, and the usage report, with a typed result or a
 * typed error (`AgentError`, `BudgetError`, the model's `AiError`). Inside a
 * workflow run (its `Budget` and `RunTrace` in context) an agent run shares
 * them, so it is a step like any other. The model is called with
 * `disableToolCallResolution` and deferred tool-call validation, so effect/ai
 * hands back the calls (even to unknown tools, with undecoded arguments) and
 * the ToolCaller decides what each one gets.
 *
 * A tool that needs approval pauses the run: the result is `Paused` with an
 * approval id, and the run's state is stored Schema-encoded; `resume(agent,
 * id, decision)` continues it, from any request. A handoff is a tool the
 * model calls (`transfer_to_<agent>`): the conversation goes on with the
 * other agent's instructions and tools, its history and budget unchanged.
 * `stream` gives the run as typed events (see Events.ts for their order).
 */
import {
  Cause,
  Clock,
  Context,
  Effect,
  Exit,
  Predicate,
  Queue,
  Result as EffectResult,
  Schema,
  Stream
} from "effect"
import { type AiError, LanguageModel, Prompt, Tool, type Toolkit } from "effect/ai"
import { Budget, type BudgetLimits, type BudgetService, CurrentStep } from "../budget/Budget.ts"
import type { BudgetError } from "../budget/BudgetError.ts"
import type { PriceTable } from "../budget/Prices.ts"
import type { Charge, UsageReport } from "../budget/Usage.ts"
import { checkInteger, InvalidOption, show } from "../core/InvalidOption.ts"
import type { MemoryError } from "../memory/Memory.ts"
import { formatPassages } from "../model/PassageFormat.ts"
import type { RetrievalError } from "../retrieval/RetrievalError.ts"
import * as Retriever from "../retrieval/Retriever.ts"
import * as Validator from "../validation/Validator.ts"
import { describeError, RunTrace, type RunTraceService, type StepEvent } from "../workflow/Trace.ts"
import { type BudgetFactory, budgetFirst, runUnder } from "../workflow/Workflow.ts"
import {
  AgentError,
  agentError,
  ApprovalUsed,
  Denied,
  InvalidFinal,
  MaxStepsReached,
  RepeatedCall,
  UnknownApproval
} from "./AgentError.ts"
import type { AgentEvent, EndReason, PendingApproval, ToolCallRecord, ToolOutcome } from "./Events.ts"
import { PendingApproval as PendingApprovalSchema } from "./Events.ts"
import * as PausedStore from "./internal/paused.ts"
import {
  all,
  answerWithout,
  type Begun,
  begin,
  charge,
  chargeAll,
  type CallContext,
  checkPolicy,
  execute,
  type Finished,
  feedback,
  type PreparedTool,
  prepare,
  type ToolCallRequest,
  type ToolPolicy,
  verdictOf
} from "./ToolCaller.ts"

// ---- the agent ----------------------------------------------------------------

/** What `stopWhen` is told after each step that ran tools. */
export interface StepInfo {
  readonly agent: string
  /** The step (model call) that just finished, from 1. */
  readonly step: number
  /** What the model said alongside its tool calls. */
  readonly text: string
  /** The step's tool calls, finished. */
  readonly toolCalls: ReadonlyArray<ToolCallRecord>
}

type AnyTools = Record<string, Tool.Any>

/** Per-tool policies, keyed by tool name. */
export type ToolPolicies<Tools extends AnyTools> = {
  readonly [Name in keyof Tools]?: ToolPolicy<Tool.Parameters<Tools[Name]>>
}

export interface Options<
  Tools extends AnyTools,
  OS extends Schema.Codec<any, any, never, never> | undefined
> {
  readonly name: string
  /** The system message: who the agent is and how it works. */
  readonly instructions: string
  /** The tools the model may call; their handlers come from the toolkit's layer (`toolkit.toLayer`). */
  readonly toolkit?: Toolkit.Toolkit<Tools> | undefined
  /** How each tool is run: timeout, retry, concurrency, permission, approval. */
  readonly tools?: ToolPolicies<Tools> | undefined
  /** The final answer's Schema: the model answers with JSON that decodes with it. Default: the text. */
  readonly output?: OS
  /** Checks the final answer must also pass (`Validator.maxLength(500)`, …). */
  readonly validators?: ReadonlyArray<Validator.Check<unknown>> | undefined
  /** How many times a rejected final answer is sent back to be fixed (default 2). */
  readonly maxRepairs?: number | undefined
  /** The most model calls a run makes (default 10). */
  readonly maxSteps?: number | undefined
  /** How many identical calls (same tool, same arguments) end the run as a loop (default 3). */
  readonly maxRepeats?: number | undefined
  /** Ends the run after a step when it returns true (the result is `Stopped`). */
  readonly stopWhen?: ((step: StepInfo) => boolean) | undefined
  /** A call to a denied tool: tell the model and go on (default), or end the run with `Denied`. */
  readonly onDenied?: "tell-model" | "end" | undefined
  /** Agents this one may hand the conversation to; each becomes a tool `transfer_to_<name>`. */
  readonly handoffs?: ReadonlyArray<Agent<any, any>> | undefined
  /** What other agents' models read about this one when it is a handoff target. */
  readonly description?: string | undefined
  /**
   * Retrieved context: at the start of each run the `Retriever` in context is
   * asked for passages about the request (these options: `topK`, `filter`…),
   * and they are added to the instructions, numbered with their sources
   * (`PassageFormat`), so the model can cite them.
   */
  readonly retrieve?: Retriever.RetrieveOptions | undefined
}

interface Definition {
  readonly name: string
  readonly instructions: string
  readonly description: string | undefined
  readonly system: Prompt.SystemMessage
  /** Every tool offered to the model, handoff tools included. */
  readonly tools: Readonly<Record<string, Tool.Any>>
  readonly toolNames: ReadonlyArray<string>
  readonly prepared: ReadonlyMap<string, PreparedTool>
  readonly handoffs: ReadonlyMap<string, Agent<any, any>>
  /** What `generateText` is given as its toolkit: the tools, never asked to handle a call. */
  readonly toolkit: Toolkit.WithHandler<any> | undefined
  readonly check: Validator.Check<unknown>
  readonly encodeOutput: (value: unknown) => unknown
  readonly maxRepairs: number
  readonly maxSteps: number
  readonly maxRepeats: number
  readonly stopWhen: ((step: StepInfo) => boolean) | undefined
  readonly onDenied: "tell-model" | "end"
  readonly retrieve: Retriever.RetrieveOptions | undefined
  /** The first option Weft cannot accept; runs fail with it. */
  readonly invalid: InvalidOption | undefined
}

/**
 * An agent. `O` is its final output (the output Schema's type, or the answer
 * text), `R` the services its tools' handlers need (the toolkit's layer).
 */
export interface Agent<O, R> {
  readonly name: string
  readonly instructions: string
  readonly "~definition": Definition
  /** Type-level only. */
  readonly "~output"?: O
  /** Type-level only. */
  readonly "~services"?: R
}

export type Output<A> = A extends Agent<infer O, any> ? O : never
export type Services<A> = A extends Agent<any, infer R> ? R : never

type HandoffsOf<H> = H extends ReadonlyArray<infer A> ? A : never

const handoffToolName = (name: string): string => `transfer_to_${name.replace(/[^A-Za-z0-9_-]/g, "_")}`

const HandoffParameters = Schema.Struct({
  /** Why the conversation is handed over (the other agent reads it in the history). */
  reason: Schema.optional(Schema.String)
})

// The model is called with tool-call resolution off, so effect/ai never asks the toolkit to handle a call.
const noHandle = () => Effect.die("the agent resolves its tool calls itself")

/** Defines an agent. Options are checked here; a run of an agent with a bad option fails with `InvalidOption`. */
export const make = <
  Tools extends AnyTools = {},
  OS extends Schema.Codec<any, any, never, never> | undefined = undefined,
  const H extends ReadonlyArray<Agent<any, any>> = [],
  RO extends Retriever.RetrieveOptions | undefined = undefined
>(
  options: Options<Tools, OS> & { readonly handoffs?: H | undefined; readonly retrieve?: RO }
): Agent<
  (OS extends Schema.Codec<any, any, never, never> ? OS["Type"] : string) | Output<HandoffsOf<H>>,
  | Tool.HandlersFor<Tools>
  | Tool.HandlerServices<Tools[keyof Tools]>
  | Services<HandoffsOf<H>>
  | (RO extends Retriever.RetrieveOptions ? Retriever.Retriever : never)
> => {
  const own = (options.toolkit?.tools ?? {}) as AnyTools
  const tools: Record<string, Tool.Any> = { ...own }
  const prepared = new Map<string, PreparedTool>()
  let invalid: InvalidOption | undefined =
    checkOption("maxSteps", options.maxSteps, 1) ??
    checkOption("maxRepairs", options.maxRepairs, 0) ??
    checkOption("maxRepeats", options.maxRepeats, 1)
  if (options.onDenied !== undefined && options.onDenied !== "tell-model" && options.onDenied !== "end")
    invalid ??= new InvalidOption({
      option: "onDenied",
      value: show(options.onDenied),
      expected: '"tell-model" or "end"'
    })
  const policies = (options.tools ?? {}) as Record<string, ToolPolicy | undefined>
  for (const name of Object.keys(policies)) {
    if (!Object.hasOwn(own, name))
      invalid ??= new InvalidOption({
        option: `tools.${name}`,
        value: name,
        expected: `a tool of the toolkit (${Object.keys(own).join(", ") || "none"})`
      })
    else invalid ??= checkPolicy(name, policies[name] ?? {})
  }
  for (const [name, tool] of Object.entries(own)) prepared.set(name, prepare(tool, policies[name]))
  const handoffs = new Map<string, Agent<any, any>>()
  for (const target of options.handoffs ?? []) {
    const toolName = handoffToolName(target.name)
    const tool = Tool.make(toolName, {
      description:
        target["~definition"].description ??
        `Hand the conversation to the ${target.name} agent, which will answer from here on.`,
      parameters: HandoffParameters
    })
    tools[toolName] = tool
    handoffs.set(toolName, target)
    prepared.set(toolName, prepare(tool, undefined))
  }
  const toolNames = Object.keys(tools)
  const schema = options.output as Schema.Codec<any, any, never, never> | undefined
  const base: Validator.Check<unknown> =
    schema === undefined ? (text) => EffectResult.succeed(text) : Validator.json(schema)
  const validators = options.validators ?? []
  const check = validators.length === 0 ? base : Validator.all(base, ...validators)
  const encode = schema === undefined ? undefined : Schema.encodeUnknownResult(schema)
  const definition: Definition = {
    name: options.name,
    instructions: options.instructions,
    description: options.description,
    system: Prompt.makeMessage("system", { content: options.instructions }),
    tools,
    toolNames,
    prepared,
    handoffs,
    toolkit:
      toolNames.length === 0
        ? undefined
        : ({ tools, handle: noHandle } as unknown as Toolkit.WithHandler<any>),
    check,
    encodeOutput: (value) => {
      if (encode === undefined) return value
      const encoded = encode(value)
      return EffectResult.isSuccess(encoded) ? encoded.success : undefined
    },
    maxRepairs: options.maxRepairs ?? 2,
    maxSteps: options.maxSteps ?? 10,
    maxRepeats: options.maxRepeats ?? 3,
    stopWhen: options.stopWhen,
    onDenied: options.onDenied ?? "tell-model",
    retrieve: options.retrieve,
    invalid
  }
  return { name: options.name, instructions: options.instructions, "~definition": definition }
}

const checkOption = (option: string, value: number | undefined, min: number): InvalidOption | undefined =>
  value === undefined ? undefined : checkInteger(option, value, min)

// ---- results ------------------------------------------------------------------

interface Common {
  /** Model calls made in this request. */
  readonly steps: number
  /** The agent the run ended in (after handoffs). */
  readonly agent: string
  /** Every tool call of this request, in the order they finished. */
  readonly toolCalls: ReadonlyArray<ToolCallRecord>
  /** The whole conversation: history, request, tool calls and results, the answer. */
  readonly messages: ReadonlyArray<Prompt.Message>
  readonly trace: ReadonlyArray<StepEvent>
  readonly usage: UsageReport
}

/** The model answered and the answer passed its checks. */
export interface Completed<O> extends Common {
  readonly _tag: "Completed"
  readonly output: O
  readonly text: string
}

/** `stopWhen` ended the run after a step. */
export interface Stopped extends Common {
  readonly _tag: "Stopped"
  /** What the model said in the last step. */
  readonly text: string
}

/** A tool call waits for a person: `resume(agent, approval.id, decision)` continues. */
export interface Paused extends Common {
  readonly _tag: "Paused"
  readonly approval: PendingApproval
}

export type Result<O> = Completed<O> | Stopped | Paused

/** A person's decision on a pending approval. */
export interface Decision {
  readonly approved: boolean
  /** Told to the model when the call is refused. */
  readonly reason?: string | undefined
}

/** The errors a run can end with. */
export type RunError = AgentError | BudgetError | AiError.AiError | MemoryError | RetrievalError

export interface RunOptions {
  /** Limits for this run (a fresh in-memory budget), or a factory that makes the run's budget. */
  readonly budget?: BudgetLimits | BudgetFactory | undefined
  readonly prices?: PriceTable | undefined
  /** Told of each trace event as it happens. */
  readonly onEvent?: ((event: StepEvent) => void) | undefined
  /** Record the run as effect `Tracer` spans (default: `Trace.Spans`). */
  readonly spans?: boolean | undefined
  /** Messages that come before the request (an earlier conversation). */
  readonly history?: ReadonlyArray<Prompt.Message> | undefined
  /** Tools this run may not use, whatever the agent's policy (a user's permissions, say). */
  readonly deny?: ReadonlyArray<string> | undefined
  /**
   * A `Memory` session: its history comes before the request, and the run's
   * messages (the request, tool calls and results, the answer) are appended to
   * it when the run ends with an answer (or is stopped). Needs `Memory` in context.
   */
  readonly sessionId?: string | undefined
}

// ---- the loop ----------------------------------------------------------------

/** One run's mutable state: what a pause stores and a resume restores. */
interface State {
  agent: Agent<any, any>
  readonly messages: Array<Prompt.Message>
  step: number
  readonly repeats: Map<string, number>
  readonly attempts: Array<Validator.Attempt>
  /** The Memory session the run's messages go to, from `saved` on. */
  readonly sessionId: string | undefined
  readonly saved: number
}

/** What the loop needs of the run around it. */
interface Env {
  readonly root: Agent<any, any>
  readonly budget: BudgetService
  readonly trace: RunTraceService
  readonly context: Context.Context<never>
  readonly model: LanguageModel.LanguageModel
  readonly clock: Clock.Clock
  readonly denied: ReadonlySet<string> | undefined
  readonly records: Array<ToolCallRecord>
  readonly emit: ((event: AgentEvent) => void) | undefined
  readonly streaming: boolean
  /** The step a usage event belongs to. */
  current: { agent: string; step: number }
  /** What the ToolCaller sees of the run. */
  readonly calls: CallContext
}

type Ending =
  | { readonly _tag: "Completed"; readonly output: unknown; readonly text: string }
  | { readonly _tag: "Stopped"; readonly text: string }
  | { readonly _tag: "Paused"; readonly approval: PendingApproval }

/** The ToolCaller's view of the run, made once per run and pointed at the current step. */
const callContext = (env: Env, state: State): CallContext => {
  const ctx = env.calls
  ctx.agent = state.agent.name
  ctx.step = state.step
  return ctx
}

interface Reply {
  readonly text: string
  readonly calls: ReadonlyArray<ToolCallRequest>
}

/** One model call: whole, or streamed with its text deltas told as events. */
const callModel = (env: Env, state: State, definition: Definition): Effect.Effect<Reply, AiError.AiError> => {
  // Without tools there is nothing to resolve or validate (and effect/ai would build its
  // deferred-validation response Schema afresh for every call).
  const options: any =
    definition.toolkit === undefined
      ? { prompt: Prompt.fromMessages(state.messages.slice()) }
      : {
          prompt: Prompt.fromMessages(state.messages.slice()),
          toolkit: definition.toolkit,
          disableToolCallResolution: true,
          toolCallValidation: "deferred"
        }
  if (!env.streaming) {
    return Effect.map(env.model.generateText(options), (response) => {
      let text = ""
      const calls: Array<ToolCallRequest> = []
      for (const part of response.content as ReadonlyArray<any>) {
        if (part.type === "text") text += part.text
        else if (part.type === "tool-call" && part.providerExecuted !== true)
          calls.push({ id: part.id, name: part.name, params: part.params })
      }
      return { text, calls }
    })
  }
  return Effect.suspend(() => {
    let text = ""
    const calls: Array<ToolCallRequest> = []
    const agent = state.agent.name
    const step = state.step
    return Effect.as(
      Stream.runForEach(env.model.streamText(options) as Stream.Stream<any, AiError.AiError>, (part) =>
        Effect.sync(() => {
          if (part.type === "text-delta") {
            text += part.delta
            env.emit?.({ type: "text-delta", agent, step, delta: part.delta })
          } else if (part.type === "tool-call" && part.providerExecuted !== true)
            calls.push({ id: part.id, name: part.name, params: part.params })
        })
      ),
      undefined
    ).pipe(Effect.map(() => ({ text, calls })))
  })
}

const assistantMessage = (reply: Reply): Prompt.AssistantMessage => {
  const content: Array<Prompt.AssistantMessagePart> = []
  if (reply.text.length > 0) content.push(Prompt.makePart("text", { text: reply.text }))
  for (const call of reply.calls)
    content.push(
      Prompt.makePart("tool-call", {
        id: call.id,
        name: call.name,
        params: call.params,
        providerExecuted: false
      })
    )
  return Prompt.makeMessage("assistant", { content })
}

const toolMessage = (parts: ReadonlyArray<Prompt.ToolResultPart>): Prompt.ToolMessage =>
  Prompt.makeMessage("tool", { content: parts as Array<Prompt.ToolResultPart> })

const userMessage = (text: string): Prompt.UserMessage =>
  Prompt.makeMessage("user", { content: [Prompt.makePart("text", { text })] })

const fail = (agent: string, reason: AgentError["reason"]) => Effect.fail(agentError(agent, reason))

/** The step name charges and the trace carry for one model call. */
const turnName = (agent: string, step: number): string => `${agent}/turn ${step}`

/**
 * One model call and what follows it. Returns the run's ending, or
 * `undefined` to go on with the next step.
 */
const turn = (env: Env, state: State): Effect.Effect<Ending | undefined, RunError> => {
  const definition = state.agent["~definition"]
  const agent = state.agent.name
  if (state.step >= definition.maxSteps) {
    return fail(agent, new MaxStepsReached({ maxSteps: definition.maxSteps, pendingTools: [] }))
  }
  const step = ++state.step
  env.current.agent = agent
  env.current.step = step
  const name = turnName(agent, step)
  const trace = env.trace
  const startedAt = env.clock.currentTimeMillisUnsafe()
  const span = trace.record({ type: "start", step: name, at: startedAt - trace.startedAt })
  env.emit?.({ type: "step-started", agent, step })
  const call = Effect.provideService(callModel(env, state, definition), CurrentStep, name)
  return Effect.matchCauseEffect(call, {
    onFailure: (cause) => {
      const now = env.clock.currentTimeMillisUnsafe()
      const error = Cause.findErrorOption(cause)
      trace.record(
        {
          type: "failure",
          step: name,
          at: now - trace.startedAt,
          durationMs: now - startedAt,
          attempts: 1,
          error:
            error._tag === "Some"
              ? describeError(error.value)
              : Cause.hasInterrupts(cause)
                ? "interrupted"
                : "defect",
          interrupted: Cause.hasInterruptsOnly(cause)
        },
        span
      )
      return Effect.failCause(cause)
    },
    onSuccess: (reply) => {
      const now = env.clock.currentTimeMillisUnsafe()
      trace.record(
        { type: "end", step: name, at: now - trace.startedAt, durationMs: now - startedAt, attempts: 1 },
        span
      )
      state.messages.push(assistantMessage(reply))
      return reply.calls.length === 0
        ? answer(env, state, definition, reply.text)
        : act(env, state, definition, reply)
    }
  })
}

/** The model answered with text: check it, and end or ask for a repair. */
const answer = (
  env: Env,
  state: State,
  definition: Definition,
  text: string
): Effect.Effect<Ending | undefined, RunError> => {
  const rules = Context.get(env.context, Validator.Validator).rules
  const checked =
    rules.length === 0 ? definition.check(text) : Validator.all(definition.check, ...rules)(text)
  env.emit?.({ type: "step-finished", agent: state.agent.name, step: state.step, text, toolCalls: 0 })
  if (EffectResult.isSuccess(checked))
    return Effect.succeed({ _tag: "Completed", output: checked.success, text })
  state.attempts.push({ attempt: state.attempts.length + 1, text, issues: checked.failure })
  if (state.attempts.length > definition.maxRepairs)
    return fail(state.agent.name, new InvalidFinal({ attempts: state.attempts.slice() }))
  state.messages.push(userMessage(Validator.repairRequest(checked.failure)))
  return Effect.succeed(undefined)
}

const callKey = (call: ToolCallRequest): string => {
  let params: string
  try {
    params = JSON.stringify(call.params) ?? "undefined"
  } catch {
    params = String(call.params)
  }
  return `${call.name}\u0000${params}`
}

/** Per call of a step: its verdict, and its result once there is one. */
interface Pending {
  readonly calls: ReadonlyArray<ToolCallRequest>
  readonly results: Array<Prompt.ToolResultPart | undefined>
  /** Indexes of calls waiting for a person, in call order. */
  readonly waiting: Array<number>
  /** The handoff tool name the step chose, if any. */
  handoff: string | undefined
  readonly text: string
}

/** The model asked for tools: run them and decide whether the run goes on. */
const act = (
  env: Env,
  state: State,
  definition: Definition,
  reply: Reply
): Effect.Effect<Ending | undefined, RunError> => {
  const agent = state.agent.name
  if (state.step >= definition.maxSteps) {
    // Its results would never be read: the run ends without running them.
    return fail(
      agent,
      new MaxStepsReached({ maxSteps: definition.maxSteps, pendingTools: reply.calls.map((c) => c.name) })
    )
  }
  for (const call of reply.calls) {
    const key = callKey(call)
    const times = (state.repeats.get(key) ?? 0) + 1
    state.repeats.set(key, times)
    if (times >= definition.maxRepeats) {
      return fail(
        agent,
        new RepeatedCall({ tool: call.name, arguments: key.slice(call.name.length + 1), times })
      )
    }
  }
  const ctx = callContext(env, state)
  const pending: Pending = {
    calls: reply.calls,
    results: new Array(reply.calls.length),
    waiting: [],
    handoff: undefined,
    text: reply.text
  }
  // Decide every call first (from the policy alone), then count them all against the
  // budget, then open them all (in the model's order), then run them concurrently.
  const planned: Array<Planned> = []
  for (let i = 0; i < reply.calls.length; i++) {
    const call = reply.calls[i] as ToolCallRequest
    const prepared = definition.prepared.get(call.name)
    const verdict = verdictOf(prepared, call, env.denied)
    // A call answered without running its handler.
    const answer = (outcome: ToolOutcome, isFailure: boolean, result: unknown, error: string | undefined) =>
      planned.push({
        index: i,
        call,
        prepared,
        run: (b) => answerWithout(ctx, call, b, outcome, isFailure, result, error)
      })
    switch (verdict._tag) {
      case "Unknown": {
        const message = feedback.unknown(call, definition.toolNames)
        answer("unknown-tool", true, message, "unknown tool")
        break
      }
      case "InvalidArguments": {
        const message = feedback.invalidArguments(call, verdict.issues)
        const error = `invalid arguments: ${verdict.issues}`
        answer("invalid-arguments", true, message, error)
        break
      }
      case "Denied": {
        const denied = (b: Begun) =>
          answerWithout(ctx, call, b, "denied", true, feedback.denied(call), "denied")
        if (definition.onDenied === "end") {
          // The denial ends the run: it is recorded, and no other call of the step runs.
          return Effect.flatMap(charge(ctx, call), () => {
            denied(begin(ctx, prepared, call))
            return fail(agent, new Denied({ tool: call.name }))
          })
        }
        planned.push({ index: i, call, prepared, run: denied })
        break
      }
      case "NeedsApproval":
        pending.waiting.push(i)
        break
      case "Run": {
        const target = definition.handoffs.get(call.name)
        if (target === undefined) {
          const params = verdict.params
          planned.push({
            index: i,
            call,
            prepared,
            run: (b) => execute(ctx, prepared as PreparedTool, call, params, b)
          })
        } else if (pending.handoff === undefined) {
          pending.handoff = call.name
          const message = `Transferred to ${target.name}.`
          answer("handoff", false, message, undefined)
        } else {
          const message = "Only one handoff per step; this one was not made."
          answer("failed", true, message, "a second handoff in one step")
        }
        break
      }
    }
  }
  if (planned.length === 0) return afterCalls(env, state, pending)
  const charged = chargeAll(
    ctx,
    planned.length === reply.calls.length ? reply.calls : planned.map((p) => p.call)
  )
  return Effect.flatMap(charged, () => {
    const work: Array<Effect.Effect<Finished>> = []
    for (const p of planned) {
      const done = p.run(begin(ctx, p.prepared, p.call))
      work.push(Effect.isEffect(done) ? done : Effect.succeed(done))
    }
    return Effect.flatMap(all(work), (finished) => {
      for (let j = 0; j < finished.length; j++)
        pending.results[(planned[j] as Planned).index] = (finished[j] as Finished).part
      return afterCalls(env, state, pending)
    })
  })
}

/** A call of the step that will run (or be answered) now. */
interface Planned {
  readonly index: number
  readonly call: ToolCallRequest
  readonly prepared: PreparedTool | undefined
  readonly run: (begun: Begun) => Effect.Effect<Finished> | Finished
}

/** The step's calls that could run have run: pause for the next approval, or finish the step. */
const afterCalls = (
  env: Env,
  state: State,
  pending: Pending
): Effect.Effect<Ending | undefined, RunError> => {
  if (pending.waiting.length > 0) return pause(env, state, pending)
  const definition = state.agent["~definition"]
  state.messages.push(toolMessage(pending.results as Array<Prompt.ToolResultPart>))
  const agent = state.agent.name
  const step = state.step
  if (pending.handoff !== undefined) {
    const target = definition.handoffs.get(pending.handoff) as Agent<any, any>
    state.agent = target
    state.messages[0] = target["~definition"].system
    state.attempts.length = 0
    env.emit?.({ type: "handoff", from: agent, to: target.name, step })
  }
  env.emit?.({ type: "step-finished", agent, step, text: pending.text, toolCalls: pending.calls.length })
  if (definition.stopWhen !== undefined) {
    const toolCalls = env.records.filter((record) => record.step === step && record.agent === agent)
    if (definition.stopWhen({ agent, step, text: pending.text, toolCalls }))
      return Effect.succeed({ _tag: "Stopped", text: pending.text })
  }
  return Effect.succeed(undefined)
}

/** Steps until the run ends. Lazy: a step reads the state as it is when the step starts. */
const loop = (env: Env, state: State): Effect.Effect<Ending, RunError> =>
  Effect.suspend(() =>
    Effect.flatMap(turn(env, state), (ending) =>
      ending === undefined ? loop(env, state) : Effect.succeed(ending)
    )
  )

// ---- pausing and resuming ------------------------------------------------------------

const ToolCallSchema = Schema.Struct({ id: Schema.String, name: Schema.String, params: Schema.Unknown })

/** A paused run, as stored: everything the loop needs to go on, as data. */
const PausedRun = Schema.Struct({
  approval: PendingApprovalSchema,
  /** The agent the run began with (the one `resume` must be given). */
  root: Schema.String,
  /** The agent whose call waits (after handoffs). */
  agent: Schema.String,
  step: Schema.Number,
  messages: Schema.Array(Prompt.Message),
  calls: Schema.Array(ToolCallSchema),
  results: Schema.Array(Schema.NullOr(Prompt.ToolResultPart)),
  waiting: Schema.Array(Schema.Number),
  handoff: Schema.NullOr(Schema.String),
  text: Schema.String,
  repeats: Schema.Array(Schema.Tuple([Schema.String, Schema.Number])),
  attempts: Schema.Array(Validator.Attempt),
  denied: Schema.Array(Schema.String),
  sessionId: Schema.NullOr(Schema.String),
  saved: Schema.Number
})
type PausedRun = typeof PausedRun.Type

const pause = (env: Env, state: State, pending: Pending): Effect.Effect<Ending, RunError> => {
  const index = pending.waiting[0] as number
  const call = pending.calls[index] as ToolCallRequest
  const definition = state.agent["~definition"]
  const redacted = definition.prepared.get(call.name)?.policy.redactArguments === true
  const approval: PendingApproval = {
    id: crypto.randomUUID(),
    agent: state.agent.name,
    tool: call.name,
    callId: call.id,
    arguments: redacted ? "<redacted>" : call.params
  }
  const stored: PausedRun = {
    approval,
    root: env.root.name,
    agent: state.agent.name,
    step: state.step,
    messages: state.messages.slice(),
    calls: pending.calls.slice(),
    results: Array.from(pending.results, (part) => part ?? null),
    waiting: pending.waiting.slice(),
    handoff: pending.handoff ?? null,
    text: pending.text,
    repeats: [...state.repeats.entries()],
    attempts: state.attempts.slice(),
    denied: env.denied === undefined ? [] : [...env.denied],
    sessionId: state.sessionId ?? null,
    saved: state.saved
  }
  return Effect.map(
    PausedStore.storeOf(env.context).put(approval.id, PausedRun, stored, state.sessionId),
    () => {
      env.emit?.({ type: "approval-requested", approval })
      return { _tag: "Paused", approval } as const
    }
  )
}

/** Finds the agent named `name` among `root` and the agents it can hand off to. */
const findAgent = (root: Agent<any, any>, name: string): Agent<any, any> | undefined => {
  const seen = new Set<Agent<any, any>>()
  const visit = (agent: Agent<any, any>): Agent<any, any> | undefined => {
    if (seen.has(agent)) return undefined
    seen.add(agent)
    if (agent.name === name) return agent
    for (const target of agent["~definition"].handoffs.values()) {
      const found = visit(target)
      if (found !== undefined) return found
    }
    return undefined
  }
  return visit(root)
}

/** Continues a paused step with the decision on its first waiting call. */
const decide = (
  env: Env,
  state: State,
  pending: Pending,
  decision: Decision
): Effect.Effect<Ending | undefined, RunError> => {
  const index = pending.waiting.shift() as number
  const call = pending.calls[index] as ToolCallRequest
  const definition = state.agent["~definition"]
  const prepared = definition.prepared.get(call.name) as PreparedTool
  const ctx = callContext(env, state)
  // The decision is for this call as it was asked: its arguments are decoded again, and a
  // permission withdrawn since the pause still holds.
  const verdict = verdictOf(prepared, call, env.denied)
  return Effect.flatMap(charge(ctx, call), () => {
    const begun = begin(ctx, prepared, call)
    const done: Effect.Effect<Finished> | Finished =
      verdict._tag === "Denied"
        ? answerWithout(ctx, call, begun, "denied", true, feedback.denied(call), "denied")
        : verdict._tag === "Unknown" || verdict._tag === "InvalidArguments"
          ? answerWithout(
              ctx,
              call,
              begun,
              verdict._tag === "Unknown" ? "unknown-tool" : "invalid-arguments",
              true,
              verdict._tag === "Unknown"
                ? feedback.unknown(call, definition.toolNames)
                : feedback.invalidArguments(call, verdict.issues),
              verdict._tag === "Unknown" ? "unknown tool" : `invalid arguments: ${verdict.issues}`
            )
          : !decision.approved
            ? answerWithout(
                ctx,
                call,
                begun,
                "approval-denied",
                true,
                feedback.approvalDenied(call, decision.reason),
                `approval denied${decision.reason === undefined ? "" : `: ${decision.reason}`}`
              )
            : execute(ctx, prepared, call, verdict.params, begun)
    return Effect.flatMap(Effect.isEffect(done) ? done : Effect.succeed(done), (finished) => {
      pending.results[index] = finished.part
      return afterCalls(env, state, pending)
    })
  })
}

// ---- running -----------------------------------------------------------------

interface Setup {
  readonly root: Agent<any, any>
  readonly options: RunOptions | undefined
  readonly emit: ((event: AgentEvent) => void) | undefined
  readonly streaming: boolean
}

/**
 * Runs `body` under the run's budget and trace — the caller's when this run
 * is a step of a workflow run, else fresh ones made the way `Workflow.run`
 * makes them — and hands how it ended to `finish`.
 */
const runWith = <A>(
  setup: Setup,
  denied: ReadonlySet<string> | undefined,
  body: (env: Env) => Effect.Effect<{ ending: Ending; state: State }, RunError>,
  finish: (
    exit: Exit.Exit<{ ending: Ending; state: State }, RunError>,
    env: Env | undefined,
    trace: RunTraceService,
    usage: UsageReport
  ) => Effect.Effect<A, RunError>
): Effect.Effect<A, RunError, any> =>
  Effect.withFiber((fiber) => {
    const invalid = setup.root["~definition"].invalid
    if (invalid !== undefined) return Effect.fail(agentError(setup.root.name, invalid))
    const clock = fiber.getRef(Clock.Clock)
    const options = setup.options
    const current = { agent: setup.root.name, step: 0 }
    let made: Env | undefined
    const envOf = (context: Context.Context<never>, budget: BudgetService, trace: RunTraceService): Env => {
      const records: Array<ToolCallRecord> = []
      made = {
        root: setup.root,
        budget,
        trace,
        context,
        model: Context.get(
          context as Context.Context<LanguageModel.LanguageModel>,
          LanguageModel.LanguageModel
        ),
        clock,
        denied,
        records,
        emit: setup.emit,
        streaming: setup.streaming,
        current,
        calls: {
          agent: setup.root.name,
          step: 0,
          budget,
          trace,
          context,
          denied,
          clock,
          merged: new Map(),
          records,
          emit: setup.emit
        }
      }
      return made
    }
    const onUsage = (charge: Charge) =>
      setup.emit?.({
        type: "usage",
        agent: current.agent,
        step: current.step,
        model: charge.model,
        inputTokens: charge.inputTokens,
        outputTokens: charge.outputTokens,
        costUsd: charge.costUsd
      })

    // Inside a workflow run: its budget and trace are this run's.
    const outerTrace = Context.getOrUndefined(fiber.context, RunTrace)
    const outerBudget = Context.getOrUndefined(fiber.context, Budget)
    if (options?.budget === undefined && outerTrace !== undefined && outerBudget !== undefined) {
      const env = envOf(fiber.context as Context.Context<never>, outerBudget, outerTrace)
      return Effect.matchCauseEffect(body(env), {
        onSuccess: (value) =>
          Effect.flatMap(outerBudget.report, (usage) => finish(Exit.succeed(value), env, outerTrace, usage)),
        onFailure: (cause) =>
          Effect.flatMap(outerBudget.report, (usage) =>
            finish(budgetFirst(Exit.failCause(cause)), env, outerTrace, usage)
          )
      })
    }

    return runUnder(
      clock,
      setup.root.name,
      "agent",
      options,
      (budget, trace) =>
        Effect.withFiber((inner) => body(envOf(inner.context as Context.Context<never>, budget, trace))),
      (exit, trace, usage) => finish(exit, made, trace, usage),
      onUsage
    )
  })

/** The end event for how a run ended. */
const endEvent = (
  exit: Exit.Exit<{ ending: Ending; state: State }, RunError>,
  env: Env | undefined,
  fallbackAgent: string
): AgentEvent => {
  const agent = env?.current.agent ?? fallbackAgent
  const steps = env?.current.step ?? 0
  if (Exit.isSuccess(exit)) {
    const { ending, state } = exit.value
    switch (ending._tag) {
      case "Completed":
        return {
          type: "end",
          reason: "final",
          agent,
          steps,
          text: ending.text,
          output: state.agent["~definition"].encodeOutput(ending.output)
        }
      case "Stopped":
        return { type: "end", reason: "stopped", agent, steps, text: ending.text }
      case "Paused":
        return { type: "end", reason: "paused", agent, steps, approval: ending.approval }
    }
  }
  const error = Cause.findErrorOption(exit.cause)
  const value = error._tag === "Some" ? error.value : undefined
  let reason: EndReason = "failed"
  if (Predicate.isTagged(value, "BudgetError")) reason = "budget"
  else if (value instanceof AgentError) {
    const tag = value.reason._tag
    reason =
      tag === "MaxStepsReached"
        ? "maxSteps"
        : tag === "RepeatedCall"
          ? "repeatedCall"
          : tag === "Denied"
            ? "denied"
            : tag === "InvalidFinal"
              ? "invalidFinal"
              : "failed"
  }
  return {
    type: "end",
    reason,
    agent,
    steps,
    error:
      value !== undefined ? describeError(value) : Cause.hasInterrupts(exit.cause) ? "interrupted" : "defect"
  }
}

const toResult = <O>(
  ending: Ending,
  state: State,
  env: Env,
  trace: RunTraceService,
  usage: UsageReport
): Result<O> => {
  const common: Common = {
    steps: env.current.step,
    agent: state.agent.name,
    toolCalls: env.records,
    messages: state.messages,
    trace: trace.events(),
    usage
  }
  switch (ending._tag) {
    case "Completed":
      return { _tag: "Completed", output: ending.output as O, text: ending.text, ...common }
    case "Stopped":
      return { _tag: "Stopped", text: ending.text, ...common }
    case "Paused":
      return { _tag: "Paused", approval: ending.approval, ...common }
  }
}

/** What a run hands its exit, trace and usage to. */
type Finish<A> = (
  exit: Exit.Exit<{ ending: Ending; state: State }, RunError>,
  env: Env | undefined,
  trace: RunTraceService,
  usage: UsageReport
) => Effect.Effect<A, RunError>

const finishWith =
  <O>(setup: Setup): Finish<Result<O>> =>
  (exit, env, trace, usage) => {
    setup.emit?.(endEvent(exit, env, setup.root.name))
    if (Exit.isFailure(exit)) return Effect.failCause(exit.cause)
    return Effect.succeed(toResult<O>(exit.value.ending, exit.value.state, env as Env, trace, usage))
  }

/** `runExit`'s finish: how the run ended, always with the trace, usage and tool calls so far. */
const finishExit =
  <O>(_setup: Setup): Finish<RunOutcome<O>> =>
  (exit, env, trace, usage) =>
    Effect.succeed({
      exit: Exit.isSuccess(exit)
        ? Exit.succeed(toResult<O>(exit.value.ending, exit.value.state, env as Env, trace, usage))
        : (exit as Exit.Exit<never, RunError>),
      steps: env?.current.step ?? 0,
      toolCalls: env?.records ?? noRecords,
      trace: trace.events(),
      usage
    })

const noRecords: ReadonlyArray<ToolCallRecord> = []

const freshState = (
  agent: Agent<any, any>,
  input: string | Prompt.RawInput,
  options: RunOptions | undefined,
  stored: ReadonlyArray<Prompt.Message>
): State => {
  const messages: Array<Prompt.Message> = [agent["~definition"].system]
  for (const message of stored) if (message.role !== "system") messages.push(message)
  if (options?.history !== undefined)
    for (const message of options.history) if (message.role !== "system") messages.push(message)
  const saved = messages.length
  if (typeof input === "string") messages.push(userMessage(input))
  else for (const message of Prompt.make(input).content) messages.push(message)
  return {
    agent,
    messages,
    step: 0,
    repeats: new Map(),
    attempts: [],
    sessionId: options?.sessionId,
    saved
  }
}

const noMessages: ReadonlyArray<Prompt.Message> = []

/** The text of the request: the input, or its last user message's text. */
const requestText = (messages: ReadonlyArray<Prompt.Message>): string => {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as Prompt.Message
    if (message.role !== "user") continue
    let text = ""
    for (const part of message.content) if (part.type === "text") text += part.text
    return text
  }
  return ""
}

/** Adds the passages the Retriever finds for the request to the run's instructions. */
const withPassages = (
  env: Env,
  state: State,
  options: Retriever.RetrieveOptions
): Effect.Effect<void, RetrievalError> => {
  const retriever = Context.get(env.context as Context.Context<Retriever.Retriever>, Retriever.Retriever)
  return Effect.map(retriever.retrieve(requestText(state.messages), options), (passages) => {
    if (passages.length === 0) return
    const instructions = state.agent.instructions
    state.messages[0] = Prompt.makeMessage("system", {
      content: `${instructions}\n\nPassages (cite them as [n]):\n${formatPassages(passages)}`
    })
  })
}

/** The session's history, when the run has one. */
const historyOf = (
  env: Env,
  agent: string,
  sessionId: string | undefined
): Effect.Effect<ReadonlyArray<Prompt.Message>, RunError> => {
  if (sessionId === undefined) return Effect.succeed(noMessages)
  const memory = PausedStore.memoryOf(env.context)
  return memory === undefined
    ? fail(
        agent,
        new InvalidOption({ option: "sessionId", value: sessionId, expected: "a Memory layer in context" })
      )
    : memory.history(sessionId)
}

/** Appends the run's new messages to its session once it has ended with an answer. */
const save = (env: Env, state: State, ending: Ending): Effect.Effect<Ending, RunError> => {
  const memory = state.sessionId === undefined ? undefined : PausedStore.memoryOf(env.context)
  if (memory === undefined || ending._tag === "Paused") return Effect.succeed(ending)
  return Effect.as(memory.append(state.sessionId as string, state.messages.slice(state.saved)), ending)
}

const deniedOf = (options: RunOptions | undefined): ReadonlySet<string> | undefined =>
  options?.deny === undefined || options.deny.length === 0 ? undefined : new Set(options.deny)

const start = <O, R, A>(
  agent: Agent<O, R>,
  input: string | Prompt.RawInput,
  options: RunOptions | undefined,
  emit: ((event: AgentEvent) => void) | undefined,
  streaming: boolean,
  finish: (setup: Setup) => Finish<A>
): Effect.Effect<A, RunError, any> => {
  const setup: Setup = { root: agent, options, emit, streaming }
  return runWith(
    setup,
    deniedOf(options),
    (env) => {
      const retrieve = agent["~definition"].retrieve
      if (options?.sessionId === undefined && retrieve === undefined) {
        const state = freshState(agent, input, options, noMessages)
        return Effect.map(loop(env, state), (ending) => ({ ending, state }))
      }
      return Effect.flatMap(historyOf(env, agent.name, options?.sessionId), (stored) => {
        const state = freshState(agent, input, options, stored)
        const run = Effect.map(
          Effect.flatMap(loop(env, state), (ending) => save(env, state, ending)),
          (ending) => ({ ending, state })
        )
        return retrieve === undefined ? run : Effect.flatMap(withPassages(env, state, retrieve), () => run)
      })
    },
    finish(setup)
  )
}

/**
 * Runs an agent on a request (a text, or messages): its result — `Completed`
 * with the typed output, `Stopped`, or `Paused` waiting for an approval —
 * with the run's tool calls, conversation, trace and usage; or its typed error.
 */
export const run = <O, R>(
  agent: Agent<O, R>,
  input: string | Prompt.RawInput,
  options?: RunOptions
): Effect.Effect<Result<O>, RunError, R | LanguageModel.LanguageModel> =>
  start(agent, input, options, undefined, false, finishWith<O>)

/** How a run ended, with what it did up to then. */
export interface RunOutcome<O> {
  /** The result, or the run's typed failure (a limit of the budget, `maxSteps`, the model's error…). */
  readonly exit: Exit.Exit<Result<O>, RunError>
  /** Model calls made. */
  readonly steps: number
  /** Every tool call made, in the order they finished. */
  readonly toolCalls: ReadonlyArray<ToolCallRecord>
  readonly trace: ReadonlyArray<StepEvent>
  readonly usage: UsageReport
}

/**
 * Runs an agent as `run` does, and always returns the trace, usage and tool
 * calls made so far, with how the run ended as `exit` — what a caller wants
 * when a run stopped half-way (a budget limit, `maxSteps`). It fails only
 * when the run cannot start: an option of the agent Weft cannot accept
 * (`AgentError` `InvalidOption`), or a budget that cannot be made.
 */
export const runExit = <O, R>(
  agent: Agent<O, R>,
  input: string | Prompt.RawInput,
  options?: RunOptions
): Effect.Effect<RunOutcome<O>, AgentError | BudgetError, R | LanguageModel.LanguageModel> =>
  start(agent, input, options, undefined, false, finishExit<O>) as any

/**
 * Runs an agent as a stream of events (Events.ts, in the order documented
 * there), ending with one `end` event; a run that fails emits its `end` event
 * and then fails the stream with the error. The model is streamed, so text
 * arrives as `text-delta`s.
 */
export const stream = <O, R>(
  agent: Agent<O, R>,
  input: string | Prompt.RawInput,
  options?: RunOptions
): Stream.Stream<AgentEvent, RunError, R | LanguageModel.LanguageModel> =>
  Stream.callback<AgentEvent, RunError, R | LanguageModel.LanguageModel>((queue) =>
    Effect.matchCause(
      start(agent, input, options, (event) => Queue.offerUnsafe(queue, event), true, finishWith<O>),
      {
        onSuccess: () => Queue.endUnsafe(queue),
        onFailure: (cause) => Queue.failCauseUnsafe(queue, cause)
      }
    )
  )

/**
 * Continues a paused run with a person's decision on its approval: approved,
 * the call runs (once); refused, the model is told. The run then goes on as
 * `run` would, and may pause again for the next approval. `agent` is the
 * agent the run was started with. An id no paused run has fails with
 * `UnknownApproval`, one already decided with `ApprovalUsed`.
 */
export const resume = <O, R>(
  agent: Agent<O, R>,
  id: string,
  decision: Decision,
  options?: Omit<RunOptions, "history" | "deny"> & {
    readonly emit?: ((event: AgentEvent) => void) | undefined
  }
): Effect.Effect<Result<O>, RunError, R | LanguageModel.LanguageModel> => {
  const setup: Setup = { root: agent, options, emit: options?.emit, streaming: false }
  return Effect.withFiber((fiber) => {
    const store = PausedStore.storeOf(fiber.context)
    const explain = (missing: PausedStore.TakeError): RunError =>
      missing === "used"
        ? agentError(agent.name, new ApprovalUsed({ id }))
        : missing === "unknown"
          ? agentError(agent.name, new UnknownApproval({ id }))
          : missing
    // Read first: a run paused under another agent is left waiting for the right one.
    const taken = Effect.flatMap(store.peek(id, PausedRun), (peeked) =>
      peeked.root !== agent.name || findAgent(agent, peeked.agent) === undefined
        ? Effect.fail("unknown" as const)
        : store.take(id, PausedRun)
    )
    return Effect.flatMap(Effect.mapError(taken, explain), (decoded) => {
      const current = findAgent(agent, decoded.agent)
      if (decoded.root !== agent.name || current === undefined)
        return Effect.fail(agentError(agent.name, new UnknownApproval({ id })))
      const denied = decoded.denied.length === 0 ? undefined : new Set(decoded.denied)
      return runWith(
        setup,
        denied,
        (env) => {
          env.current.agent = current.name
          env.current.step = decoded.step
          const state: State = {
            agent: current,
            messages: decoded.messages.slice(),
            step: decoded.step,
            repeats: new Map(decoded.repeats),
            attempts: decoded.attempts.slice(),
            sessionId: decoded.sessionId ?? undefined,
            saved: decoded.saved
          }
          const pending: Pending = {
            calls: decoded.calls,
            results: decoded.results.map((part) => part ?? undefined),
            waiting: decoded.waiting.slice(),
            handoff: decoded.handoff ?? undefined,
            text: decoded.text
          }
          const continued = Effect.flatMap(
            Effect.flatMap(decide(env, state, pending, decision), (ending) =>
              ending === undefined ? loop(env, state) : Effect.succeed(ending)
            ),
            (ending) => save(env, state, ending)
          )
          return Effect.map(continued, (ending) => ({ ending, state }))
        },
        finishWith<O>(setup)
      )
    })
  }) as any
}
