/**
 * The store area's one error, `StoreError`, and its reasons: what can go wrong
 * opening a database, migrating its schema, or running a query on it.
 *
 * Messages name the database by where it is — the data directory, or the
 * server URL with its password removed — never by a secret.
 */
import { Schema } from "effect"
import type { SqlError } from "effect/sql"
import { InvalidOption } from "../core/InvalidOption.ts"

/** The PostgreSQL server did not answer, refused the login, or the URL is malformed. */
export class DatabaseUnreachable extends Schema.TaggedError<DatabaseUnreachable>("weft/DatabaseUnreachable")(
  "DatabaseUnreachable",
  {
    /** The URL as given, without its password. */
    url: Schema.String,
    detail: Schema.String
  }
) {
  get isRetryable(): boolean {
    return true
  }
  override get message(): string {
    return `Cannot reach the database at ${this.url}: ${this.detail}`
  }
}

/** Another process has the embedded data directory open. */
export class DataDirectoryInUse extends Schema.TaggedError<DataDirectoryInUse>("weft/DataDirectoryInUse")(
  "DataDirectoryInUse",
  { directory: Schema.String }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `The data directory ${this.directory} is in use by another process; stop it, or use another directory.`
  }
}

/** The embedded data directory cannot be created or holds something that is not a Weft database. */
export class DataDirectoryUnusable extends Schema.TaggedError<DataDirectoryUnusable>(
  "weft/DataDirectoryUnusable"
)("DataDirectoryUnusable", { directory: Schema.String, detail: Schema.String }) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `Cannot use the data directory ${this.directory}: ${this.detail}`
  }
}

/**
 * The embedded store cannot run on this Node: it has no `node:sqlite` (Node 20 has none; Weft
 * needs Node 22.19 or newer). Nothing was created. Another directory will not help; a newer
 * Node, or PostgreSQL, will.
 */
export class SqliteUnavailable extends Schema.TaggedError<SqliteUnavailable>("weft/SqliteUnavailable")(
  "SqliteUnavailable",
  { nodeVersion: Schema.String }
) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return (
      `The embedded store needs Node's built-in node:sqlite, which this Node (${this.nodeVersion}) does not have: ` +
      "run Node 22.19 or newer (as weft-ai's engines say), or use PostgreSQL (Database.layerPostgres, or DATABASE_URL)."
    )
  }
}

/** The database was written by a newer Weft, with a schema this version does not know. */
export class SchemaTooNew extends Schema.TaggedError<SchemaTooNew>("weft/SchemaTooNew")("SchemaTooNew", {
  /** Which part of the schema: `"retrieval"`, `"memory"`. */
  domain: Schema.String,
  found: Schema.Number,
  supported: Schema.Number
}) {
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    return `The database's ${this.domain} schema is version ${this.found}, newer than this Weft knows (${this.supported}); upgrade weft-ai to open it.`
  }
}

/** A statement failed on an open database. */
export class QueryFailed extends Schema.TaggedError<QueryFailed>("weft/QueryFailed")("QueryFailed", {
  /** What Weft was doing, e.g. `"retrieval.ingest"`. */
  operation: Schema.String,
  detail: Schema.String,
  /** True when the database said to try again (a lock, a serialization conflict, a lost connection). */
  transient: Schema.Boolean,
  cause: Schema.optional(Schema.Defect())
}) {
  get isRetryable(): boolean {
    return this.transient
  }
  override get message(): string {
    return `The database failed during ${this.operation}: ${this.detail}`
  }
}

export const StoreErrorReason = Schema.Union([
  DatabaseUnreachable,
  DataDirectoryInUse,
  DataDirectoryUnusable,
  SqliteUnavailable,
  SchemaTooNew,
  QueryFailed,
  InvalidOption
])
export type StoreErrorReason = typeof StoreErrorReason.Type

export class StoreError extends Schema.TaggedError<StoreError>("weft/StoreError")("StoreError", {
  reason: StoreErrorReason
}) {
  override readonly cause = this.reason
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
  override get message(): string {
    return this.reason.message
  }
}

/** Wraps a reason in a `StoreError`. */
export const fail = (reason: StoreErrorReason): StoreError => new StoreError({ reason })

/** A `StoreError` for a failed statement, keeping whether the database said to retry. */
export const queryFailed = (operation: string, error: SqlError.SqlError): StoreError =>
  fail(
    new QueryFailed({
      operation,
      detail: error.message,
      transient: error.isRetryable,
      cause: error
    })
  )

/** `url` with its password (and any `password=` parameter) removed, for messages and logs. */
export const redactUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.password !== "") parsed.password = ""
    if (parsed.searchParams.has("password")) parsed.searchParams.delete("password")
    return parsed.toString()
  } catch {
    return "(a malformed database URL)"
  }
}

/**
 * The reason an area's own error (`MemoryError`, `RetrievalError`) carries
 * when its store failed: the `StoreError` itself, retryable when it is.
 */
export class StoreFailed extends Schema.TaggedError<StoreFailed>("weft/StoreFailed")("StoreFailed", {
  error: StoreError
}) {
  get isRetryable(): boolean {
    return this.error.isRetryable
  }
  override get message(): string {
    return this.error.message
  }
}
