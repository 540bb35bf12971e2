/**
 * The Budget: limits on one run's input and output tokens, model calls, tool
 * calls, cost and wall time, checked *before* the work is done.
 *
 * Before each model call the budget reserves the call's estimate (its prompt,
 * tool definitions and response schema counted, plus the call's
 * `maxOutputTokens`, priced from the price table) and refuses the call if the
 * reservation would cross a limit; after the call it settles the reservation
 * from the usage the provider reported. What is guaranteed:
 * - no call *starts* past a limit, and concurrent branches can never both take
 *   the last of one;
 * - spending passes a limit only by what calls already in flight report above
 *   their estimates; the first such overshoot is recorded (`exceeded` in the
 *   report) and from then on every call is refused;
 * - the wall-time limit is a deadline for the whole run that interrupts
 *   whatever is in flight.
 *
 * The service is effects only, on data that is Schema (`Usage.ts`), so a
 * budget kept in SQL or in a cluster entity can implement it; `layer` gives
 * the in-memory one. Model calls are metered where the model is made (every
 * Weft provider layer applies `Meter.metered`), reading the budget of the
 * calling fiber: a model provided inside a run, or chosen by a fallback plan,
 * is metered like any other.
 */
import { Clock, Context, Effect, type Exit, Layer } from "effect"
import { type BudgetError, BudgetExceeded, fail } from "./BudgetError.ts"
import { make as makeInMemory } from "./InMemory.ts"
import type { PriceTable } from "./Prices.ts"
import type {
  Charge,
  Reservation,
  ReservationRequest,
  ResolvedLimits,
  Settlement,
  UsageReport
} from "./Usage.ts"
import type * as Duration from "effect/Duration"

/** Limits for one run. Leave a limit out for no limit. */
export interface BudgetLimits {
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
  /** An integer ≥ 1. */
  readonly modelCalls?: number | undefined
  /** An integer ≥ 1. */
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

export interface BudgetService {
  readonly limits: ResolvedLimits
  /** When the budget was made (epoch ms). */
  readonly startedAt: number
  /** The absolute deadline (epoch ms) the wall-time limit sets, if any. */
  readonly deadline: number | undefined
  /** Reserves a model call's estimate, or refuses it (`BudgetExceeded`). */
  readonly reserve: (request: ReservationRequest) => Effect.Effect<Reservation, BudgetError>
  /** Replaces a reservation by what the call used. Idempotent: a second settle of the same id does nothing. */
  readonly settle: (reservation: Reservation, settlement: Settlement) => Effect.Effect<void>
  /** Gives back a reservation whose call failed with nothing to charge: the call counts, its tokens do not. Idempotent. */
  readonly release: (reservation: Reservation) => Effect.Effect<void>
  /** Counts one tool call, or refuses it. */
  readonly chargeToolCall: (step?: string) => Effect.Effect<void, BudgetError>
  /** Records a refusal made outside `reserve` (the wall-time deadline passing mid-call). */
  readonly recordRefusal: (refusal: BudgetExceeded) => Effect.Effect<void>
  readonly report: Effect.Effect<UsageReport>
}

/**
 * The step a charge belongs to. Workflow steps set it so the ledger can say
 * where the tokens went.
 */
export const CurrentStep = Context.Reference<string | undefined>("weft/budget/CurrentStep", {
  defaultValue: () => undefined
})

export class Budget extends Context.Service<Budget, BudgetService>()("weft/budget/Budget") {}

/** An in-memory budget, fresh each time the layer is built. */
export const layer = (limits: BudgetLimits = {}, options?: BudgetOptions): Layer.Layer<Budget, BudgetError> =>
  Layer.effect(Budget, makeInMemory(limits, options))

/** Builds an in-memory budget; its wall-time deadline starts now. */
export const make: (
  limits?: BudgetLimits,
  options?: BudgetOptions
) => Effect.Effect<BudgetService, BudgetError> = makeInMemory

/**
 * Reserves, runs `use` with the reservation, and settles it by how `use`
 * ended (`settlement`), whatever happens — interruption included: the
 * reservation cannot leak. Nothing can interrupt between the reservation and
 * the guarantee that it will be settled.
 */
export const withReservation = <A, E, R>(
  budget: BudgetService,
  request: ReservationRequest,
  use: (reservation: Reservation) => Effect.Effect<A, E, R>,
  settlement: (exit: Exit.Exit<A, E>, reservation: Reservation) => Settlement
): Effect.Effect<A, E | BudgetError, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(budget.reserve(request), (reservation) =>
      Effect.onExit(restore(Effect.suspend(() => use(reservation))), (exit) =>
        budget.settle(reservation, settlement(exit, reservation))
      )
    )
  )

/**
 * Runs an effect under the budget's wall-time deadline, interrupting it when
 * the deadline passes (the run then fails with `BudgetExceeded` "wallTime").
 */
export const enforceDeadline = <A, E, R>(
  budget: BudgetService,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | BudgetError, R> => {
  const deadline = budget.deadline
  if (deadline === undefined) return effect
  return Effect.withFiber((fiber) => {
    const clock = fiber.getRef(Clock.Clock)
    return Effect.timeoutOrElse(effect, {
      duration: Math.max(0, deadline - clock.currentTimeMillisUnsafe()),
      orElse: () =>
        Effect.suspend(() => {
          const refusal = new BudgetExceeded({
            limit: "wallTime",
            max: budget.limits.wallTime!,
            attempted: clock.currentTimeMillisUnsafe() - budget.startedAt
          })
          return Effect.andThen(budget.recordRefusal(refusal), Effect.fail(fail(refusal)))
        })
    })
  })
}

/** Runs an effect under the wall-time deadline of the budget in context. */
export const run = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | BudgetError, R | Budget> =>
  Effect.flatMap(Effect.service(Budget), (budget) => enforceDeadline(budget, effect))

/** The usage report of the budget in context. */
export const report: Effect.Effect<UsageReport, never, Budget> = Effect.flatMap(
  Effect.service(Budget),
  (budget) => budget.report
)

/** Counts one tool call against the budget in context. */
export const chargeToolCall = (step?: string): Effect.Effect<void, BudgetError, Budget> =>
  Effect.flatMap(Effect.service(Budget), (budget) => budget.chargeToolCall(step))

export { OUTSIDE_STEPS } from "./InMemory.ts"
export { refusalOf } from "./BudgetError.ts"
export type {
  Charge,
  Outcome,
  Reservation,
  ReservationRequest,
  ResolvedLimits,
  Settlement,
  Usage,
  UsageReport,
  UsageTotals
} from "./Usage.ts"
