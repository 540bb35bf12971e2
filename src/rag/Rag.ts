/**
 * Grounded question answering over a corpus, as a Weft workflow.
 *
 * Six steps, each visible in the run's timeline:
 *   interpret → retrieve → assemble → model → validate → store
 * `interpret` normalises the question and, in a session, makes a short
 * follow-up ("and how often?") standalone by prefixing the question before
 * it, for both the search and the prompt; `retrieve` asks the
 * `Retriever`, its query expanded with everyday synonyms (`text/Synonyms`); `assemble` writes the instructions, recent turns and numbered
 * passages into one prompt; `model` asks the `LanguageModel` through the
 * repair loop, which re-asks when an answer cites a passage it was not given
 * or cites none; `validate` turns the citations into sources; `store` records
 * the exchange in `Memory`: the question as a user message, the answer as
 * an assistant message carrying its citations as data (`citationsOf`).
 *
 * The model's retry and timeout apply to each model call inside the repair
 * loop, not to the loop as a whole: a rate limit on the second answer retries
 * that call (recorded as a retry of the `model` step), and the first answer is
 * neither asked for nor paid for again. Every model call — retries and repairs
 * included — goes through the run's budget.
 *
 * `Memory` is needed only for sessions: a question without a `sessionId` runs
 * with no `Memory` provided; one with a `sessionId` and no `Memory` fails with
 * `RagError` reason `MemoryMissing`.
 */
import { Clock, Context, Duration, Effect, Option, Schedule, Schema, Tracer } from "effect"
import { Prompt } from "effect/ai"
import { checkInteger, InvalidOption } from "../core/InvalidOption.ts"
import { Memory } from "../memory/index.ts"
import { formatPassages, quotedSentences, UNANSWERED } from "../model/PassageFormat.ts"
import { Retriever } from "../retrieval/Retriever.ts"
import type { Passage } from "../retrieval/Retriever.ts"
import { synonymsOf } from "../text/Synonyms.ts"
import { Validator } from "../validation/index.ts"
import * as Step from "../workflow/Step.ts"
import { describeError, RunTrace } from "../workflow/Trace.ts"
import * as Workflow from "../workflow/Workflow.ts"

export const Question = Schema.Struct({
  question: Schema.String,
  /** Keep the conversation under this id in Memory. */
  sessionId: Schema.optional(Schema.String)
})
export type Question = typeof Question.Type

export const Citation = Schema.Struct({
  /** The number the answer cites it by, `[n]`. */
  n: Schema.Number,
  sourceId: Schema.String,
  title: Schema.optional(Schema.String),
  score: Schema.Number,
  /** The passage's first words. */
  excerpt: Schema.String,
  /**
   * The passage's sentences the answer drew on ("…" between them), so a reader can check the
   * citation at a glance; the excerpt when the answer paraphrases too freely to point at one.
   */
  quote: Schema.String
})
export type Citation = typeof Citation.Type

export const Answer = Schema.Struct({
  answer: Schema.String,
  citations: Schema.Array(Citation),
  /** How many answers the model gave before one passed validation. */
  attempts: Schema.Number
})
export type Answer = typeof Answer.Type

/** The question is empty once spaces are taken out. */
export class EmptyQuestion extends Schema.TaggedError<EmptyQuestion>("weft/rag/EmptyQuestion")(
  "EmptyQuestion",
  {}
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return "The question is empty"
  }
}

/** A `sessionId` was given but no `Memory` was provided to keep the session in. */
export class MemoryMissing extends Schema.TaggedError<MemoryMissing>("weft/rag/MemoryMissing")(
  "MemoryMissing",
  {
    sessionId: Schema.String
  }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `Session "${this.sessionId}" needs Memory: provide a Memory layer (e.g. Memory.layerInMemory), or ask without a sessionId`
  }
}

export const RagErrorReason = Schema.Union([EmptyQuestion, MemoryMissing, InvalidOption])
export type RagErrorReason = typeof RagErrorReason.Type

/** The RAG workflow's own error; `reason` says what happened. Never retryable. */
export class RagError extends Schema.TaggedError<RagError>("weft/rag/RagError")("RagError", {
  reason: RagErrorReason
}) {
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
  override get message(): string {
    return this.reason.message
  }
}

export interface RagOptions {
  /** Passages to retrieve: an integer ≥ 1. Default 5. */
  readonly topK?: number | undefined
  /** Answers to ask for before giving up on validation: an integer ≥ 1. Default 3. */
  readonly maxAttempts?: number | undefined
  /** The most one model call may take (each call on its own, retries and repairs included). Default 60 s. */
  readonly modelTimeout?: Duration.Input | undefined
  /**
   * When to retry one model call after a retryable failure (rate limit, 5xx,
   * timeout); a rate limit's `retryAfter` stretches the delay. Default: 3
   * retries, exponential from 200 ms.
   */
  readonly modelRetry?: Schedule.Schedule<unknown, unknown, never, never> | undefined
  /** Require a citation in every sentence of the answer (`Validator.citeEverySentence`). Default false. */
  readonly citeEverySentence?: boolean | undefined
  /** The instructions at the head of the prompt. */
  readonly instructions?: string | undefined
  /**
   * Expand the search with everyday synonyms of the question's words
   * (`text/Synonyms`), each counting half as much as the question's own words,
   * so a paraphrase ("work mobile") still finds the passage that words it
   * otherwise ("company smartphone"). Default true.
   */
  readonly expandQuery?: boolean | undefined
  /**
   * Keep a session's history under a token budget: after each answer is
   * stored, a history over `maxTokens` has its older turns summarised by the
   * model and replaced, the last `keepLastTurns` (default 2) kept verbatim
   * (`Memory.condense`; the summary is a metered model call of the same run).
   * Default: never condensed.
   */
  readonly condense?: { readonly maxTokens: number; readonly keepLastTurns?: number | undefined } | undefined
}

export const defaultInstructions =
  "Answer the question using only the numbered passages. Cite the passage each statement comes from as [n]. " +
  `If the passages do not answer the question, reply exactly: ${UNANSWERED}`

const NO_PASSAGES = "I found nothing in the corpus about that."

// A follow-up leans on the question before it: it opens with a connective
// ("and the budget?", "what about retries?") or, being short, points back with
// a pronoun ("how often is it checked?").
const CONNECTIVE = /^(and|but|also|so|then|what about|how about)\b/i
const POINTER = /\b(it|its|that|this|they|them|those|these)\b/i
const isFollowUp = (question: string): boolean =>
  CONNECTIVE.test(question) || (question.split(" ").length <= 6 && POINTER.test(question))

const userText = (text: string): Prompt.UserMessage =>
  Prompt.userMessage({ content: [Prompt.textPart({ text })] })

// A session kept before citations carried their quote holds none: it reads back as the excerpt.
const CitationData = Schema.Struct({
  citations: Schema.Array(Schema.Struct({ ...Citation.fields, quote: Schema.optionalKey(Schema.String) }))
})

/**
 * The answer as the assistant message a session keeps: its text, and its
 * citations as data under the message's Weft options (`Memory.OPTIONS_KEY`),
 * which `citationsOf` reads back.
 */
export const answerMessage = (answer: Answer): Prompt.AssistantMessage =>
  Prompt.assistantMessage({
    content: [Prompt.textPart({ text: answer.answer })],
    options: {
      [Memory.OPTIONS_KEY]: Schema.encodeSync(CitationData)({ citations: answer.citations }) as Schema.Json
    }
  })

/** The citations an answer kept in a session carries (`answerMessage`); none for any other message. */
export const citationsOf = (message: Prompt.Message): ReadonlyArray<Citation> =>
  Option.match(Schema.decodeUnknownOption(CitationData)(message.options[Memory.OPTIONS_KEY]), {
    onNone: () => [],
    onSome: (data) =>
      data.citations.map((citation) => ({ ...citation, quote: citation.quote ?? citation.excerpt }))
  })

const excerptOf = (text: string, max = 160): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length <= max ? flat : flat.slice(0, max - 1) + "…"
}

/** The first option the workflow cannot accept, if any. */
const invalidOption = (options: RagOptions | undefined): InvalidOption | undefined =>
  (options?.topK === undefined ? undefined : checkInteger("topK", options.topK, 1)) ??
  (options?.maxAttempts === undefined ? undefined : checkInteger("maxAttempts", options.maxAttempts, 1)) ??
  (options?.modelTimeout === undefined
    ? undefined
    : Validator.checkDuration("modelTimeout", options.modelTimeout))

/**
 * Records a model call's retry in the run trace as a retry of the `model` step
 * (on the step's span when the run has spans: the retry runs between calls,
 * where the step's span is the current one).
 */
const recordRetry = (retry: Validator.CallRetry): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    const trace = Context.getOrUndefined(fiber.context, RunTrace)
    trace?.record(
      {
        type: "retry",
        step: "model",
        at: fiber.getRef(Clock.Clock).currentTimeMillisUnsafe() - trace.startedAt,
        attempt: retry.call,
        error: describeError(retry.error)
      },
      Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
    )
    return Effect.void
  })

/**
 * The question-answering workflow. Needs a `Retriever` and a `LanguageModel`;
 * `Memory` too when a question carries a `sessionId`.
 */
export const workflow = (options?: RagOptions) => {
  const topK = options?.topK ?? 5
  const maxAttempts = options?.maxAttempts ?? 3
  const callPolicy: Validator.CallPolicy = {
    timeout: options?.modelTimeout ?? Duration.seconds(60),
    retry: options?.modelRetry ?? Schedule.max([Schedule.exponential("200 millis"), Schedule.recurs(3)]),
    onRetry: recordRetry
  }
  const citeEverySentence = options?.citeEverySentence ?? false
  const instructions = options?.instructions ?? defaultInstructions
  const expandQuery = options?.expandQuery ?? true

  return Workflow.make({
    name: "rag",
    input: Question,
    output: Answer,
    run: (input: Question) =>
      Effect.gen(function* () {
        const retriever = yield* Retriever
        // Memory only for a session: a caller without sessions provides none.
        const memory = yield* Effect.serviceOption(Memory.Memory)

        const { question, query, history, session } = yield* Step.make(
          "interpret",
          Effect.gen(function* () {
            const invalid = invalidOption(options)
            if (invalid !== undefined) return yield* new RagError({ reason: invalid })
            const question = input.question.replace(/\s+/g, " ").trim()
            if (question.length === 0) return yield* new RagError({ reason: new EmptyQuestion() })
            const sessionId = input.sessionId
            if (sessionId !== undefined && Option.isNone(memory)) {
              return yield* new RagError({ reason: new MemoryMissing({ sessionId }) })
            }
            const session =
              sessionId === undefined || Option.isNone(memory)
                ? undefined
                : { id: sessionId, memory: memory.value }
            const history =
              session === undefined ? [] : yield* session.memory.history(session.id, { last: 4 })
            const previous = history.findLast((message) => message.role === "user")
            // A short follow-up ("and the budget?") is made standalone with the question before it.
            const query =
              previous !== undefined && isFollowUp(question)
                ? `${Memory.textOf(previous)} ${question}`
                : question
            return { question, query, history, session }
          })
        )

        const passages: ReadonlyArray<Passage> = yield* Step.make(
          "retrieve",
          retriever.retrieve(query, expandQuery ? { topK, expand: synonymsOf } : { topK })
        )

        const prompt = yield* Step.make(
          "assemble",
          Effect.sync(() =>
            Prompt.fromMessages([
              Prompt.systemMessage({ content: instructions }),
              ...history,
              userText(`Passages:\n\n${formatPassages(passages)}\n\nQuestion: ${query}`)
            ])
          )
        )

        const generated = yield* Step.make(
          "model",
          passages.length === 0
            ? Effect.succeed<Validator.Validated<ReadonlyArray<number>>>({
                value: [],
                text: NO_PASSAGES,
                attempts: []
              })
            : // The accepted answer's value is the passage numbers it cites, checked against what was retrieved.
              Validator.generateValidated({
                prompt,
                check: Validator.all(
                  Validator.grounded(passages.length),
                  Validator.nonEmpty,
                  ...(citeEverySentence ? [Validator.citeEverySentence] : [])
                ),
                maxAttempts,
                // Retry and timeout per model call, inside the loop.
                callPolicy
              })
        )

        const answer: Answer = yield* Step.make(
          "validate",
          Effect.sync(() => {
            const citations = generated.value.map((n): Citation => {
              const passage = passages[n - 1]!
              const excerpt = excerptOf(passage.text)
              return {
                n,
                sourceId: passage.sourceId,
                ...(passage.title === undefined ? {} : { title: passage.title }),
                score: passage.score,
                excerpt,
                quote: quotedSentences(generated.text, n, passage.text) ?? excerpt
              }
            })
            return { answer: generated.text, citations, attempts: generated.attempts.length }
          })
        )

        yield* Step.make(
          "store",
          session === undefined
            ? Effect.void
            : session.memory
                .append(session.id, [userText(question), answerMessage(answer)])
                .pipe(
                  Effect.andThen(
                    options?.condense === undefined
                      ? Effect.void
                      : Memory.condense(session.id, options.condense).pipe(
                          Effect.provideService(Memory.Memory, session.memory)
                        )
                  )
                )
        )
        return answer
      })
  })
}

/** Runs one question through the workflow. */
export const ask = (
  question: string,
  options?: RagOptions & Workflow.RunOptions & { readonly sessionId?: string | undefined }
) =>
  Workflow.run(
    workflow(options),
    { question, ...(options?.sessionId === undefined ? {} : { sessionId: options.sessionId }) },
    options
  )
