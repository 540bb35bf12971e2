/**
 * The run trace: what each step did and when, as a list of events — and, when
 * a run turns spans on, the same events as effect `Tracer` spans.
 *
 * Steps record `start`, `retry`, `end` and `failure`; the run's budget records
 * `usage` for every model call, labelled with the step that made it. A
 * listener (`onEvent`) sees each event as it happens, which is how the CLI
 * shows progress. Times are ms since the run began, read from the Effect
 * `Clock`, so `TestClock` drives them in tests.
 *
 * Spans are opt-in (`Trace.layerSpans`, or `spans: true` on a run): `record`
 * is the one place an event is written, and with spans on it also opens, marks
 * and ends spans — a span per run (`workflow <name>`), a child span per step
 * (`step <name>`, with its attempts, retries and outcome) and the GenAI usage
 * of each model call (effect/ai `Telemetry` attributes, `gen_ai.usage.*`, on
 * effect/ai's own span for the call), so
 * the timeline a person reads and the spans an OTLP exporter sends cannot
 * disagree. Spans are made straight from the fiber's `Tracer`, without stack
 * traces; with spans off a step pays one `undefined` check.
 */
import {
  Cause,
  Clock,
  Context,
  Effect,
  Exit,
  Fiber,
  Layer,
  Option,
  Predicate,
  References,
  Schema,
  Tracer
} from "effect"
import { Telemetry } from "effect/ai"
import { refusalOf } from "../budget/BudgetError.ts"

export const StepEvent = Schema.Union([
  Schema.Struct({ type: Schema.Literal("start"), step: Schema.String, at: Schema.Number }),
  Schema.Struct({
    type: Schema.Literal("retry"),
    step: Schema.String,
    at: Schema.Number,
    /** The attempt that is starting (2 for the first retry). */
    attempt: Schema.Number,
    /** What the previous attempt failed with. */
    error: Schema.String
  }),
  Schema.Struct({
    type: Schema.Literal("end"),
    step: Schema.String,
    at: Schema.Number,
    durationMs: Schema.Number,
    attempts: Schema.Number
  }),
  Schema.Struct({
    type: Schema.Literal("failure"),
    step: Schema.String,
    at: Schema.Number,
    durationMs: Schema.Number,
    attempts: Schema.Number,
    error: Schema.String,
    interrupted: Schema.Boolean
  }),
  Schema.Struct({
    type: Schema.Literal("usage"),
    step: Schema.String,
    /** When the call was settled. */
    at: Schema.Number,
    /** How long the call took, when the budget knows (its span then starts `durationMs` before `at`). */
    durationMs: Schema.optional(Schema.Number),
    model: Schema.String,
    inputTokens: Schema.Number,
    outputTokens: Schema.Number,
    costUsd: Schema.Number,
    outcome: Schema.Literals(["ok", "failed", "invalid", "interrupted"])
  })
])
/** One thing that happened in a run. A Schema, so a trace can be stored or sent as JSON. */
export type StepEvent = typeof StepEvent.Type

export interface RunTraceService {
  /** When the run began, in Clock ms. */
  readonly startedAt: number
  /**
   * Records one event: appended to the trace, told to the listener and, when
   * the run has spans on, applied to its spans. A `start` opens the step's
   * span under `span` (the span the step runs in; default the run's span) and
   * returns it; `retry`, `end` and `failure` act on `span`, the span their
   * `start` returned; a `usage` annotates the model call's span.
   */
  readonly record: (event: StepEvent, span?: Tracer.AnySpan | undefined) => Tracer.Span | undefined
  readonly events: () => ReadonlyArray<StepEvent>
  /** True while the run records spans. */
  readonly hasSpans: () => boolean
  /**
   * Turns spans on for this trace: step spans hang from `root` (the run's
   * span). Called by `withRunSpan`; not for step code.
   */
  readonly recordSpans: (tracer: Tracer.Tracer, clock: Clock.Clock, root: Tracer.Span) => RunSpans
}

/** A run's spans, as `withRunSpan` drives them. */
export interface RunSpans {
  /** The tracer the run uses: the caller's, holding back the end of effect/ai's model-call spans (see `holdEnd`). */
  readonly tracer: Tracer.Tracer
  /** Ends the run's span with the run's exit and totals, and any span still held. */
  readonly end: (exit: Exit.Exit<unknown, unknown>) => void
}

export class RunTrace extends Context.Service<RunTrace, RunTraceService>()("weft/workflow/RunTrace") {}

/**
 * Whether runs record effect `Tracer` spans. Off by default (a step then pays
 * nothing for them); `layerSpans` turns it on, as does `spans: true` on a run.
 */
export const Spans = Context.Reference<boolean>("weft/workflow/Trace/Spans", { defaultValue: () => false })

/** Turns spans on for every run it is provided to; pair it with a tracer layer (e.g. `Otlp.layer`). */
export const layerSpans: Layer.Layer<never> = Layer.succeed(Spans, true)

/** A fresh trace starting now, telling `onEvent` of each event. */
export const make = (onEvent?: (event: StepEvent) => void): Effect.Effect<RunTraceService> =>
  Effect.map(Clock.currentTimeMillis, (startedAt) => makeAt(startedAt, onEvent))

/** Span attribute names Weft writes beside the GenAI ones. */
export const Attributes = {
  workflow: "weft.workflow.name",
  step: "weft.step.name",
  attempt: "weft.step.attempt",
  attempts: "weft.step.attempts",
  retries: "weft.step.retries",
  outcome: "weft.step.outcome",
  error: "weft.step.error",
  callOutcome: "weft.call.outcome",
  costUsd: "weft.usage.cost_usd",
  inputTokens: "weft.usage.input_tokens",
  outputTokens: "weft.usage.output_tokens"
} as const

interface Totals {
  inputTokens: number
  outputTokens: number
  costUsd: number
}

interface SpanState {
  readonly tracer: Tracer.Tracer
  readonly clock: Clock.Clock
  readonly root: Tracer.Span
  /** Each open step span by step name, latest last (a usage names its step, not its span). */
  readonly open: Map<string, Array<Tracer.Span>>
  readonly totals: WeakMap<Tracer.Span, Totals>
  /** Model-call spans that ended but wait for their usage before they really end. */
  readonly held: Array<HeldSpan>
}

interface HeldSpan {
  readonly span: Tracer.Span
  /** Ends the span as it asked to end (its own end time and exit). */
  readonly release: () => void
}

/**
 * The budget charges a call after effect/ai's `LanguageModel.*` span for it
 * has ended; an ended span takes no attributes and an exporter has already
 * sent it. So under a run with spans, such a span's end is held (its end time
 * and exit kept) until the call's usage is written on it, or its step ends.
 */
const holdEnd = (state: SpanState, span: Tracer.Span): void => {
  const end = span.end.bind(span)
  let asked: readonly [bigint, Exit.Exit<unknown, unknown>] | undefined
  const held: HeldSpan = {
    span,
    release: () => {
      if (asked === undefined) return
      const [endTime, exit] = asked
      asked = undefined
      end(endTime, exit)
    }
  }
  span.end = (endTime, exit) => {
    if (asked !== undefined) return
    asked = [endTime, exit]
    state.held.push(held)
  }
}

const descends = (span: Tracer.AnySpan, ancestor: Tracer.AnySpan): boolean => {
  let current = span._tag === "Span" ? Option.getOrUndefined(span.parent) : undefined
  while (current !== undefined) {
    if (current === ancestor) return true
    current = current._tag === "Span" ? Option.getOrUndefined(current.parent) : undefined
  }
  return false
}

/** The latest held model-call span under `ancestor`, taken from the held list. */
const takeHeld = (state: SpanState, ancestor: Tracer.Span): HeldSpan | undefined => {
  for (let i = state.held.length - 1; i >= 0; i--) {
    const held = state.held[i] as HeldSpan
    if (descends(held.span, ancestor)) {
      state.held.splice(i, 1)
      return held
    }
  }
  return undefined
}

/** Ends every held span under `ancestor` (all of them when `ancestor` is the run's span). */
const releaseHeld = (state: SpanState, ancestor: Tracer.Span): void => {
  for (let i = state.held.length - 1; i >= 0; i--) {
    const held = state.held[i] as HeldSpan
    if (ancestor === state.root || descends(held.span, ancestor)) {
      state.held.splice(i, 1)
      held.release()
    }
  }
}

/** A fresh trace that counts time from `startedAt` (Clock ms). */
export const makeAt = (startedAt: number, onEvent?: (event: StepEvent) => void): RunTraceService => {
  const events: Array<StepEvent> = []
  let spans: SpanState | undefined
  return {
    startedAt,
    record: (event, span) => {
      events.push(event)
      onEvent?.(event)
      return spans === undefined ? undefined : applyToSpans(spans, event, span)
    },
    events: () => events.slice(),
    hasSpans: () => spans !== undefined,
    recordSpans: (tracer, clock, root) => {
      const state: SpanState = { tracer, clock, root, open: new Map(), totals: new WeakMap(), held: [] }
      spans = state
      return {
        tracer: Tracer.make({
          span(options) {
            const span = tracer.span(options)
            if (options.name.startsWith("LanguageModel.")) holdEnd(state, span)
            return span
          },
          ...(tracer.context === undefined ? {} : { context: tracer.context })
        }),
        end: (exit) => {
          const totals = { inputTokens: 0, outputTokens: 0, costUsd: 0 }
          for (const event of events) if (event.type === "usage") addTotals(totals, event)
          writeTotals(root, totals)
          releaseHeld(state, root)
          root.end(clock.currentTimeNanosUnsafe(), exit)
        }
      }
    }
  }
}

const openSpan = (
  state: SpanState,
  name: string,
  parent: Tracer.AnySpan,
  kind: Tracer.SpanKind,
  startTime: bigint
): Tracer.Span =>
  state.tracer.span({
    name,
    parent: Option.some(parent),
    annotations: Context.empty(),
    links: [],
    startTime,
    kind,
    root: false,
    sampled: parent.sampled
  })

const addTotals = (into: Totals, event: { inputTokens: number; outputTokens: number; costUsd: number }) => {
  into.inputTokens += event.inputTokens
  into.outputTokens += event.outputTokens
  into.costUsd += event.costUsd
}

const writeTotals = (span: Tracer.Span, totals: Totals | undefined) => {
  if (totals === undefined) return
  span.attribute(Attributes.inputTokens, totals.inputTokens)
  span.attribute(Attributes.outputTokens, totals.outputTokens)
  span.attribute(Attributes.costUsd, totals.costUsd)
}

/** The effect/ai span of the model call being settled, when the settlement runs inside it. */
const modelCallSpan = (): Tracer.Span | undefined => {
  const fiber = Fiber.getCurrent()
  const span = fiber === undefined ? undefined : Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
  return span !== undefined &&
    span._tag === "Span" &&
    span.status._tag === "Started" &&
    span.name.startsWith("LanguageModel.")
    ? span
    : undefined
}

/** The span a step's event acts on: the one given, else the latest open span of that step. */
const stepSpanOf = (
  state: SpanState,
  step: string,
  span: Tracer.AnySpan | undefined
): Tracer.Span | undefined => (span?._tag === "Span" ? span : state.open.get(step)?.at(-1))

const applyToSpans = (
  state: SpanState,
  event: StepEvent,
  span: Tracer.AnySpan | undefined
): Tracer.Span | undefined => {
  const now = state.clock.currentTimeNanosUnsafe()
  switch (event.type) {
    case "start": {
      const opened = openSpan(state, `step ${event.step}`, span ?? state.root, "internal", now)
      opened.attribute(Attributes.step, event.step)
      const open = state.open.get(event.step)
      if (open === undefined) state.open.set(event.step, [opened])
      else open.push(opened)
      return opened
    }
    case "retry": {
      const target = stepSpanOf(state, event.step, span)
      if (target === undefined) return undefined
      target.event("weft.step.retry", now, {
        [Attributes.attempt]: event.attempt,
        [Attributes.error]: event.error
      })
      target.attribute(Attributes.retries, event.attempt - 1)
      return target
    }
    case "end":
    case "failure": {
      const target = stepSpanOf(state, event.step, span)
      if (target === undefined) return undefined
      const open = state.open.get(event.step)
      const index = open === undefined ? -1 : open.lastIndexOf(target)
      if (index >= 0) open?.splice(index, 1)
      if (open !== undefined && open.length === 0) state.open.delete(event.step)
      const outcome = event.type === "end" ? "ok" : event.interrupted ? "interrupted" : "failed"
      target.attribute(Attributes.attempts, event.attempts)
      target.attribute(Attributes.retries, event.attempts - 1)
      target.attribute(Attributes.outcome, outcome)
      writeTotals(target, state.totals.get(target))
      releaseHeld(state, target)
      let exit: Exit.Exit<unknown, unknown> = Exit.void
      if (event.type === "failure") {
        target.attribute(Attributes.error, event.error)
        // The span's status says what the trace says: the error's one-line description, no more.
        exit = event.interrupted ? Exit.interrupt() : Exit.failCause(Cause.fail(event.error))
      }
      target.end(now, exit)
      return target
    }
    case "usage": {
      const stepSpan = state.open.get(event.step)?.at(-1)
      if (stepSpan !== undefined) {
        const totals = state.totals.get(stepSpan)
        if (totals === undefined)
          state.totals.set(stepSpan, {
            inputTokens: event.inputTokens,
            outputTokens: event.outputTokens,
            costUsd: event.costUsd
          })
        else addTotals(totals, event)
      }
      // The call's own span: effect/ai's `LanguageModel.*` span, still open when
      // the budget settles inside it, else held back since it ended (see
      // `holdEnd`); failing both, a client span for the call under its step.
      let callSpan = modelCallSpan()
      const held = callSpan === undefined ? takeHeld(state, stepSpan ?? state.root) : undefined
      if (held !== undefined) callSpan = held.span
      const own = callSpan === undefined
      if (callSpan === undefined) {
        const startTime =
          event.durationMs === undefined ? now : now - BigInt(Math.round(event.durationMs * 1_000_000))
        callSpan = openSpan(state, `chat ${event.model}`, stepSpan ?? state.root, "client", startTime)
      }
      Telemetry.addGenAIAnnotations(callSpan, {
        operation: { name: "chat" },
        request: { model: event.model },
        usage: { inputTokens: event.inputTokens, outputTokens: event.outputTokens }
      })
      callSpan.attribute(Attributes.step, event.step)
      callSpan.attribute(Attributes.costUsd, event.costUsd)
      callSpan.attribute(Attributes.callOutcome, event.outcome)
      if (own) {
        callSpan.end(
          now,
          event.outcome === "ok"
            ? Exit.void
            : event.outcome === "interrupted"
              ? Exit.interrupt()
              : Exit.failCause(Cause.fail(`model call ${event.outcome}`))
        )
      }
      held?.release()
      return callSpan
    }
  }
}

/**
 * Runs `program` — one workflow run — under a span named `workflow <name>`
 * (with `kind: "agent"`, an agent run: `agent <name>`, attribute
 * `weft.agent.name`) when spans are on (`options.spans`, else `Spans` from context), turning
 * spans on for `trace` so every step span hangs from it; with spans off it is
 * `program`. The run span ends with `program`'s exit and carries the run's
 * usage totals. Build the run's context *inside* `program` (e.g. with
 * `Effect.withFiber`): a context captured outside would drop the run span.
 */
export const withRunSpan = <A, E, R>(
  trace: RunTraceService,
  workflow: string,
  program: Effect.Effect<A, E, R>,
  options?: { readonly spans?: boolean | undefined; readonly kind?: "workflow" | "agent" | undefined }
): Effect.Effect<A, E, R> =>
  Effect.withFiber((fiber) => {
    if (!(options?.spans ?? fiber.getRef(Spans)) || !fiber.getRef(References.TracerEnabled)) return program
    const clock = fiber.getRef(Clock.Clock)
    const tracer = fiber.getRef(Tracer.Tracer)
    const parent = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
    const root = tracer.span({
      name: `${options?.kind ?? "workflow"} ${workflow}`,
      parent: Option.fromUndefinedOr(parent),
      annotations: Context.empty(),
      links: [],
      startTime: clock.currentTimeNanosUnsafe(),
      kind: "internal",
      root: parent === undefined,
      sampled: parent?.sampled ?? true
    })
    root.attribute(options?.kind === "agent" ? "weft.agent.name" : Attributes.workflow, workflow)
    const spans = trace.recordSpans(tracer, clock, root)
    return Effect.onExit(
      Effect.provideService(
        Effect.provideService(program, Tracer.ParentSpan, root),
        Tracer.Tracer,
        spans.tracer
      ),
      (exit) => Effect.sync(() => spans.end(exit))
    )
  })

/**
 * A one-line description of a failure that is safe to show: the error's tag
 * and message. Messages are built from the errors' own fields; secrets are
 * `Redacted` values, which print as `<redacted>`. A model call the budget
 * refused is described as the `BudgetError` it carries (which limit, by how
 * much), not as the provider-style quota error it travels in.
 */
export const describeError = (error: unknown): string => {
  const refusal = refusalOf(error)
  if (refusal !== undefined && refusal !== error) return describeError(refusal)
  const tag = Predicate.hasProperty(error, "_tag") && Predicate.isString(error._tag) ? error._tag : undefined
  const message =
    Predicate.hasProperty(error, "message") && Predicate.isString(error.message) && error.message.length > 0
      ? error.message
      : undefined
  if (tag !== undefined && message !== undefined) return `${tag}: ${message}`
  return tag ?? message ?? String(error)
}
