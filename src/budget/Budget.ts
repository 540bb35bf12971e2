/**
 * The Budget: limits on one run's input and output tokens, model calls, tool
 * calls, cost and wall time, enforced *before* the work is done.
 *
 * Before each model call the Budget reserves the call's worst case (prompt
 * tokens counted, plus the call's `maxOutputTokens`, priced from the price
 * table) and refuses the call with `BudgetExceeded` if the reservation would
 * cross a limit; after the call it settles the reservation from the usage the
 * provider reported. Check-and-reserve is one synchronous step, so branches
 * running concurrently (fan-out, sub-workflows) share one budget safely: two
 * of them can never both take the last of it. The wall-time limit is a
 * deadline for the whole run (`Budget.run`) that interrupts whatever is in
 * flight. `report` gives the run's usage at any moment.
 *
 * `meter` wraps an `effect/ai` `LanguageModel` so that every call through it
 * is reserved and settled, and every tool call the model asks for is counted
 * against the tool-call limit before its handler runs: code keeps calling
 * `LanguageModel.generateText` with its toolkit.
 */
import { Cause, Clock, Context, Duration, Effect, Exit, type Fiber, Layer, Option, Stream } from "effect"
import { AiError, LanguageModel, Prompt, type Response, type Toolkit } from "effect/ai"
import { ModelSettings } from "../model/ModelSettings.ts"
import { countPrompt, countText } from "../text/Tokens.ts"
import { BudgetError, BudgetExceeded, LimitName } from "./BudgetError.ts"
import { costOf, type PriceTable, resolvePrices } from "./Prices.ts"

/** Limits for one run. Leave a limit out for no limit; each given limit must be > 0. */
export interface BudgetLimits {
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
  readonly modelCalls?: number | undefined
  readonly toolCalls?: number | undefined
  /** USD. */
  readonly costUsd?: number | undefined
  /** A deadline for the whole run, counted from when the budget is made. */
  readonly wallTime?: Duration.Input | undefined
}

export interface BudgetOptions {
  /** Prices merged over `defaultPrices`. */
  readonly prices?: PriceTable | undefined
  /** Told of each charge as it is recorded (the workflow trace listens here). */
  readonly onCharge?: ((charge: Charge) => void) | undefined
}

/** The limits as numbers (`wallTime` in ms); `undefined` means no limit. */
export type ResolvedLimits = { readonly [K in LimitName]: number | undefined }

/** What one model call was charged, as the run's ledger records it. */
export interface Charge {
  readonly model: string
  readonly step: string | undefined
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
  /** ms since the budget was made. */
  readonly at: number
  /**
   * `failed`: the call failed with no answer and was charged no tokens;
   * `invalid`: it answered but the answer did not decode (charged);
   * `interrupted`: charged its reservation.
   */
  readonly outcome: "ok" | "failed" | "invalid" | "interrupted"
}

export interface UsageTotals {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly modelCalls: number
  readonly costUsd: number
}

/** A run's usage: totals, per model and per step, and the refusal that stopped it, if any. */
export interface UsageReport extends UsageTotals {
  readonly toolCalls: number
  /** Calls that failed with no answer (charged no tokens). */
  readonly failedCalls: number
  /** Calls whose answer did not decode into the requested shape (charged). */
  readonly invalidAnswers: number
  readonly elapsedMs: number
  readonly limits: ResolvedLimits
  readonly byModel: Readonly<Record<string, UsageTotals>>
  readonly byStep: Readonly<Record<string, UsageTotals>>
  readonly charges: ReadonlyArray<Charge>
  readonly refused: BudgetExceeded | undefined
}

/** What a model call asks to reserve. */
export interface ReservationRequest {
  readonly model: string
  readonly inputTokens: number
  readonly maxOutputTokens: number
  readonly step?: string | undefined
}

/** An accepted reservation, to be settled or released exactly once. */
export interface Reservation {
  readonly model: string
  readonly step: string | undefined
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
}

export interface Usage {
  readonly inputTokens: number
  readonly outputTokens: number
}

export interface BudgetService {
  readonly limits: ResolvedLimits
  /** Reserves a model call's worst case, or refuses it. */
  readonly reserve: (request: ReservationRequest) => Effect.Effect<Reservation, BudgetExceeded | BudgetError>
  /**
   * Replaces a reservation by what the call used: `ok` (the default), `invalid`
   * (the model answered but the answer could not be decoded: billed all the
   * same) or `interrupted` (charged what was reserved).
   */
  readonly settle: (
    reservation: Reservation,
    usage: Usage,
    outcome?: "ok" | "invalid" | "interrupted"
  ) => Effect.Effect<void>
  /** Gives back a reservation whose call failed: the call counts, its tokens do not. */
  readonly release: (reservation: Reservation) => Effect.Effect<void>
  /**
   * The synchronous forms of `reserve`, `settle` and `release`, for wrappers
   * that already run inside one Effect step (as `meter` does): a refused
   * reservation is returned, not thrown (`isRefusal` tells them apart).
   */
  readonly reserveUnsafe: (request: ReservationRequest) => Reservation | BudgetExceeded | BudgetError
  readonly settleUnsafe: (
    reservation: Reservation,
    usage: Usage,
    outcome?: "ok" | "invalid" | "interrupted"
  ) => void
  readonly releaseUnsafe: (reservation: Reservation) => void
  /** Counts one tool call, or refuses it. */
  readonly chargeToolCall: (step?: string) => Effect.Effect<void, BudgetExceeded>
  /** Runs an effect under the wall-time deadline, interrupting it when the deadline passes. */
  readonly run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BudgetExceeded, R>
  readonly report: Effect.Effect<UsageReport>
}

/** The label of charges made outside any step. */
export const OUTSIDE_STEPS = "(outside steps)"

/**
 * The step a charge belongs to. Workflow steps set it so the ledger can say
 * where the tokens went.
 */
export const CurrentStep = Context.Reference<string | undefined>("weft/budget/CurrentStep", {
  defaultValue: () => undefined
})

export class Budget extends Context.Service<Budget, BudgetService>()("weft/budget/Budget") {
  /** A fresh budget each time the layer is built. */
  static readonly layer = (
    limits: BudgetLimits = {},
    options?: BudgetOptions
  ): Layer.Layer<Budget, BudgetError> => Layer.effect(Budget, make(limits, options))
}

const LIMIT_NAMES: ReadonlyArray<LimitName> = LimitName.literals

/** The limits as numbers, or the first one that is not a positive number. */
const resolveLimits = (limits: BudgetLimits): ResolvedLimits | BudgetError => {
  const resolved: Record<string, number | undefined> = {}
  for (const name of LIMIT_NAMES) {
    const raw = limits[name]
    if (raw === undefined) {
      resolved[name] = undefined
      continue
    }
    let value: number
    if (name === "wallTime") {
      const duration = Duration.fromInput(raw as Duration.Input)
      if (Option.isNone(duration)) {
        return new BudgetError({
          reason: "InvalidLimit",
          message: `wallTime limit is not a duration: ${String(raw)}`
        })
      }
      value = Duration.toMillis(duration.value)
    } else {
      value = raw as number
    }
    if (typeof value !== "number" || Number.isNaN(value) || value <= 0) {
      return new BudgetError({
        reason: "InvalidLimit",
        message: `${name} limit must be a number greater than 0, got ${String(raw)}`
      })
    }
    resolved[name] = value
  }
  return resolved as ResolvedLimits
}

const emptyTotals = (): {
  inputTokens: number
  outputTokens: number
  modelCalls: number
  costUsd: number
} => ({
  inputTokens: 0,
  outputTokens: 0,
  modelCalls: 0,
  costUsd: 0
})

/** Whether a reservation attempt was refused (or could not be priced). */
export const isRefusal = (
  result: Reservation | BudgetExceeded | BudgetError
): result is BudgetExceeded | BudgetError => result instanceof BudgetExceeded || result instanceof BudgetError

/** Builds a budget; its wall-time deadline starts now. */
export const make = (
  limits: BudgetLimits = {},
  options?: BudgetOptions
): Effect.Effect<BudgetService, BudgetError> =>
  Effect.withFiber((fiber) => {
    const resolved = resolveLimits(limits)
    if (resolved instanceof BudgetError) return Effect.fail(resolved)
    const prices = resolvePrices(options?.prices)
    if (prices instanceof BudgetError) return Effect.fail(prices)
    return Effect.succeed(makeWith(resolved, prices, fiber.getRef(Clock.Clock), options?.onCharge))
  })

/**
 * Builds a budget from checked limits and prices. What it does per call is
 * synchronous bookkeeping on the clock it is given: it sits on the path of
 * every model call.
 */
const makeWith = (
  resolved: ResolvedLimits,
  prices: PriceTable,
  clock: Clock.Clock,
  onCharge: ((charge: Charge) => void) | undefined
): BudgetService => {
  const startedAt = clock.currentTimeMillisUnsafe()
  const deadline = resolved.wallTime === undefined ? undefined : startedAt + resolved.wallTime

  // Spent and reserved-in-flight amounts. Every check-and-add below runs in one
  // synchronous block, so no other fiber can slip between the check and the add.
  const spent = emptyTotals()
  const held = emptyTotals()
  let toolCalls = 0
  let failedCalls = 0
  let invalidAnswers = 0
  let refused: BudgetExceeded | undefined
  const charges: Array<Charge> = []

  const refuse = (error: BudgetExceeded): BudgetExceeded => {
    refused ??= error
    return error
  }

  const check = (
    name: LimitName,
    adding: number,
    current: number,
    model: string | undefined,
    step: string | undefined
  ): BudgetExceeded | undefined => {
    const max = resolved[name]
    if (max === undefined || current + adding <= max) return undefined
    return new BudgetExceeded({
      limit: name,
      max,
      attempted: current + adding,
      ...(model === undefined ? {} : { model }),
      ...(step === undefined ? {} : { step })
    })
  }

  const reserveUnsafe = (request: ReservationRequest): Reservation | BudgetExceeded | BudgetError => {
    const now = clock.currentTimeMillisUnsafe()
    const price = prices[request.model]
    if (price === undefined) {
      return new BudgetError({
        reason: "UnknownModel",
        message: `No price for model "${request.model}": add it to the price table (the \`prices\` option of Workflow.run or Budget.make)`
      })
    }
    const step = request.step
    if (deadline !== undefined && now >= deadline) {
      return refuse(
        new BudgetExceeded({
          limit: "wallTime",
          max: resolved.wallTime!,
          attempted: now - startedAt,
          model: request.model,
          ...(step === undefined ? {} : { step })
        })
      )
    }
    const cost = costOf(price, request.inputTokens, request.maxOutputTokens)
    const error =
      check("modelCalls", 1, spent.modelCalls + held.modelCalls, request.model, step) ??
      check("inputTokens", request.inputTokens, spent.inputTokens + held.inputTokens, request.model, step) ??
      check(
        "outputTokens",
        request.maxOutputTokens,
        spent.outputTokens + held.outputTokens,
        request.model,
        step
      ) ??
      check("costUsd", cost, spent.costUsd + held.costUsd, request.model, step)
    if (error !== undefined) return refuse(error)
    held.modelCalls += 1
    held.inputTokens += request.inputTokens
    held.outputTokens += request.maxOutputTokens
    held.costUsd += cost
    return {
      model: request.model,
      step,
      inputTokens: request.inputTokens,
      outputTokens: request.maxOutputTokens,
      costUsd: cost
    }
  }

  const reserve = (request: ReservationRequest): Effect.Effect<Reservation, BudgetExceeded | BudgetError> =>
    Effect.suspend(() => {
      const result = reserveUnsafe(request)
      return isRefusal(result) ? Effect.fail(result) : Effect.succeed(result)
    })

  const unhold = (r: Reservation) => {
    held.modelCalls -= 1
    held.inputTokens -= r.inputTokens
    held.outputTokens -= r.outputTokens
    held.costUsd -= r.costUsd
  }

  const record = (r: Reservation, usage: Usage, outcome: Charge["outcome"], now: number) => {
    const costUsd = costOf(prices[r.model]!, usage.inputTokens, usage.outputTokens)
    spent.modelCalls += 1
    spent.inputTokens += usage.inputTokens
    spent.outputTokens += usage.outputTokens
    spent.costUsd += costUsd
    if (outcome === "failed") failedCalls += 1
    else if (outcome === "invalid") invalidAnswers += 1
    const charge: Charge = { model: r.model, step: r.step, ...usage, costUsd, at: now - startedAt, outcome }
    charges.push(charge)
    onCharge?.(charge)
  }

  const settleUnsafe = (r: Reservation, usage: Usage, outcome: "ok" | "invalid" | "interrupted" = "ok") => {
    unhold(r)
    record(r, usage, outcome, clock.currentTimeMillisUnsafe())
  }

  const releaseUnsafe = (r: Reservation) => {
    unhold(r)
    record(r, { inputTokens: 0, outputTokens: 0 }, "failed", clock.currentTimeMillisUnsafe())
  }

  const settle = (r: Reservation, usage: Usage, outcome?: "ok" | "invalid" | "interrupted") =>
    Effect.sync(() => settleUnsafe(r, usage, outcome))

  const release = (r: Reservation) => Effect.sync(() => releaseUnsafe(r))

  const chargeToolCall = (step?: string) =>
    Effect.suspend(() => {
      const error = check("toolCalls", 1, toolCalls, undefined, step)
      if (error !== undefined) return Effect.fail(refuse(error))
      toolCalls += 1
      return Effect.void
    })

  const run = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | BudgetExceeded, R> => {
    if (deadline === undefined) return effect
    return Effect.suspend(() =>
      Effect.timeoutOrElse(effect, {
        duration: Math.max(0, deadline - clock.currentTimeMillisUnsafe()),
        orElse: () =>
          Effect.suspend(() =>
            Effect.fail(
              refuse(
                new BudgetExceeded({
                  limit: "wallTime",
                  max: resolved.wallTime!,
                  attempted: clock.currentTimeMillisUnsafe() - startedAt
                })
              )
            )
          )
      })
    )
  }

  const report = Effect.sync((): UsageReport => {
    const now = clock.currentTimeMillisUnsafe()
    const byModel: Record<string, ReturnType<typeof emptyTotals>> = {}
    const byStep: Record<string, ReturnType<typeof emptyTotals>> = {}
    for (const charge of charges) {
      for (const [table, key] of [
        [byModel, charge.model],
        [byStep, charge.step ?? OUTSIDE_STEPS]
      ] as const) {
        const totals = (table[key] ??= emptyTotals())
        totals.inputTokens += charge.inputTokens
        totals.outputTokens += charge.outputTokens
        totals.modelCalls += 1
        totals.costUsd += charge.costUsd
      }
    }
    return {
      ...spent,
      toolCalls,
      failedCalls,
      invalidAnswers,
      elapsedMs: now - startedAt,
      limits: resolved,
      byModel,
      byStep,
      charges: charges.slice(),
      refused
    }
  })

  return {
    limits: resolved,
    reserve,
    settle,
    release,
    reserveUnsafe,
    settleUnsafe,
    releaseUnsafe,
    chargeToolCall,
    run,
    report
  } satisfies BudgetService
}

/** Usage reported in a response's finish part, or counted when the provider gave none. */
const usageOf = (usage: Response.Usage | undefined, estimatedInput: number, text: string): Usage => ({
  inputTokens: usage?.inputTokens.total ?? estimatedInput,
  outputTokens: usage?.outputTokens.total ?? countText(text)
})

/**
 * Wraps a model so each call through it is reserved before and settled after.
 * A failed call is charged no tokens; an interrupted one keeps its reservation
 * (the provider may have billed it and we cannot know how much).
 */
export const meter = (
  model: LanguageModel.LanguageModel,
  budget: BudgetService
): LanguageModel.LanguageModel => {
  // The model's settings and the step label are read from the calling fiber.
  const reserveFor = (
    fiber: Fiber.Fiber<unknown, unknown>,
    options: { readonly prompt: Prompt.RawInput }
  ) => {
    const settings = fiber.getRef(ModelSettings)
    return budget.reserveUnsafe({
      model: settings.model,
      inputTokens: countPrompt(Prompt.make(options.prompt)),
      maxOutputTokens: settings.maxOutputTokens,
      step: fiber.getRef(CurrentStep)
    })
  }

  // How a call ends decides what it is charged: its reported usage when it
  // answered, its reservation when interrupted (the provider may have billed
  // it), its answer's tokens when the answer came back but did not decode, and
  // nothing when it failed without an answer.
  const settleAfter = <A>(
    reservation: Reservation,
    exit: Exit.Exit<A, unknown>,
    used: (value: A) => Usage
  ): void => {
    if (Exit.isSuccess(exit)) {
      budget.settleUnsafe(reservation, used(exit.value))
      return
    }
    if (Exit.hasInterrupts(exit)) {
      budget.settleUnsafe(reservation, reservation, "interrupted")
      return
    }
    const error = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
    if (AiError.isAiError(error) && error.reason._tag === "StructuredOutputError") {
      const reported = error.reason.usage
      budget.settleUnsafe(
        reservation,
        {
          inputTokens: reported?.promptTokens ?? reservation.inputTokens,
          outputTokens: reported?.completionTokens ?? countText(error.reason.responseText)
        },
        "invalid"
      )
      return
    }
    budget.releaseUnsafe(reservation)
  }

  // Each tool call the model asks for is counted (or refused) before its handler runs.
  const meterTool = (toolkit: Toolkit.WithHandler<any>): Toolkit.WithHandler<any> => {
    const metered: Toolkit.WithHandler<any> = Object.create(toolkit)
    Object.defineProperty(metered, "handle", {
      value: (...args: Parameters<Toolkit.WithHandler<any>["handle"]>) =>
        Effect.withFiber((fiber) =>
          Effect.flatMap(budget.chargeToolCall(fiber.getRef(CurrentStep)), () => toolkit.handle(...args))
        )
    })
    return metered
  }
  const withMeteredTools = (options: any) =>
    options.toolkit === undefined
      ? options
      : {
          ...options,
          toolkit: Effect.isEffect(options.toolkit)
            ? Effect.map(options.toolkit as Effect.Effect<Toolkit.WithHandler<any>>, meterTool)
            : meterTool(options.toolkit)
        }

  // The settlement is registered before the reservation is made, inside it: no
  // interruption can fall between reserving and being sure to settle.
  const metered = (
    options: any,
    call: Effect.Effect<LanguageModel.GenerateTextResponse<any, any>, any, any>
  ) =>
    Effect.suspend(() => {
      let reservation: Reservation | undefined
      return Effect.onExit(
        Effect.withFiber((fiber) => {
          const reserved = reserveFor(fiber, options)
          if (isRefusal(reserved)) return Effect.fail(reserved)
          reservation = reserved
          return call
        }),
        (exit) => {
          const r = reservation
          if (r !== undefined)
            settleAfter(r, exit, (response) => usageOf(response.usage, r.inputTokens, response.text))
          return Effect.void
        }
      )
    })

  // A stream is settled from its finish part, once the finish part has come.
  const streamText = (options: any) =>
    Stream.suspend(() => {
      let reservation: Reservation | undefined
      let usage: Response.Usage | undefined
      let text = ""
      let finished = false
      const parts = Stream.unwrap(
        Effect.withFiber((fiber) => {
          const reserved = reserveFor(fiber, options)
          if (isRefusal(reserved)) return Effect.fail(reserved)
          reservation = reserved
          return Effect.succeed(
            model.streamText(withMeteredTools(options)) as Stream.Stream<Response.AnyPart, unknown, unknown>
          )
        })
      )
      return parts.pipe(
        Stream.tap((part) =>
          Effect.sync(() => {
            if (part.type === "text-delta") text += part.delta
            else if (part.type === "finish") {
              usage = part.usage
              finished = true
            }
          })
        ),
        Stream.onExit((exit) =>
          Effect.sync(() => {
            const r = reservation
            if (r !== undefined)
              settleAfter(r, finished ? Exit.void : exit, () => usageOf(usage, r.inputTokens, text))
          })
        )
      )
    })

  return {
    ...model,
    generateText: ((options: any) => metered(options, model.generateText(withMeteredTools(options)))) as any,
    generateObject: ((options: any) =>
      metered(options, model.generateObject(withMeteredTools(options)))) as any,
    streamText: streamText as any
  }
}

/** A layer that meters the `LanguageModel` it is given against the `Budget` in context. */
export const layerMetered: Layer.Layer<
  LanguageModel.LanguageModel,
  never,
  LanguageModel.LanguageModel | Budget
> = Layer.effect(
  LanguageModel.LanguageModel,
  Effect.gen(function* () {
    const model = yield* LanguageModel.LanguageModel
    const budget = yield* Budget
    return meter(model, budget)
  })
)

/** Runs an effect under the budget's wall-time deadline. */
export const run = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | BudgetExceeded, R | Budget> =>
  Effect.flatMap(Effect.service(Budget), (budget) => budget.run(effect))

/** The usage report of the budget in context. */
export const report: Effect.Effect<UsageReport, never, Budget> = Effect.flatMap(
  Effect.service(Budget),
  (b) => b.report
)

/** Counts one tool call against the budget in context. */
export const chargeToolCall = (step?: string): Effect.Effect<void, BudgetExceeded, Budget> =>
  Effect.flatMap(Effect.service(Budget), (b) => b.chargeToolCall(step))
