/**
 * The in-memory budget: one run's ledger in this process, the default behind
 * `Budget.layer` and `Workflow.run`.
 *
 * Every check-and-add is one synchronous block inside an Effect, so branches
 * running concurrently (fan-out, sub-workflows) can never both take the last
 * of a limit. Reservations carry ids and are kept open until settled: settling
 * or releasing one twice does nothing the second time. A settlement that
 * pushes spending past a limit (a provider reporting more than was estimated)
 * marks the budget exhausted: it is recorded in the report as `exceeded`, and
 * every later reservation is refused.
 */
import { Clock, Duration, Effect, Option } from "effect"
import { checkInteger, InvalidOption, show } from "../core/InvalidOption.ts"
import type { BudgetLimits, BudgetOptions, BudgetService } from "./Budget.ts"
import { type BudgetError, BudgetExceeded, fail, LimitName, UnknownModel } from "./BudgetError.ts"
import { costOf, type PriceTable, resolvePrices } from "./Prices.ts"
import type {
  Charge,
  Outcome,
  Reservation,
  ReservationRequest,
  ResolvedLimits,
  Settlement,
  UsageReport,
  UsageTotals
} from "./Usage.ts"

/** The label of charges made outside any step. */
export const OUTSIDE_STEPS = "(outside steps)"

const COUNTED: ReadonlySet<LimitName> = new Set(["modelCalls", "toolCalls"])

/** The limits as numbers, or the first one that is out of range. */
export const resolveLimits = (limits: BudgetLimits): ResolvedLimits | BudgetError => {
  const resolved: Record<string, number> = {}
  for (const name of LimitName.literals) {
    const raw = limits[name]
    if (raw === undefined) continue
    let value: unknown = raw
    if (name === "wallTime") {
      const duration = Duration.fromInput(raw as Duration.Input)
      if (Option.isNone(duration)) {
        return fail(new InvalidOption({ option: "wallTime", value: show(raw), expected: "a duration > 0" }))
      }
      value = Duration.toMillis(duration.value)
    }
    if (COUNTED.has(name)) {
      const invalid = checkInteger(name, value, 1)
      if (invalid !== undefined) return fail(invalid)
    } else if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      return fail(
        new InvalidOption({
          option: name,
          value: show(raw),
          expected: name === "wallTime" ? "a finite duration > 0" : "a finite number > 0"
        })
      )
    }
    resolved[name] = value as number
  }
  return resolved as ResolvedLimits
}

const isCount = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n) && n >= 0

/** A reservation request with counts that are not finite numbers ≥ 0 is a caller's bug, said as such. */
const checkRequest = (request: ReservationRequest): BudgetError | undefined =>
  !isCount(request.inputTokens)
    ? fail(
        new InvalidOption({
          option: "inputTokens",
          value: show(request.inputTokens),
          expected: "a count ≥ 0"
        })
      )
    : !isCount(request.maxOutputTokens)
      ? fail(
          new InvalidOption({
            option: "maxOutputTokens",
            value: show(request.maxOutputTokens),
            expected: "a count ≥ 0"
          })
        )
      : undefined

interface Totals {
  inputTokens: number
  outputTokens: number
  modelCalls: number
  costUsd: number
}

const emptyTotals = (): Totals => ({ inputTokens: 0, outputTokens: 0, modelCalls: 0, costUsd: 0 })

/** Builds an in-memory budget; its wall-time deadline starts now. */
export const make = (
  limits: BudgetLimits = {},
  options?: BudgetOptions
): Effect.Effect<BudgetService, BudgetError> =>
  Effect.withFiber((fiber) => {
    const budget = makeNow(limits, options, fiber.getRef(Clock.Clock))
    return isBudgetError(budget) ? Effect.fail(budget) : Effect.succeed(budget)
  })

/**
 * Builds an in-memory budget at once, reading time from `clock`, or says
 * which limit or price is out of range. For `Workflow.run`, which makes one
 * per run inside its own look at the fiber.
 */
export const makeNow = (
  limits: BudgetLimits | undefined,
  options: BudgetOptions | undefined,
  clock: Clock.Clock
): BudgetService | BudgetError => {
  const resolved = resolveLimits(limits ?? {})
  if (!isLimits(resolved)) return resolved
  const prices = resolvePrices(options?.prices)
  if (!isPrices(prices)) return prices
  return makeWith(resolved, prices, clock, options?.onCharge)
}

export const isBudgetError = (x: BudgetService | BudgetError): x is BudgetError =>
  "_tag" in x && x._tag === "BudgetError"

const isLimits = (x: ResolvedLimits | BudgetError): x is ResolvedLimits => !("_tag" in x)
const isPrices = (x: PriceTable | BudgetError): x is PriceTable => !("_tag" in x && x._tag === "BudgetError")

const makeWith = (
  limits: ResolvedLimits,
  prices: PriceTable,
  clock: Clock.Clock,
  onCharge: ((charge: Charge) => void) | undefined
): BudgetService => {
  const startedAt = clock.currentTimeMillisUnsafe()
  const deadline = limits.wallTime === undefined ? undefined : startedAt + limits.wallTime
  const pricesCost = limits.costUsd !== undefined

  const spent = emptyTotals()
  const held = emptyTotals()
  const open = new Map<number, Reservation>()
  let nextId = 1
  let toolCalls = 0
  let failedCalls = 0
  let invalidAnswers = 0
  let refused: BudgetExceeded | undefined
  let exceeded: BudgetExceeded | undefined
  const charges: Array<Charge> = []

  const refuse = (error: BudgetExceeded): BudgetError => {
    refused ??= error
    return fail(error)
  }

  const over = (
    name: LimitName,
    adding: number,
    current: number,
    model: string | undefined,
    step: string | undefined
  ): BudgetExceeded | undefined => {
    const max = limits[name]
    if (max === undefined || current + adding <= max) return undefined
    return new BudgetExceeded({
      limit: name,
      max,
      attempted: current + adding,
      ...(model === undefined ? {} : { model }),
      ...(step === undefined ? {} : { step })
    })
  }

  const priceOf = (model: string) => prices[model]

  const reserveNow = (request: ReservationRequest): Reservation | BudgetError => {
    const invalid = checkRequest(request)
    if (invalid !== undefined) return invalid
    const now = clock.currentTimeMillisUnsafe()
    const { model, step } = request
    const price = priceOf(model)
    if (price === undefined && pricesCost) return fail(new UnknownModel({ model }))
    if (deadline !== undefined && now >= deadline) {
      return refuse(
        new BudgetExceeded({
          limit: "wallTime",
          max: limits.wallTime!,
          attempted: now - startedAt,
          model,
          ...(step === undefined ? {} : { step })
        })
      )
    }
    const cost = price === undefined ? 0 : costOf(price, request.inputTokens, request.maxOutputTokens)
    const error =
      over("modelCalls", 1, spent.modelCalls + held.modelCalls, model, step) ??
      over("inputTokens", request.inputTokens, spent.inputTokens + held.inputTokens, model, step) ??
      over("outputTokens", request.maxOutputTokens, spent.outputTokens + held.outputTokens, model, step) ??
      over("costUsd", cost, spent.costUsd + held.costUsd, model, step)
    if (error !== undefined) return refuse(error)
    held.modelCalls += 1
    held.inputTokens += request.inputTokens
    held.outputTokens += request.maxOutputTokens
    held.costUsd += cost
    const reservation: Reservation = {
      id: nextId++,
      model,
      step,
      inputTokens: request.inputTokens,
      outputTokens: request.maxOutputTokens,
      costUsd: cost
    }
    open.set(reservation.id, reservation)
    return reservation
  }

  // After recording a settlement: the first limit that spending now passes
  // marks the budget exhausted (later reservations are refused by the checks
  // above, since spending already sits past the limit).
  const checkCrossed = (r: Reservation) => {
    if (exceeded !== undefined) return
    for (const name of ["inputTokens", "outputTokens", "costUsd"] as const) {
      const max = limits[name]
      if (max !== undefined && spent[name] > max) {
        exceeded = new BudgetExceeded({
          limit: name,
          max,
          attempted: spent[name],
          model: r.model,
          ...(r.step === undefined ? {} : { step: r.step }),
          afterCall: true
        })
        return
      }
    }
  }

  const settleNow = (id: number, settlement: Settlement) => {
    const r = open.get(id)
    if (r === undefined) return
    open.delete(id)
    held.modelCalls -= 1
    held.inputTokens -= r.inputTokens
    held.outputTokens -= r.outputTokens
    held.costUsd -= r.costUsd
    // An interrupted call is charged its reservation (or what the meter counted, when more).
    const usage =
      settlement.outcome === "interrupted"
        ? settlement.usage.inputTokens > r.inputTokens
          ? { inputTokens: settlement.usage.inputTokens, outputTokens: r.outputTokens }
          : r
        : settlement.usage
    const inputTokens = Math.max(0, usage.inputTokens)
    const outputTokens = Math.max(0, usage.outputTokens)
    const cachedInputTokens =
      "cachedInputTokens" in usage && usage.cachedInputTokens !== undefined
        ? Math.min(Math.max(0, usage.cachedInputTokens), inputTokens)
        : 0
    const price = priceOf(r.model)
    const costUsd = price === undefined ? 0 : costOf(price, inputTokens, outputTokens, cachedInputTokens)
    spent.modelCalls += 1
    spent.inputTokens += inputTokens
    spent.outputTokens += outputTokens
    spent.costUsd += costUsd
    const outcome: Outcome = settlement.outcome
    if (outcome === "failed") failedCalls += 1
    else if (outcome === "invalid") invalidAnswers += 1
    const charge: Charge = {
      model: r.model,
      step: r.step,
      inputTokens,
      outputTokens,
      ...(cachedInputTokens > 0 ? { cachedInputTokens } : {}),
      costUsd,
      at: clock.currentTimeMillisUnsafe() - startedAt,
      outcome
    }
    charges.push(charge)
    checkCrossed(r)
    onCharge?.(charge)
  }

  const reserve = (request: ReservationRequest) =>
    Effect.suspend(() => {
      const result = reserveNow(request)
      return "_tag" in result ? Effect.fail(result) : Effect.succeed(result)
    })

  const settle = (reservation: Reservation, settlement: Settlement) =>
    Effect.sync(() => settleNow(reservation.id, settlement))

  const release = (reservation: Reservation) =>
    Effect.sync(() =>
      settleNow(reservation.id, { usage: { inputTokens: 0, outputTokens: 0 }, outcome: "failed" })
    )

  const chargeToolCall = (step?: string) =>
    Effect.suspend(() => {
      const error = over("toolCalls", 1, toolCalls, undefined, step)
      if (error !== undefined) return Effect.fail(refuse(error))
      toolCalls += 1
      return Effect.void
    })

  const recordRefusal = (error: BudgetExceeded) =>
    Effect.sync(() => {
      refused ??= error
    })

  const reportNow = (): UsageReport => {
    const byModel: Record<string, Totals> = {}
    const byStep: Record<string, Totals> = {}
    for (const charge of charges) {
      add((byModel[charge.model] ??= emptyTotals()), charge)
      add((byStep[charge.step ?? OUTSIDE_STEPS] ??= emptyTotals()), charge)
    }
    return {
      inputTokens: spent.inputTokens,
      outputTokens: spent.outputTokens,
      modelCalls: spent.modelCalls,
      costUsd: spent.costUsd,
      toolCalls,
      failedCalls,
      invalidAnswers,
      elapsedMs: clock.currentTimeMillisUnsafe() - startedAt,
      limits,
      byModel,
      byStep,
      charges: charges.slice(),
      refused,
      exceeded
    }
  }

  return {
    limits,
    startedAt,
    deadline,
    reserve,
    settle,
    release,
    chargeToolCall,
    recordRefusal,
    report: Effect.sync(reportNow)
  }
}

const add = (totals: Totals, charge: Charge) => {
  totals.inputTokens += charge.inputTokens
  totals.outputTokens += charge.outputTokens
  totals.modelCalls += 1
  totals.costUsd += charge.costUsd
}

export type { UsageTotals }
