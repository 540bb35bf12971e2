/**
 * Storage: the SQL database (embedded SQLite or PostgreSQL) that retrieval
 * indexes, memories and paused runs persist in.
 */
export * as Database from "./Database.ts"
export {
  DatabaseUnreachable,
  DataDirectoryInUse,
  DataDirectoryUnusable,
  QueryFailed,
  SchemaTooNew,
  SqliteUnavailable,
  StoreError,
  StoreErrorReason,
  StoreFailed
} from "./StoreError.ts"
