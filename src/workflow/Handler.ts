/**
 * Runs a workflow once per request with services built once.
 *
 * A workflow asks for its services (model, retriever, memory…) on every run.
 * A server builds them once at start-up — indexing a corpus, loading a
 * tokenizer — and then answers many requests, each with its own input and
 * budget. `make` captures the services from the context it runs in and
 * returns a function that runs the workflow with them; the function's effect
 * needs nothing more, so it drops into an HTTP handler, a queue consumer or a
 * CLI loop as is.
 *
 *   const ask = yield* Handler.build(Rag.workflow(), services)   // built once
 *   const result = yield* ask({ question }, { budget: { modelCalls: 3 } })
 *
 * `build` builds the services' layer in the current scope, so they live as
 * long as the server does (`Effect.provide` would release them as soon as the
 * handler is made); `make` takes them from the context it runs in.
 *
 * As in effect's RPC server, the caller's context takes precedence over the
 * captured one, so the request's span, clock and scope stay the request's.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import * as Workflow from "./Workflow.ts"

/** A workflow with its services bound: run it with an input and this run's options (its budget). */
export type Handler<II, O, E> = (
  input: II,
  options?: Workflow.RunOptions
) => Effect.Effect<Workflow.RunResult<O>, Workflow.RunError<E>>

// A field the run leaves undefined keeps its default.
const withDefaults = (
  defaults: Workflow.RunOptions | undefined,
  options: Workflow.RunOptions | undefined
): Workflow.RunOptions | undefined => {
  if (options === undefined || defaults === undefined) return options ?? defaults
  const merged: Record<string, unknown> = { ...defaults }
  for (const [key, value] of Object.entries(options)) if (value !== undefined) merged[key] = value
  return merged as Workflow.RunOptions
}

/**
 * Captures the workflow's services from the current context and returns a
 * function running it with them. `defaults` apply to every run; a run's own
 * options override them field by field (a `budget` given per run replaces the
 * default budget as a whole).
 */
export const make = <I, O, E, R, II>(
  workflow: Workflow.Workflow<I, O, E, R, II>,
  defaults?: Workflow.RunOptions
): Effect.Effect<Handler<II, O, E>, never, Exclude<R, Workflow.Provided>> =>
  Effect.map(
    Effect.context<Exclude<R, Workflow.Provided>>(),
    (services) => (input, options) =>
      Effect.updateContext(
        Workflow.run(workflow, input, withDefaults(defaults, options)),
        (current: Context.Context<never>) => Context.merge(services, current)
      )
  )

/**
 * Builds `services` once, in the current scope (they are released when it
 * closes), and returns a function running the workflow with them.
 */
export const build = <I, O, E, R, II, LE, LR>(
  workflow: Workflow.Workflow<I, O, E, R, II>,
  services: Layer.Layer<Exclude<R, Workflow.Provided>, LE, LR>,
  defaults?: Workflow.RunOptions
): Effect.Effect<Handler<II, O, E>, LE, LR | Scope.Scope> =>
  Effect.flatMap(Layer.build(services), (context) => Effect.provideContext(make(workflow, defaults), context))
