/**
 * The one error of the retrieval area.
 *
 * Every failure while loading, chunking, indexing or querying documents is a
 * `RetrievalError` whose `reason` says what went wrong and whose `message` is a
 * sentence a person can act on (it names the file, folder or option). The
 * corpus, the options and the query are the caller's, so a retry fails the same
 * way, with one exception: a file the system reported busy or timed out.
 */
import { PlatformError, Schema } from "effect"

export const RetrievalErrorReason = Schema.Literals([
  "EmptyQuery",
  "EmptyCorpus",
  "FolderNotFound",
  "UnreadableFile",
  "InvalidOptions"
])

export type RetrievalErrorReason = typeof RetrievalErrorReason.Type

export class RetrievalError extends Schema.TaggedError<RetrievalError>()("RetrievalError", {
  reason: RetrievalErrorReason,
  message: Schema.String,
  /** The file or folder the failure is about, when there is one. */
  path: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect())
}) {
  /**
   * True only for a file the system reported busy or timed out; an empty query,
   * an empty or missing folder, a dangling link, a denied permission and bad
   * options all fail the same way again.
   */
  get isRetryable(): boolean {
    return this.reason === "UnreadableFile" && isTransient(this.cause)
  }
}

const isTransient = (cause: unknown): boolean =>
  cause instanceof PlatformError.PlatformError &&
  (cause.reason._tag === "Busy" || cause.reason._tag === "TimedOut" || cause.reason._tag === "WouldBlock")
