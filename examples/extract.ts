/**
 * Structured extraction with the repair loop: read a support e-mail into a
 * typed ticket, and watch a bad first answer get caught and fixed.
 *
 * The ticket's Schema has real constraints (an e-mail pattern, an order number
 * `ORD-` plus five digits, a severity from a fixed list, a whole number of
 * units). `Validator.generateObjectValidated` asks for the object, decodes the
 * answer, and on failure asks again with the decode error spelled out.
 *
 * To show a repair offline, the first answer comes from a "draft" model — the
 * Scripted double standing in for a cheap first-pass model, which copies the
 * labelled lines but slips the way such models do — and every later call goes
 * to the Local model. That routing is a demonstration of a cheap model
 * escalating to another on validation failure, nothing more. `--no-draft`
 * asks the Local model from the start. With `OPENAI_API_KEY` or
 * `OPENAI_BASE_URL` set, the OpenAI provider takes the Local model's place
 * (`WEFT_MODEL` names the model; see examples/provider.ts).
 *
 *   npm run example -- extract
 *   npm run example -- extract --file ./my-ticket.txt
 *   node examples/extract.ts --no-draft
 */
import { fileURLToPath } from "node:url"
import { Cause, Console, Effect, FileSystem, Option, Schema } from "effect"
import { LanguageModel, type Prompt } from "effect/ai"
import { Command, Flag } from "effect/cli"
import { Scripted, Tokens } from "../src/model/index.ts"
import { Validator } from "../src/validation/index.ts"
import { Step, Workflow } from "../src/workflow/index.ts"
import { displayPath, integer, maxCallsFlag, printRun, runCommand, userPath, withDefault } from "./cli.ts"
import { chooseModel } from "./provider.ts"

const DEFAULT_FILE = fileURLToPath(new URL("./data/ticket.txt", import.meta.url))

/** What a support e-mail must yield before anything downstream may trust it. */
export const Ticket = Schema.Struct({
  customer: Schema.String.check(Schema.isMinLength(1)),
  email: Schema.String.check(Schema.isPattern(/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i)),
  order: Schema.String.check(Schema.isPattern(/^ORD-\d{5}$/)),
  product: Schema.String.check(Schema.isMinLength(1)),
  severity: Schema.Literals(["low", "medium", "high", "critical"]),
  unitsAffected: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
})
export type Ticket = typeof Ticket.Type

const extractTicket = (maxAttempts: number) =>
  Workflow.make({
    name: "extract-ticket",
    input: Schema.Struct({
      email: Schema.String.check(Schema.isPattern(/\S/, { message: "The e-mail is empty" }))
    }),
    output: Schema.Struct({ ticket: Ticket, attempts: Schema.Array(Validator.Attempt) }),
    run: ({ email }) =>
      Step.make(
        "extract",
        Effect.map(
          Validator.generateObjectValidated({
            prompt: [
              { role: "system", content: "Read the support e-mail and return its ticket as a JSON object." },
              { role: "user", content: email }
            ],
            schema: Ticket,
            objectName: "ticket",
            maxAttempts
          }),
          (result) => ({ ticket: result.value, attempts: result.attempts })
        )
      )
  })

// ---- the draft model and the escalation ---------------------------------------

const userText = (prompt: Prompt.Prompt): string =>
  prompt.content
    .filter((message) => message.role === "user")
    .map(Tokens.messageText)
    .join("\n")

/**
 * The draft model's answer: the labelled lines copied, with the slips a cheap
 * model makes — the order number without its `ORD-` prefix, the severity
 * capitalised, the unit count left out.
 */
const draftAnswer = (text: string): Record<string, string | undefined> => {
  const field = (label: string) => new RegExp(`^${label}:[ \\t]*(.+)$`, "im").exec(text)?.[1]?.trim()
  const severity = field("Severity")
  return {
    customer: field("Customer"),
    email: field("Email"),
    order: field("Order")?.replace(/^ORD-/i, ""),
    product: field("Product"),
    severity: severity === undefined ? undefined : severity.charAt(0).toUpperCase() + severity.slice(1)
  }
}

interface NamedModel {
  readonly name: string
  readonly model: LanguageModel.LanguageModel
}

/**
 * A demonstration of escalation, not a library feature: the first call goes to
 * `first`, every later one (the repairs) to `then`. `routed` names the model
 * that answered each call, so attempt n was answered by `routed[n - 1]`.
 */
const escalating = (first: NamedModel, then: NamedModel) => {
  const routed: Array<string> = []
  const pick = (): LanguageModel.LanguageModel => {
    const to = routed.length === 0 ? first : then
    routed.push(to.name)
    return to.model
  }
  // Built on `then.model` (not a copy of it) so it keeps that model's marks: both
  // models meter their own calls, and the run must not meter the pair a second time.
  const model: LanguageModel.LanguageModel = Object.assign(Object.create(then.model), {
    generateText: ((options: any) =>
      Effect.suspend(() => pick().generateText(options))) as LanguageModel.LanguageModel["generateText"],
    generateObject: ((options: any) =>
      Effect.suspend(() => pick().generateObject(options))) as LanguageModel.LanguageModel["generateObject"]
  })
  return { model, routed }
}

// ---- printing -------------------------------------------------------------------

const printAttempts = (
  attempts: ReadonlyArray<Validator.Attempt>,
  routed: ReadonlyArray<string>,
  model: string
) =>
  Console.log(
    "\n" +
      attempts
        .map(
          (attempt) =>
            `Attempt ${attempt.attempt} · ${routed[attempt.attempt - 1] ?? model}\n  ${attempt.text}\n` +
            (attempt.issues.length === 0
              ? "  ✓ accepted"
              : attempt.issues.map((issue) => `  ✗ ${issue.check}: ${issue.message}`).join("\n"))
        )
        .join("\n\n")
  )

const printTicket = (ticket: Ticket) =>
  Console.log(
    "\nTicket\n" +
      Object.entries(ticket)
        .map(([key, value]) => `  ${key.padEnd(14)} ${String(value)}`)
        .join("\n")
  )

export const command = Command.make(
  "extract",
  {
    file: Flag.String("file").pipe(
      withDefault("A support e-mail to read", DEFAULT_FILE, "examples/data/ticket.txt")
    ),
    draft: Flag.Boolean("draft").pipe(
      withDefault(
        "Let a scripted draft model answer first (--no-draft: the Local model from the start)",
        true
      )
    ),
    maxAttempts: integer("max-attempts", 1).pipe(
      withDefault("Answers to ask for in all, the first included", 3)
    ),
    maxCalls: maxCallsFlag(5)
  },
  (flags) =>
    Effect.gen(function* () {
      const file = userPath(flags.file)
      const email = yield* (yield* FileSystem.FileSystem)
        .readFileString(file)
        .pipe(
          Effect.mapError(
            (error) =>
              new Error(
                `Cannot read the e-mail at ${file}: ${error.reason._tag === "NotFound" ? "no such file" : error.message}`
              )
          )
        )
      // Each provider layer meters its own calls against the run's budget, by its own name.
      const chosen = yield* chooseModel({ localNote: 'offline, fills the Schema from "Label: value" lines' })
      const local = yield* Effect.provide(Effect.service(LanguageModel.LanguageModel), chosen.layer)
      const draft = yield* Effect.provide(
        Effect.service(LanguageModel.LanguageModel),
        Scripted.layer([(prompt) => ({ object: draftAnswer(userText(prompt)) })], { model: "draft" })
      )
      const pair = flags.draft
        ? escalating({ name: "draft", model: draft }, { name: chosen.model, model: local })
        : undefined
      const routed = pair?.routed ?? []

      yield* Console.log(
        `Weft · extracting a support ticket from ${displayPath(file)}\n` +
          (flags.draft
            ? 'Models: attempt 1 goes to "draft", a Scripted stand-in for a cheap first-pass model;\n' +
              `        repairs go to ${chosen.description}.\n` +
              "        This routing is a demonstration of a cheap model escalating to another on validation failure."
            : `Model: ${chosen.description}`)
      )

      const outcome = yield* Workflow.runExit(
        extractTicket(flags.maxAttempts),
        { email },
        { budget: { modelCalls: flags.maxCalls, wallTime: "30 seconds" } }
      ).pipe(Effect.provideService(LanguageModel.LanguageModel, pair?.model ?? local))

      if (outcome.exit._tag === "Success") {
        yield* printAttempts(outcome.exit.value.attempts, routed, chosen.model)
        yield* printTicket(outcome.exit.value.ticket)
      } else {
        const error = Option.getOrUndefined(Cause.findErrorOption(outcome.exit.cause))
        if (error instanceof Validator.ValidationError && error.reason._tag === "RepairExhausted") {
          yield* printAttempts(error.reason.attempts, routed, chosen.model)
        }
      }
      yield* printRun(outcome.trace, outcome.usage)
      if (outcome.exit._tag === "Failure") return yield* outcome.exit
    })
).pipe(Command.withDescription("Extract a typed ticket from a support e-mail, repairing a bad first answer"))

if (import.meta.main) runCommand(command)
