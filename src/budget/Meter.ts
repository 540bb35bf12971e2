/**
 * Metering: the decorator every Weft provider applies where its model is
 * made, so no model call inside a run escapes the run's budget — a model
 * provided inside a step, or picked by an `ExecutionPlan` fallback, included.
 *
 * Each call reads the `Budget` of the calling fiber (outside a run there is
 * none and the call goes straight through), reserves the call's estimate
 * under the model that makes it, and settles it by how the call ended: the
 * usage it reported; its reservation when interrupted or when a stream
 * stopped before its finish part (the provider may have billed it); what an
 * error reports when it carries usage; nothing when it failed without an
 * answer. Each tool call the model asks for is counted against the tool-call
 * limit before its handler runs. A refusal fails the call with an `AiError`
 * (`QuotaExhaustedError`, not retryable) that `Budget.refusalOf` turns back
 * into the `BudgetError`.
 */
import { Cause, Context, Effect, Exit, type Fiber, Option, Predicate, Schema, Stream, Tracer } from "effect"
import { AiError, LanguageModel, Model, Prompt, type Response, type Tool, type Toolkit } from "effect/ai"
import { countText, estimateRequest } from "../text/Tokens.ts"
import { Budget, type BudgetService, CurrentStep } from "./Budget.ts"
import { type BudgetError, refusalOf, toAiError } from "./BudgetError.ts"
import type { Reservation, ReservationRequest, Settlement, Usage } from "./Usage.ts"

/** Who answers a call: the name the price table knows, and the most output tokens a call may produce. */
export interface Identity {
  readonly provider: string
  readonly model: string
  readonly maxOutputTokens: number
}

/**
 * Narrows the output limit of the calls made under it (never widens the
 * provider's own): `Effect.provideService(Meter.MaxOutputTokens, 64)`.
 */
export const MaxOutputTokens = Context.Reference<number | undefined>("weft/budget/MaxOutputTokens", {
  defaultValue: () => undefined
})

/** The output limit a call runs under: the provider's, narrowed by `MaxOutputTokens`. */
export const maxOutputTokensOf = (fiber: Fiber.Fiber<unknown, unknown>, own: number): number => {
  const narrowed = fiber.getRef(MaxOutputTokens)
  return narrowed === undefined ? own : Math.max(0, Math.min(own, narrowed))
}

const METERED: unique symbol = Symbol.for("weft/budget/Metered") as never

/** Whether a model is already metered (so a run does not meter it twice). */
export const isMetered = (model: LanguageModel.LanguageModel): boolean =>
  Predicate.hasProperty(model, METERED)

const toolsOf = (toolkit: unknown): { readonly [name: string]: Tool.Any } | undefined =>
  Predicate.hasProperty(toolkit, "tools") && Predicate.isObject(toolkit.tools)
    ? (toolkit.tools as { readonly [name: string]: Tool.Any })
    : undefined

/**
 * The call's options with its prompt made (`Prompt.make`) once: the estimate
 * counts it and the model is handed it, so a prompt given as messages is not
 * decoded twice.
 */
const withPrompt = (options: any): any =>
  Prompt.isPrompt(options.prompt) ? options : { ...options, prompt: Prompt.make(options.prompt) }

/**
 * The input tokens a call is estimated at: its prompt, the definitions of the
 * tools it offers and its response schema (`Tokens.estimateRequest`).
 */
export const estimateInput = (options: {
  readonly prompt: Prompt.RawInput
  readonly toolkit?: unknown
  readonly schema?: Schema.Top | undefined
}): number =>
  estimateRequest({
    prompt: options.prompt,
    tools: toolsOf(options.toolkit),
    responseFormat:
      options.schema !== undefined && Schema.isSchema(options.schema) ? options.schema : undefined
  })

/** Usage reported in a response's finish part, or counted when the provider gave none. */
const usageOf = (
  usage: Response.Usage | undefined,
  estimatedInput: () => number,
  answer: { readonly text: string }
): Usage => {
  const cached = usage?.inputTokens.cacheRead
  return {
    inputTokens: usage?.inputTokens.total ?? estimatedInput(),
    outputTokens: usage?.outputTokens.total ?? countText(answer.text),
    ...(cached !== undefined && cached > 0 ? { cachedInputTokens: cached } : {})
  }
}

/** What an error reports it used, when it carries usage (effect/ai's own decode failures do). */
const reportedUsage = (error: unknown, estimatedInput: () => number): Usage | undefined => {
  if (!AiError.isAiError(error)) return undefined
  const reason = error.reason as {
    readonly usage?: { readonly promptTokens?: number; readonly completionTokens?: number }
    readonly responseText?: string
  }
  if (reason.usage === undefined && reason.responseText === undefined) return undefined
  return {
    inputTokens: reason.usage?.promptTokens ?? estimatedInput(),
    outputTokens: reason.usage?.completionTokens ?? countText(reason.responseText ?? "")
  }
}

const isUndecodable = (error: AiError.AiError) =>
  error.reason._tag === "StructuredOutputError" || error.reason._tag === "InvalidOutputError"

/**
 * How a call that ended with `exit` is settled. `estimatedInput` is the
 * request's input estimate, counted only when a settlement needs it.
 */
const settlementOf = <A>(
  exit: Exit.Exit<A, unknown>,
  reservation: Reservation,
  estimatedInput: () => number,
  used: (value: A) => Usage
): Settlement => {
  if (Exit.isSuccess(exit)) return { usage: used(exit.value), outcome: "ok" }
  if (Exit.hasInterrupts(exit)) return interruptedSettlement(reservation, estimatedInput)
  const error = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
  const usage = reportedUsage(error, estimatedInput)
  if (usage === undefined) return { usage: { inputTokens: 0, outputTokens: 0 }, outcome: "failed" }
  return { usage, outcome: AiError.isAiError(error) && isUndecodable(error) ? "invalid" : "failed" }
}

/**
 * An interrupted call is charged its reservation: the provider may have
 * billed it. A reservation made without the input estimate (no limit needed
 * it) is charged the estimate, counted now.
 */
const interruptedSettlement = (reservation: Reservation, estimatedInput: () => number): Settlement => ({
  usage: {
    inputTokens: Math.max(reservation.inputTokens, estimatedInput()),
    outputTokens: reservation.outputTokens
  },
  outcome: "interrupted"
})

/**
 * Whether a reservation's input estimate can change what the budget decides:
 * only a limit on input tokens or on cost reads it. Without one, a call is
 * reserved with no input tokens and the estimate is counted only when a
 * settlement needs it (a provider that reported no usage, an interruption).
 */
const needsEstimate = (budget: BudgetService): boolean =>
  budget.limits.inputTokens !== undefined || budget.limits.costUsd !== undefined

/** The request's input estimate, counted at most once, when first asked for. */
const lazyEstimate = (made: any): (() => number) => {
  let estimate: number | undefined
  return () => (estimate ??= estimateInput(made))
}

const refused = (error: BudgetError, method: string) => toAiError(error, "Budget", method)

/**
 * effect/ai's toolkit writes a call's raw arguments onto the current span,
 * and arguments can carry secrets (a password a user typed, a token). Inside a
 * run the handler runs under a stand-in for the current span — same trace and
 * span ids, so child spans still hang in the right place — that records
 * nothing.
 */
const withoutArgumentsOnSpan = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiber((fiber) => {
    const parent = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
    if (parent === undefined || parent._tag !== "Span") return effect
    return Effect.provideService(
      effect,
      Tracer.ParentSpan,
      Tracer.externalSpan({ traceId: parent.traceId, spanId: parent.spanId, sampled: parent.sampled })
    )
  })

/** Wraps a toolkit so each tool call is counted (or refused) before its handler runs. */
const meterToolkit = (
  toolkit: Toolkit.WithHandler<any>,
  budget: BudgetService,
  step: string | undefined
): Toolkit.WithHandler<any> => {
  const metered: Toolkit.WithHandler<any> = Object.create(toolkit)
  Object.defineProperty(metered, "handle", {
    value: (...args: Parameters<Toolkit.WithHandler<any>["handle"]>) =>
      Effect.flatMap(
        Effect.mapError(budget.chargeToolCall(step), (error) => refused(error, "handle")),
        () => withoutArgumentsOnSpan(toolkit.handle(...args))
      )
  })
  return metered
}

// With tool-call resolution off effect/ai never asks the toolkit to handle a call (the
// caller runs them, and counts them), so there is nothing to wrap.
const withMeteredTools = (options: any, budget: BudgetService, step: string | undefined) =>
  options.toolkit === undefined || options.disableToolCallResolution === true
    ? options
    : {
        ...options,
        toolkit: Effect.isEffect(options.toolkit)
          ? Effect.map(options.toolkit as Effect.Effect<Toolkit.WithHandler<any>>, (toolkit) =>
              meterToolkit(toolkit, budget, step)
            )
          : meterToolkit(options.toolkit, budget, step)
      }

/**
 * Meters a provider's model: every call is reserved before and settled after
 * against the budget of the calling fiber, under `identity`'s model name.
 */
export const metered = (
  model: LanguageModel.LanguageModel,
  identity: Identity
): LanguageModel.LanguageModel => {
  if (isMetered(model)) return model

  const settlementOfCall = (exit: Exit.Exit<any, any>, r: Reservation, estimate: () => number): Settlement =>
    settlementOf(exit, r, estimate, (response: LanguageModel.GenerateTextResponse<any>) =>
      usageOf(response.usage, estimate, response)
    )

  // What a call asks to reserve: its estimate under this model (when a limit reads it), for
  // the step making it.
  const requestFor = (
    fiber: Fiber.Fiber<unknown, unknown>,
    budget: BudgetService,
    estimate: () => number
  ): ReservationRequest => ({
    model: identity.model,
    inputTokens: needsEstimate(budget) ? estimate() : 0,
    maxOutputTokens: maxOutputTokensOf(fiber, identity.maxOutputTokens),
    step: fiber.getRef(CurrentStep)
  })

  // The settlement is registered before the reservation is made: no
  // interruption can fall between reserving and being sure to settle.
  const call = (method: string, options: any, run: (options: any) => Effect.Effect<any, any, any>) =>
    Effect.withFiber((fiber) => {
      const budget = Context.getOrUndefined(fiber.context, Budget)
      if (budget === undefined) return run(options)
      // The prompt is made once: counted here, and handed to the model made.
      const made = withPrompt(options)
      const estimate = lazyEstimate(made)
      const request = requestFor(fiber, budget, estimate)
      let reservation: Reservation | undefined
      return Effect.onExit(
        Effect.flatMap(
          Effect.mapError(budget.reserve(request), (error) => refused(error, method)),
          (r) => {
            reservation = r
            return run(withMeteredTools(made, budget, request.step))
          }
        ),
        (exit) => {
          const r = reservation
          return r === undefined ? Effect.void : budget.settle(r, settlementOfCall(exit, r, estimate))
        }
      )
    })

  // A stream is settled from its finish part; one stopped before it is
  // settled as interrupted (charged its reservation). The reservation is
  // acquired with its release in the stream's scope, so it cannot leak
  // between reserving and the stream starting.
  const streamText = (options: any) =>
    Stream.unwrap(
      Effect.withFiber((fiber) => {
        const budget = Context.getOrUndefined(fiber.context, Budget)
        if (budget === undefined) return Effect.succeed(model.streamText(options))
        const made = withPrompt(options)
        const estimate = lazyEstimate(made)
        const request = requestFor(fiber, budget, estimate)
        let usage: Response.Usage | undefined
        let text = ""
        let finished = false
        const settlementFor = (r: Reservation, exit: Exit.Exit<unknown, unknown>): Settlement =>
          finished
            ? { usage: usageOf(usage, estimate, { text }), outcome: "ok" }
            : Exit.isFailure(exit) && !Exit.hasInterrupts(exit)
              ? settlementOf(exit, r, estimate, () => r)
              : interruptedSettlement(r, estimate)
        return Effect.map(
          Effect.acquireRelease(
            Effect.mapError(budget.reserve(request), (error) => refused(error, "streamText")),
            (r, exit) => budget.settle(r, settlementFor(r, exit))
          ),
          () =>
            (
              model.streamText(withMeteredTools(made, budget, request.step)) as Stream.Stream<any, any, any>
            ).pipe(
              Stream.tap((part: Response.AnyPart) =>
                Effect.sync(() => {
                  if (part.type === "text-delta") text += part.delta
                  else if (part.type === "finish") {
                    usage = part.usage
                    finished = true
                  }
                })
              )
            )
        )
      })
    )

  const service: LanguageModel.LanguageModel = {
    ...model,
    generateText: ((options: any) => call("generateText", options, model.generateText)) as any,
    generateObject: ((options: any) => call("generateObject", options, model.generateObject)) as any,
    streamText: streamText as any
  }
  Object.defineProperty(service, METERED, { value: identity })
  return service
}

/**
 * Meters the `LanguageModel` in `context` under the `Model.ModelName` /
 * `Model.ProviderName` found there, unless its provider already meters it.
 * `Workflow.run` does this for models from providers that are not Weft's.
 */
export const meterContext = <R>(context: Context.Context<R>): Context.Context<R> => {
  const model = Context.getOrUndefined(context, LanguageModel.LanguageModel)
  if (model === undefined || isMetered(model)) return context
  const name = Context.getOrUndefined(context, Model.ModelName) ?? "unknown"
  const provider = Context.getOrUndefined(context, Model.ProviderName) ?? "unknown"
  return Context.add(
    context,
    LanguageModel.LanguageModel,
    metered(model, { provider, model: name, maxOutputTokens: DEFAULT_MAX_OUTPUT_TOKENS })
  )
}

/** The output reservation for a model whose provider does not say its limit. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096

export { refusalOf }
