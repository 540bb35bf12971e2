/**
 * The retrieval area's tables and their numbered migrations (domain
 * `"retrieval"` in `Database.migrate`), shared by the lexical index
 * (`SqlIndex`) and the vector index, which read and write the same rows.
 *
 * - `weft_collections`: one row per collection: chunk count and the sum of
 *   chunk lengths (BM25's N and average length), a `generation` bumped on
 *   every change (so a cache keyed by it knows when to reload), and the
 *   chunking and analyzer options as JSON (a collection is always indexed
 *   one way).
 * - `weft_documents`: one row per source document, with its metadata (title,
 *   updated-at in epoch ms, tags as a JSON array, free metadata as JSON) and
 *   the content hash that decides whether a re-ingested file changed.
 * - `weft_chunks`: the chunks, with their analysed length (BM25's document
 *   length).
 * - `weft_postings`: one row per (term, chunk) with the term's frequency,
 *   found by term for a search and by chunk when a chunk is replaced.
 *
 * The SQL is portable: it runs unchanged on SQLite and PostgreSQL. Append a
 * migration to change the schema; never edit one that has shipped.
 */
import { Effect } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import * as Database from "../../store/Database.ts"
import type { StoreError } from "../../store/StoreError.ts"

/** The migration domain of the retrieval tables. */
export const domain = "retrieval"

/** The retrieval schema, in order. */
export const migrations: ReadonlyArray<Database.Migration> = [
  (sql) =>
    runAll(sql, [
      `CREATE TABLE weft_collections (
        collection TEXT PRIMARY KEY,
        chunk_count INTEGER NOT NULL,
        total_length INTEGER NOT NULL,
        generation INTEGER NOT NULL,
        options TEXT NOT NULL
      )`,
      `CREATE TABLE weft_documents (
        collection TEXT NOT NULL,
        source_id TEXT NOT NULL,
        title TEXT NULL,
        updated_at BIGINT NULL,
        tags TEXT NOT NULL,
        metadata TEXT NULL,
        content_hash TEXT NOT NULL,
        chunk_count INTEGER NOT NULL,
        PRIMARY KEY (collection, source_id)
      )`,
      `CREATE TABLE weft_chunks (
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        source_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        title TEXT NULL,
        text TEXT NOT NULL,
        length INTEGER NOT NULL,
        PRIMARY KEY (collection, id)
      )`,
      `CREATE INDEX weft_chunks_source ON weft_chunks (collection, source_id)`,
      `CREATE TABLE weft_postings (
        collection TEXT NOT NULL,
        term TEXT NOT NULL,
        chunk_id TEXT NOT NULL,
        tf INTEGER NOT NULL,
        PRIMARY KEY (collection, term, chunk_id)
      )`,
      // Replacing or deleting a chunk finds its postings by chunk, not by term.
      `CREATE INDEX weft_postings_chunk ON weft_postings (collection, chunk_id)`
    ])
]

// `migrate` runs each migration inside its transaction already.
const runAll = (
  sql: SqlClient.SqlClient,
  statements: ReadonlyArray<string>
): Effect.Effect<void, SqlError.SqlError> =>
  Effect.forEach(statements, (statement) => sql.unsafe(statement), { discard: true })

/** Brings the retrieval tables up to date in the open database. */
export const migrate: Effect.Effect<void, StoreError, SqlClient.SqlClient> = Database.migrate(
  domain,
  migrations
)
