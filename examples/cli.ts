/**
 * What the example scripts share as command-line programs: running one as the
 * process's main fiber (Ctrl-C interrupts it at once, exit 130, saying what it
 * interrupted), turning a typed failure or a bad flag into the one line a
 * person reads (never a stack trace, never a screen of help), flags that check
 * their values and show their defaults in `--help`, and printing timelines and
 * usage reports.
 */
import { isAbsolute, relative, resolve } from "node:path"
// The submodules, not the package index: the index loads the HTTP, socket and cluster
// modules too, about half a second of start-up this program never uses.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Console, Effect, Exit, Option, Predicate } from "effect"
import { type CliError, CliOutput, Command, Flag } from "effect/cli"
import type { UsageReport } from "../src/budget/Budget.ts"
import { checkInteger, checkPositive, InvalidOption } from "../src/core/InvalidOption.ts"
import { Report, type Trace } from "../src/workflow/index.ts"
import { grouped } from "../src/core/Grouped.ts"

export const VERSION = "0.1.0"

/** The one line a person sees when a run fails. */
export const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const error = Option.getOrUndefined(Cause.findErrorOption(cause))
  if (error !== undefined) {
    return Predicate.hasProperty(error, "message") &&
      Predicate.isString(error.message) &&
      error.message.length > 0
      ? error.message
      : String(error)
  }
  if (Cause.hasInterruptsOnly(cause)) return "interrupted"
  const defect = Cause.squash(cause)
  return defect instanceof Error
    ? `unexpected failure: ${defect.message}`
    : `unexpected failure: ${String(defect)}`
}

// ---- what the program is doing, for the line Ctrl-C prints --------------------

// One program runs per process, so the current activity is the process's; the
// last one is kept for a Ctrl-C heard only after the work ended.
let activity: string | undefined
let lastActivity: string | undefined

/**
 * Runs `effect` labelled as `label` ("indexing docs/"): interrupted inside it,
 * the program says `weft: interrupted while indexing docs/`. The label stays
 * set when the effect is interrupted, so the exit line can name it.
 */
export const during =
  (label: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      const previous = activity
      activity = label
      lastActivity = label
      return Effect.onExit(effect, (exit) =>
        Exit.hasInterrupts(exit)
          ? Effect.void
          : Effect.sync(() => {
              activity = previous
            })
      )
    })

// ---- bad invocations ---------------------------------------------------------------

/** A flag's value as the `InvalidOption` sentence: `--max-calls must be an integer ≥ 1, got 0`. */
const describeCliError = (error: CliError.NonShowHelpErrors): string => {
  if (error._tag === "InvalidValue") {
    const name = error.kind === "flag" ? `--${error.option}` : `<${error.option}>`
    const expected = error.expected.replace(/^Expected:?\s*/, "").replace(/^a string representing /, "")
    const value = /^[^\s"]+$/.test(error.value) ? error.value : JSON.stringify(error.value)
    return new InvalidOption({ option: name, value, expected }).message
  }
  return error.message.split("\n")[0]!
}

/**
 * Parse errors as one `weft: …` line each on stderr; the full help only when it was asked for, or when the command
 * named does not exist (the help then lists the ones that do).
 */
const presenter: CliOutput.Presenter = {
  present: (event) =>
    Effect.gen(function* () {
      if (event._tag !== "InvalidInvocation") return yield* CliOutput.defaultPresenter.present(event)
      if (event.errors.some((error) => error._tag === "UnknownSubcommand")) {
        const formatter = CliOutput.defaultFormatter({ colors: false })
        yield* Console.log(formatter.formatHelpDoc(event.helpDoc))
      }
      for (const error of event.errors) {
        const hint = error._tag === "UnrecognizedOption" ? " (--help lists the flags)" : ""
        yield* Console.error(`weft: ${describeCliError(error)}${hint}`)
      }
    })
}

/**
 * An argument that starts with "-" and reads like words ("-v how do I…") is a
 * question, not a cluster of short flags: effect/cli would take `-v` and `-h`
 * out of it and print the version or the help, exit 0, without a word about
 * the question. Such an argument (before any `--`) is refused instead.
 */
const questionLikeFlag = (args: ReadonlyArray<string>): string | undefined => {
  const end = args.indexOf("--")
  return (end === -1 ? args : args.slice(0, end)).find(
    (arg) =>
      arg.startsWith("-") &&
      !/^-\d*\.?\d+(?:[eE][+-]?\d+)?$/.test(arg) &&
      (/\s/.test(arg) || (!arg.startsWith("--") && arg.length > 2))
  )
}

// ---- running a command as the process ----------------------------------------------

/**
 * Runs a program as the process entry point, under `NodeRuntime.runMain`: a
 * failure prints `weft: <message>` on stderr and exits 1; Ctrl-C (SIGINT or
 * SIGTERM) interrupts the main fiber, prints `weft: interrupted while
 * <activity>` and exits 130.
 */
export const runMain = <E>(program: Effect.Effect<void, E, NodeServices.NodeServices>): void => {
  // NodeRuntime's own listener interrupts the main fiber, but it is removed when
  // the fiber ends; a Ctrl-C that lands during synchronous work can reach the
  // process only after that, and would be dropped. This one stays, so a late
  // Ctrl-C still ends the process with 130 rather than 0.
  let finished = false
  const late = () => {
    if (!finished) return
    const what = activity ?? lastActivity
    process.stderr.write(`\nweft: interrupted${what === undefined ? "" : ` while ${what}`}\n`)
    process.exit(130)
  }
  process.on("SIGINT", late)
  process.on("SIGTERM", late)
  program.pipe(
    Effect.catchCause((cause) => {
      const error = Option.getOrUndefined(Cause.findErrorOption(cause))
      // effect/cli has already presented the help, or the parse errors.
      if (Predicate.isTagged(error, "ShowHelp")) {
        const errors = (error as unknown as { readonly errors: ReadonlyArray<unknown> }).errors
        return Effect.sync(() => {
          if (errors.length > 0) process.exitCode = 1
        })
      }
      return Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause)
        : Effect.andThen(
            Console.error(`weft: ${describeFailure(cause)}`),
            Effect.sync(() => {
              process.exitCode = 1
            })
          )
    }),
    Effect.provide(CliOutput.layerPresenter(presenter)),
    Effect.provide(NodeServices.layer),
    NodeRuntime.runMain({
      disableErrorReporting: true,
      teardown: (exit, onExit) => {
        finished = true
        if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) {
          process.stderr.write(`\nweft: interrupted${activity === undefined ? "" : ` while ${activity}`}\n`)
          return onExit(130)
        }
        // One more turn of the event loop before leaving, to hear a Ctrl-C that
        // arrived while the last of the work ran without yielding.
        setImmediate(() => onExit(Exit.isSuccess(exit) ? 0 : 1))
      }
    })
  )
}

/** Runs a command on the process's arguments as the entry point (see `runMain`). */
export const runCommand = <Name extends string, Input, E, R extends NodeServices.NodeServices>(
  command: Command.Command<Name, Input, {}, E, R>
): void => {
  const args = process.argv.slice(2)
  const dashed = questionLikeFlag(args)
  const program: Effect.Effect<void, unknown, NodeServices.NodeServices> =
    dashed === undefined
      ? Command.runWith(command, { version: VERSION })(args)
      : Effect.fail(
          new Error(
            `${JSON.stringify(dashed)} is not a flag; to pass text that starts with "-", put -- before it (-- ${JSON.stringify(dashed)})`
          )
        )
  runMain(program)
}

// ---- flags -------------------------------------------------------------------------

/** Describes a flag and gives it a default, which `--help` shows: `description (default: shown)`. */
export const withDefault =
  <A>(description: string, defaultValue: A, shown: string = String(defaultValue)) =>
  (flag: Flag.Flag<A>): Flag.Flag<A> =>
    flag.pipe(Flag.withDescription(`${description} (default: ${shown})`), Flag.withDefault(defaultValue))

/** An integer flag that must be ≥ `min`; a bad value fails naming the flag as typed. */
export const integer = (name: string, min: number): Flag.Flag<number> =>
  Flag.Int(name).pipe(
    Flag.filter(
      (n) => checkInteger(`--${name}`, n, min) === undefined,
      (n) => checkInteger(`--${name}`, n, min)!.expected
    )
  )

/** A number flag that must be finite and > 0. */
export const positive = (name: string): Flag.Flag<number> =>
  Flag.Finite(name).pipe(
    Flag.filter(
      (n) => checkPositive(`--${name}`, n) === undefined,
      (n) => checkPositive(`--${name}`, n)!.expected
    )
  )

/** The `--max-calls` flag every example has: the run's model-call limit. */
export const maxCallsFlag = (defaultCalls: number) =>
  integer("max-calls", 1).pipe(withDefault("Model-call limit for the run", defaultCalls))

/** The `--json` flag: one JSON document on stdout instead of the report for people. */
export const jsonFlag = Flag.Boolean("json").pipe(
  withDefault("Print the result, trace and usage as one JSON document", false, "off")
)

// ---- paths and words ----------------------------------------------------------------

/**
 * A path the user typed, resolved against the folder they typed it in: npm
 * runs scripts from the package's folder and passes the original one as
 * `INIT_CWD`.
 */
export const userPath = (path: string): string => resolve(process.env.INIT_CWD ?? process.cwd(), path)

/** A path as a person wants to read it: relative to where they are, when it is below. */
export const displayPath = (path: string): string => {
  const fromHere = relative(process.env.INIT_CWD ?? process.cwd(), path)
  return fromHere === "" ? "." : fromHere.startsWith("..") || isAbsolute(fromHere) ? path : fromHere
}

/** `1 document`, `12 documents`, with thousands separators. */
export const plural = (n: number, one: string, many = `${one}s`): string =>
  `${grouped(n)} ${n === 1 ? one : many}`

/** The text, cut at `max` characters (on a word boundary when one is near) with `…`. */
export const clip = (text: string, max: number): string => {
  if (text.length <= max) return text
  const cut = text.slice(0, max - 1)
  const space = cut.lastIndexOf(" ")
  return `${space > max * 0.7 ? cut.slice(0, space) : cut}…`
}

// ---- printing ----------------------------------------------------------------------------

/** The timeline and the usage report of a run, as printed at the end of each example. */
export const printRun = (trace: ReadonlyArray<Trace.StepEvent>, usage: UsageReport) =>
  Console.log(`\n${Report.timeline(trace)}\n\n${Report.usage(usage)}`)

/**
 * A value as JSON a script can read: errors become `{ _tag, message, …fields }`
 * (JSON.stringify would drop an Error's message), everything else as it is.
 */
export const toJson = (value: unknown): string =>
  JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (v instanceof Error) {
        const fields = Object.fromEntries(
          Object.entries(v).filter(([key]) => key !== "cause" && key !== "stack")
        )
        return { _tag: (v as { _tag?: string })._tag ?? v.name, message: v.message, ...fields }
      }
      return typeof v === "bigint" ? v.toString() : v
    },
    2
  )

/** The `--progress` flag: show progress on stderr (default: when stderr is a terminal). */
export const progressFlag = Flag.Boolean("progress").pipe(
  Flag.withDescription("Show progress on stderr; --no-progress hides it (default: on a terminal)"),
  Flag.optional
)

/**
 * Progress on stderr while a long step runs. On a terminal the line is redrawn
 * in place, at most every 100 ms, and cleared when done; asked for elsewhere
 * (`--progress` into a log), it is a line at most every second. Off by
 * default when stderr is not a terminal, so logs and pipes get the summary only.
 */
export const progressLine = (wanted: Option.Option<boolean>) => {
  const terminal = process.stderr.isTTY === true
  const enabled = Option.getOrElse(wanted, () => terminal)
  let drawnAt = Number.NEGATIVE_INFINITY
  let drawn = false
  return {
    /** Draws `text` — a function is called only when the line is drawn, so a skipped update costs nothing. */
    update: (text: string | (() => string), force = false) => {
      if (!enabled) return
      const now = performance.now()
      if (!force && now - drawnAt < (terminal ? 100 : 1000)) return
      drawnAt = now
      if (typeof text === "function") text = text()
      if (!terminal) {
        process.stderr.write(`${text}\n`)
        return
      }
      drawn = true
      process.stderr.write(`\r\x1b[2K${clip(text, (process.stderr.columns ?? 80) - 1)}`)
    },
    done: () => {
      if (drawn) process.stderr.write("\r\x1b[2K")
      drawn = false
    }
  }
}
