/**
 * Grounded question answering over a corpus, as a Weft workflow.
 *
 * Six steps, each visible in the run's timeline:
 *   interpret → retrieve → assemble → model → validate → store
 * `interpret` normalises the question and, in a session, makes a short
 * follow-up ("and how often?") standalone by prefixing the question before
 * it, for both the search and the prompt; `retrieve` asks the
 * `Retriever`; `assemble` writes the instructions, recent turns and numbered
 * passages into one prompt; `model` asks the `LanguageModel` through the
 * repair loop, which re-asks when an answer cites a passage it was not given
 * or cites none; `validate` turns the citations into sources; `store` records
 * the exchange in `Memory`.
 *
 * Every model call — retries and repairs included — goes through the run's
 * budget.
 */
import { Duration, Effect, Schedule, Schema } from "effect"
import { Prompt } from "effect/ai"
import { Memory } from "../memory/index.ts"
import { formatPassages, UNANSWERED } from "../model/PassageFormat.ts"
import { Retriever } from "../retrieval/Retriever.ts"
import type { Passage } from "../retrieval/Retriever.ts"
import { Validator } from "../validation/index.ts"
import * as Step from "../workflow/Step.ts"
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
  excerpt: Schema.String
})
export type Citation = typeof Citation.Type

export const Answer = Schema.Struct({
  answer: Schema.String,
  citations: Schema.Array(Citation),
  /** How many answers the model gave before one passed validation. */
  attempts: Schema.Number
})
export type Answer = typeof Answer.Type

export class RagError extends Schema.TaggedError<RagError>()("RagError", {
  reason: Schema.Literals(["EmptyQuestion"]),
  message: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
}

export interface RagOptions {
  /** Passages to retrieve. Default 5. */
  readonly topK?: number | undefined
  /** Answers to ask for before giving up on validation. Default 3. */
  readonly maxAttempts?: number | undefined
  /** The most one model attempt may take. Default 60 s. */
  readonly modelTimeout?: Duration.Input | undefined
  /** Retries for retryable model failures (rate limits, 5xx, timeouts). Default: 3, exponential from 200 ms. */
  readonly modelRetry?: Schedule.Schedule<unknown, unknown, never, never> | undefined
  /** The instructions at the head of the prompt. */
  readonly instructions?: string | undefined
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

const excerptOf = (text: string, max = 160): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length <= max ? flat : flat.slice(0, max - 1) + "…"
}

/** The question-answering workflow. Needs a `Retriever`, a `LanguageModel` and `Memory`. */
export const workflow = (options?: RagOptions) => {
  const topK = options?.topK ?? 5
  const maxAttempts = options?.maxAttempts ?? 3
  const modelPolicy = {
    timeout: options?.modelTimeout ?? Duration.seconds(60),
    retry: options?.modelRetry ?? Schedule.max([Schedule.exponential("200 millis"), Schedule.recurs(3)])
  }
  const instructions = options?.instructions ?? defaultInstructions

  return Workflow.make({
    name: "rag",
    input: Question,
    output: Answer,
    run: (input: Question) =>
      Effect.gen(function* () {
        const memory = yield* Memory.Memory
        const retriever = yield* Retriever

        const { question, query, history } = yield* Step.make(
          "interpret",
          Effect.gen(function* () {
            const question = input.question.replace(/\s+/g, " ").trim()
            if (question.length === 0) {
              return yield* new RagError({ reason: "EmptyQuestion", message: "The question is empty" })
            }
            const history =
              input.sessionId === undefined ? [] : yield* memory.history(input.sessionId, { last: 4 })
            const previous = history.filter((t) => t.role === "user").at(-1)
            // A short follow-up ("and the budget?") is made standalone with the question before it.
            const query =
              previous !== undefined && isFollowUp(question) ? `${previous.text} ${question}` : question
            return { question, query, history }
          })
        )

        const passages: ReadonlyArray<Passage> = yield* Step.make(
          "retrieve",
          retriever.retrieve(query, { topK })
        )

        const prompt = yield* Step.make(
          "assemble",
          Effect.sync(() =>
            Prompt.make([
              { role: "system", content: instructions },
              ...history.map((turn) => ({ role: turn.role, content: turn.text })),
              {
                role: "user",
                content: `Passages:\n\n${formatPassages(passages)}\n\nQuestion: ${query}`
              }
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
                check: Validator.all(Validator.grounded(passages.length), Validator.nonEmpty),
                maxAttempts
              }),
          modelPolicy
        )

        const answer: Answer = yield* Step.make(
          "validate",
          Effect.sync(() => {
            const citations = generated.value.map((n): Citation => {
              const passage = passages[n - 1]!
              return {
                n,
                sourceId: passage.sourceId,
                ...(passage.title === undefined ? {} : { title: passage.title }),
                score: passage.score,
                excerpt: excerptOf(passage.text)
              }
            })
            return { answer: generated.text, citations, attempts: generated.attempts.length }
          })
        )

        yield* Step.make(
          "store",
          input.sessionId === undefined
            ? Effect.void
            : Effect.andThen(
                memory.append(input.sessionId, { role: "user", text: question }),
                memory.append(input.sessionId, {
                  role: "assistant",
                  text: answer.answer,
                  citations: answer.citations.map((c) => c.sourceId)
                })
              )
        )
        return answer
      })
  })
}

/** Runs one question through the workflow. */
export const ask = (
  question: string,
  options?: RagOptions & Workflow.RunOptions & { readonly sessionId?: string }
) =>
  Workflow.run(
    workflow(options),
    { question, ...(options?.sessionId === undefined ? {} : { sessionId: options.sessionId }) },
    options
  )
