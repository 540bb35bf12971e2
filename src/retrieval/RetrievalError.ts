/**
 * The retrieval area's one error, `RetrievalError`, and its reasons.
 *
 * Every failure while loading, chunking, indexing or querying documents is a
 * `RetrievalError` whose `reason` is a tagged class with its own fields (the
 * shape of `effect/ai`'s `AiError`), so a caller can write
 * `Effect.catchReason("RetrievalError", "UnreadableFile", …)`. Each reason's
 * `message` is a sentence a person can act on: it names the file, folder,
 * source or option. The corpus, the options and the query are the caller's,
 * so a retry fails the same way, with two exceptions: a file the system
 * reported busy or timed out, and a database failure the database said to retry.
 */
import { PlatformError, Schema } from "effect"
import { InvalidOption } from "../core/InvalidOption.ts"
import { type StoreError, StoreFailed } from "../store/StoreError.ts"

export { InvalidOption } from "../core/InvalidOption.ts"
/** The persistent index's database failed (or could not be opened or migrated); shared with `MemoryError`. */
export { StoreFailed } from "../store/StoreError.ts"

/** A query with no text in it. */
export class EmptyQuery extends Schema.TaggedError<EmptyQuery>("weft/EmptyQuery")("EmptyQuery", {}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return "The query is empty."
  }
}

/** Nothing to index: no documents, no matching files, or files holding no text. */
export class EmptyCorpus extends Schema.TaggedError<EmptyCorpus>("weft/EmptyCorpus")("EmptyCorpus", {
  /** What was found empty, as a sentence, e.g. `"No .md or .txt files in docs."`. */
  description: Schema.String,
  /** The folder, when the corpus was read from one. */
  path: Schema.optional(Schema.String)
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return this.description
  }
}

/** The folder to read is missing or is not a folder. */
export class FolderNotFound extends Schema.TaggedError<FolderNotFound>("weft/FolderNotFound")(
  "FolderNotFound",
  {
    path: Schema.String,
    /** Why, when there is more to say than "missing", e.g. `"it is not a folder"`. */
    description: Schema.optional(Schema.String),
    cause: Schema.optional(Schema.Defect())
  }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return this.description === undefined
      ? `No folder at ${this.path}.`
      : `No folder at ${this.path}: ${this.description}.`
  }
}

/** A file (or a folder to list) that exists but cannot be read. */
export class UnreadableFile extends Schema.TaggedError<UnreadableFile>("weft/UnreadableFile")(
  "UnreadableFile",
  {
    path: Schema.String,
    /** Why, e.g. `"permission denied"` or `"it does not exist (a broken link?)"`. */
    description: Schema.String,
    cause: Schema.optional(Schema.Defect())
  }
) {
  /** True only when the system reported the file busy or timed out. */
  get isRetryable(): boolean {
    return isTransient(this.cause)
  }
  override get message(): string {
    return `Cannot read ${this.path}: ${this.description}.`
  }
}

/** Two documents with the same `sourceId`: their chunk ids would collide. */
export class DuplicateSource extends Schema.TaggedError<DuplicateSource>("weft/DuplicateSource")(
  "DuplicateSource",
  { sourceId: Schema.String }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `Two documents share the sourceId ${this.sourceId}; chunk ids would collide.`
  }
}

/** The caller's `filter` threw while a query ran; the index is unaffected. */
export class FilterFailed extends Schema.TaggedError<FilterFailed>("weft/FilterFailed")("FilterFailed", {
  /** The passage the filter was asked about. */
  passageId: Schema.String,
  cause: Schema.Defect()
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    const why = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `The retrieve filter threw on passage ${this.passageId}: ${why}`
  }
}

/** A query that alone takes more tokens than the context budget it was given. */
export class QueryTooLong extends Schema.TaggedError<QueryTooLong>("weft/QueryTooLong")("QueryTooLong", {
  queryTokens: Schema.Number,
  tokenBudget: Schema.Number
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `The query takes ${this.queryTokens} tokens, more than the context budget of ${this.tokenBudget}; shorten it or raise tokenBudget.`
  }
}

export const RetrievalErrorReason = Schema.Union([
  EmptyQuery,
  EmptyCorpus,
  FolderNotFound,
  UnreadableFile,
  DuplicateSource,
  FilterFailed,
  QueryTooLong,
  StoreFailed,
  InvalidOption
])
export type RetrievalErrorReason = typeof RetrievalErrorReason.Type

export class RetrievalError extends Schema.TaggedError<RetrievalError>("weft/RetrievalError")(
  "RetrievalError",
  {
    reason: RetrievalErrorReason
  }
) {
  override readonly cause = this.reason
  /** True only for a file the system reported busy or timed out, or a transient database failure. */
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
  override get message(): string {
    return this.reason.message
  }
}

/** A `RetrievalError` for a failed database operation. */
export const storeFailed = (error: StoreError): RetrievalError =>
  new RetrievalError({ reason: new StoreFailed({ error }) })

/** Wraps a reason in a `RetrievalError`. */
export const fail = (reason: RetrievalErrorReason): RetrievalError => new RetrievalError({ reason })

/** A `RetrievalError` for an option the retrieval area cannot accept. */
export const invalidOption = (option: string, value: string, expected: string): RetrievalError =>
  new RetrievalError({ reason: new InvalidOption({ option, value, expected }) })

const isTransient = (cause: unknown): boolean =>
  cause instanceof PlatformError.PlatformError &&
  (cause.reason._tag === "Busy" || cause.reason._tag === "TimedOut" || cause.reason._tag === "WouldBlock")
