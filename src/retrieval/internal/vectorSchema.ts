/**
 * The vector index's tables and their numbered migrations (domain
 * `"retrieval-vectors"` in `Database.migrate`), beside the retrieval tables of
 * `sqlSchema.ts` that they refer to by (collection, chunk id).
 *
 * - `weft_vectors`: one embedding per (collection, model, chunk): its length,
 *   the content hash of the chunk's document when it was embedded (a changed
 *   document keeps its chunk ids, so the hash is what tells a stale vector),
 *   and the vector as float32 little-endian bytes (BLOB on SQLite, BYTEA on
 *   PostgreSQL). No pgvector: the PostgreSQL packaged here has none, so search
 *   scans the vectors in JS; a pgvector column could be added by a later
 *   migration on servers that have the extension.
 * - `weft_vector_state`: a version per (collection, model), bumped by every
 *   sync that changes a vector, so a process caching the vectors in memory
 *   knows when another one changed them.
 *
 * Append a migration to change the schema; never edit one that has shipped.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"
import * as Database from "../../store/Database.ts"
import type { StoreError } from "../../store/StoreError.ts"
import * as SqlSchema from "./sqlSchema.ts"

/** The migration domain of the vector tables. */
export const domain = "retrieval-vectors"

/** The vector schema, in order. */
export const migrations: ReadonlyArray<Database.Migration> = [
  (sql) =>
    Effect.gen(function* () {
      const bytes = sql.onDialectOrElse({ pg: () => "BYTEA", orElse: () => "BLOB" })
      yield* sql.unsafe(`CREATE TABLE weft_vectors (
          collection TEXT NOT NULL,
          chunk_id TEXT NOT NULL,
          model TEXT NOT NULL,
          dimensions INTEGER NOT NULL,
          content_hash TEXT NOT NULL,
          vector ${bytes} NOT NULL,
          PRIMARY KEY (collection, model, chunk_id)
        )`)
      yield* sql.unsafe(`CREATE TABLE weft_vector_state (
          collection TEXT NOT NULL,
          model TEXT NOT NULL,
          version INTEGER NOT NULL,
          PRIMARY KEY (collection, model)
        )`)
    })
]

/** Brings the retrieval tables, then the vector tables, up to date in the open database. */
export const migrate: Effect.Effect<void, StoreError, SqlClient.SqlClient> = Effect.andThen(
  SqlSchema.migrate,
  Database.migrate(domain, migrations)
)
