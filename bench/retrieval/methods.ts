/**
 * The retrieval methods bench/retrieval.ts compares, one entry each. A method
 * builds an index of a BEIR corpus and ranks document ids for a query; the
 * bench times both and scores the rankings. To compare a new method (SQL
 * BM25, hybrid fusion, …), add one entry to `methods`. The PostgreSQL methods
 * run only when `WEFT_BENCH_DATABASE_URL` names a server (each build in a
 * fresh database, dropped afterwards); otherwise they are listed in `skipped`.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import * as Bm25 from "../../src/retrieval/Bm25.ts"
import * as Hybrid from "../../src/retrieval/Hybrid.ts"
import * as LexicalEmbedding from "../../src/retrieval/LexicalEmbedding.ts"
import * as Rerank from "../../src/retrieval/Rerank.ts"
import * as Retriever from "../../src/retrieval/Retriever.ts"
import * as VectorIndex from "../../src/retrieval/VectorIndex.ts"
import * as SqlIndex from "../../src/retrieval/SqlIndex.ts"
import * as Database from "../../src/store/Database.ts"
import { type CorpusDoc, documentText } from "./beir.ts"

/**
 * One way of retrieving documents. `build` may acquire resources (a database,
 * a server) in its `Scope`; the bench closes the scope once the method's
 * queries have run.
 */
export interface Method<Index> {
  /** The name printed in `method=<name>`: lowercase, no spaces. */
  readonly name: string
  /** One line for the table: what is indexed and how. */
  readonly description: string
  /** Whether the method ranks by words alone (the goal for lexical methods is nDCG@10 ≥ 0.68). */
  readonly isLexical: boolean
  build(corpus: ReadonlyArray<CorpusDoc>): Effect.Effect<Index, unknown, Scope.Scope>
  /** At most `k` document ids (`CorpusDoc.id`), best first, without repeats. */
  search(index: Index, query: string, k: number): Effect.Effect<ReadonlyArray<string>, unknown>
}

// `build` and `search` are declared as methods, so a `Method<SomeIndex>` is
// also a `Method<unknown>` and one list can hold methods with different indexes.
export type AnyMethod = Method<unknown>

/**
 * The analyzer's stemmer for the lexical methods: the full Porter algorithm,
 * as Anserini's BM25 baselines (see docs/bench/scifact.md for the comparison).
 */
const stem = "porter"

/** The in-memory BM25 index (k1 1.2, b 0.75, Porter stemming), one text per document (title + text). */
const bm25: Method<{ readonly index: Bm25.Bm25Index; readonly ids: ReadonlyArray<string> }> = {
  name: "bm25",
  description: "in-memory BM25 (`Bm25.make`, k1 1.2, b 0.75, Porter stemming), title + text per document",
  isLexical: true,
  build: (corpus) =>
    Effect.map(Bm25.make(corpus.map(documentText), { stem }), (index) => ({
      index,
      ids: corpus.map((doc) => doc.id)
    })),
  search: ({ index, ids }, query, k) => Effect.sync(() => index.search(query, k).map((hit) => ids[hit.doc]!))
}

/** A BEIR document as the chunked methods index it: its title as a heading over its text. */
const asDocument = (doc: CorpusDoc) => ({
  sourceId: doc.id,
  text: doc.title.length > 0 ? `# ${doc.title}\n\n${doc.text}` : doc.text
})

/** The document ids of passages, best first, without repeats (a document ranks as its best chunk). */
const documentIds = (passages: ReadonlyArray<{ readonly sourceId: string }>, k: number) =>
  [...new Set(passages.map((passage) => passage.sourceId))].slice(0, k)

/**
 * The Retriever as the Rag workflow uses it: documents chunked with the
 * default chunking, each chunk indexed under its document's title; a
 * document ranks as its best chunk.
 */
const bm25Chunked: Method<Retriever.Retriever["Service"]> = {
  name: "bm25-chunked",
  description:
    "Retriever (default chunking, in-memory BM25, Porter stemming), a document ranked by its best chunk",
  isLexical: true,
  build: (corpus) => Retriever.fromDocuments(corpus.map(asDocument), { bm25: { stem } }),
  search: (retriever, query, k) =>
    query.trim().length === 0
      ? Effect.succeed([])
      : Effect.map(
          // Documents have few chunks: 4k chunks nearly always cover k documents.
          retriever.retrieve(query, { topK: 4 * k }),
          (passages) => documentIds(passages, k)
        )
}

/** An embedded SQLite store in a temporary data directory, removed when the build's scope closes. */
const embeddedSql = Effect.gen(function* () {
  const directory = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "weft-bench-sql-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
  const context = yield* Layer.build(Database.layerEmbedded({ directory }))
  return Context.get(context, SqlClient.SqlClient)
})

/** The SqlIndex (Porter stemming) of a corpus's documents, as the chunked methods index them, in `sql`. */
const sqlIndexOf = (sql: SqlClient.SqlClient, corpus: ReadonlyArray<CorpusDoc>) =>
  Effect.gen(function* () {
    const index = yield* SqlIndex.make({ bm25: { stem } }).pipe(
      Effect.provideService(SqlClient.SqlClient, sql)
    )
    yield* index.ingestDocuments(corpus.map(asDocument))
    return index
  })

/**
 * The persistent SQL index (`SqlIndex`) on the embedded store (SQLite in a
 * temporary data directory): the same chunks as bm25-chunked, BM25 computed
 * in SQL over the postings; a document ranks as its best chunk. Build time
 * includes writing every chunk and posting to the database.
 */
const sqlBm25: Method<SqlIndex.SqlIndex> = {
  name: "sql-bm25",
  description:
    "SqlIndex on embedded SQLite (default chunking, BM25 in SQL, Porter stemming), a document ranked by its best chunk",
  isLexical: true,
  build: (corpus) => Effect.flatMap(embeddedSql, (sql) => sqlIndexOf(sql, corpus)),
  search: (index, query, k) =>
    query.trim().length === 0
      ? Effect.succeed([])
      : Effect.map(index.search(query, { topK: 4 * k }), (passages) => documentIds(passages, k))
}

/**
 * Vector search with the offline LexicalEmbedding (hashed terms and character
 * n-grams: lexical, not semantic), exact cosine in memory over the chunks; the
 * query's terms weighted by their idf over the chunks (a tf-idf cosine).
 */
const vectorLexical: Method<VectorIndex.MemoryVectorIndex> = {
  name: "vector-lexical",
  description: `VectorIndex in memory, LexicalEmbedding (${LexicalEmbedding.modelName()}), query terms weighted by idf, exact cosine over chunks`,
  isLexical: true,
  build: (corpus) =>
    VectorIndex.fromDocuments(corpus.map(asDocument)).pipe(Effect.provide(LexicalEmbedding.layer())),
  search: (index, query, k) =>
    query.trim().length === 0
      ? Effect.succeed([])
      : Effect.map(index.search(query, { topK: 4 * k }), (passages) => documentIds(passages, k))
}

/** BM25 (the Retriever's) and the idf-weighted lexical vectors, fused with Hybrid's defaults. */
const hybrid: Method<Hybrid.Hybrid> = {
  name: "hybrid",
  description: `Hybrid: bm25-chunked + vector-lexical, ${Hybrid.defaults.fusion.toUpperCase()} (k ${Hybrid.defaults.k}, vector weight ${Hybrid.defaults.vectorWeight}, the defaults), 400 candidates each`,
  isLexical: true,
  build: (corpus) =>
    Hybrid.fromDocuments(corpus.map(asDocument), { bm25: { stem } }).pipe(
      Effect.provide(LexicalEmbedding.layer())
    ),
  search: (index, query, k) =>
    query.trim().length === 0
      ? Effect.succeed([])
      : Effect.map(
          index.search(query, { topK: 4 * k, bm25Candidates: 4 * k, vectorCandidates: 4 * k }),
          (passages) => documentIds(passages, k)
        )
}

/**
 * The hybrid over SQL, as a persistent store runs it: the SqlIndex (BM25 in
 * SQL) and the SQL VectorIndex of the lexical embedding (vectors in
 * weft_vectors, query idf from the postings) on embedded SQLite, fused with
 * Hybrid's defaults. Build time includes ingesting and embedding into the database.
 */
const hybridSql: Method<Hybrid.Hybrid<VectorIndex.VectorIndexError>> = {
  name: "hybrid-sql",
  description:
    "Hybrid over SQL on embedded SQLite: sql-bm25 + VectorIndex.layerSqlLexical (query idf from weft_postings), Hybrid's defaults, 400 candidates each",
  isLexical: true,
  build: (corpus) =>
    Effect.gen(function* () {
      const sql = yield* embeddedSql
      const index = yield* sqlIndexOf(sql, corpus)
      const vectors = Context.get(
        yield* Layer.build(VectorIndex.layerSqlLexical()).pipe(
          Effect.provideService(SqlClient.SqlClient, sql)
        ),
        VectorIndex.VectorIndex
      )
      yield* vectors.sync({ collection: index.collection })
      return Hybrid.make({
        bm25: (query, { topK, where }) => index.search(query, { topK, where }),
        vector: (query, { topK, where }) =>
          vectors.search(query, { collection: index.collection, topK, where })
      })
    }),
  search: hybrid.search
}

/** The PostgreSQL server the pg methods run on: an admin URL whose user may CREATE DATABASE. */
const benchDatabaseUrl = process.env.WEFT_BENCH_DATABASE_URL ?? ""

let databaseCounter = 0

/**
 * A fresh database on the bench server, dropped (with its connections) when
 * the build's scope closes; as test/support/databases.ts `freshPostgres`.
 */
const freshPostgres = (adminUrl: string) =>
  Effect.gen(function* () {
    const name = `weft_bench_${process.pid}_${Date.now().toString(36)}_${databaseCounter++}`
    const admin = yield* Layer.build(
      Database.layerPostgres({ url: Redacted.make(adminUrl), maxConnections: 1 })
    )
    const run = (statement: string) =>
      Context.get(admin, SqlClient.SqlClient).unsafe(statement).pipe(Effect.orDie)
    yield* Effect.acquireRelease(run(`CREATE DATABASE ${name}`), () =>
      run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    )
    const url = new URL(adminUrl)
    url.pathname = `/${name}`
    const context = yield* Layer.build(
      Database.layerPostgres({ url: Redacted.make(url.toString()), maxConnections: 4 })
    )
    return Context.get(context, SqlClient.SqlClient)
  })

/**
 * sql-bm25 on PostgreSQL: the same SqlIndex code, chunks and BM25 in SQL, in a
 * fresh database on the bench server. Build time includes creating the
 * database and writing every chunk and posting over the connection.
 */
const sqlBm25Pg: Method<SqlIndex.SqlIndex> = {
  name: "sql-bm25-pg",
  description:
    "SqlIndex on PostgreSQL (as sql-bm25: default chunking, BM25 in SQL, Porter stemming), a document ranked by its best chunk",
  isLexical: true,
  build: (corpus) => Effect.flatMap(freshPostgres(benchDatabaseUrl), (sql) => sqlIndexOf(sql, corpus)),
  search: sqlBm25.search
}

/**
 * The orders pg-fts can rank matches in: PostgreSQL's two ranking functions,
 * raw or divided by 1 + the log of the document's length (normalisation 1).
 */
const ftsRankings = {
  ts_rank: { name: "pg-fts", expression: "ts_rank(tsv, q.query, 1)", label: "`ts_rank` (normalisation 1)" },
  ts_rank_cd: {
    name: "pg-fts-cd",
    expression: "ts_rank_cd(tsv, q.query)",
    label: "`ts_rank_cd` (no normalisation)"
  },
  ts_rank_cd_1: {
    name: "pg-fts-cd-norm",
    expression: "ts_rank_cd(tsv, q.query, 1)",
    label: "`ts_rank_cd` (normalisation 1)"
  }
} as const

/**
 * PostgreSQL's own full-text search, one row per document (not chunked): a
 * generated `tsvector` of title and text (the `english` configuration:
 * Snowball stemming, stop words), a GIN index built after loading, and a query
 * that ORs the lexemes of `to_tsvector('english', query)` (AND finds almost
 * nothing for a whole claim), ranked as `ranking` says. Build time includes
 * creating the database, loading, indexing and ANALYZE.
 */
const pgFtsWith = (ranking: keyof typeof ftsRankings): Method<SqlClient.SqlClient> => ({
  name: ftsRankings[ranking].name,
  description: `PostgreSQL full-text search: generated tsvector ('english') of title + text per document, GIN index, the query's lexemes ORed, ranked by ${ftsRankings[ranking].label}`,
  isLexical: true,
  build: (corpus) =>
    Effect.gen(function* () {
      const sql = yield* freshPostgres(benchDatabaseUrl)
      yield* sql`CREATE TABLE bench_fts (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', title || ' ' || body)) STORED
      )`
      // 3 parameters a row: 2,000 rows a statement stay well under PostgreSQL's 65,535.
      const rows = corpus.map((doc) => ({ id: doc.id, title: doc.title, body: doc.text }))
      const batches = Array.from(
        { length: Math.ceil(rows.length / 2_000) },
        (_, i) => rows.slice(i * 2_000, (i + 1) * 2_000) as [(typeof rows)[number], ...typeof rows]
      )
      yield* sql.withTransaction(
        Effect.forEach(batches, (batch) => sql`INSERT INTO bench_fts ${sql.insert(batch)}`, { discard: true })
      )
      yield* sql`CREATE INDEX bench_fts_tsv ON bench_fts USING GIN (tsv)`
      yield* sql`ANALYZE bench_fts`
      return sql
    }),
  search: (sql, query, k) =>
    query.trim().length === 0
      ? Effect.succeed([])
      : Effect.map(
          // Each lexeme quoted as a tsquery literal (quotes and backslashes doubled), so none reads as an operator.
          sql<{ id: string }>`
            WITH q AS (
              SELECT string_agg('''' || replace(replace(lexeme, '\\', '\\\\'), '''', '''''') || '''', ' | ')::tsquery AS query
              FROM unnest(tsvector_to_array(to_tsvector('english', ${query}))) AS lexeme
            )
            SELECT id FROM bench_fts, q
            WHERE tsv @@ q.query
            ORDER BY ${sql.literal(ftsRankings[ranking].expression)} DESC, id
            LIMIT ${k}`,
          (rows) => rows.map((row) => row.id)
        )
})

/** PostgreSQL full-text search ranked by `ts_rank` with normalisation 1, the best of the rankings on SciFact train. */
const pgFts = pgFtsWith("ts_rank")

/** The methods that need the bench server, and pg-fts's other rankings, for comparison. */
export const postgresMethods = {
  sqlBm25Pg,
  pgFts,
  pgFtsCd: pgFtsWith("ts_rank_cd"),
  pgFtsCdNorm: pgFtsWith("ts_rank_cd_1")
}

/**
 * The hybrid above, its first 50 fused passages reordered by the offline
 * reranker (query-term coverage, proximity and title, idf from the candidates).
 */
const hybridRerank: Method<{ readonly hybrid: Hybrid.Hybrid; readonly rerank: Hybrid.Reranker }> = {
  name: "hybrid+rerank",
  description: `hybrid, then \`Rerank.make()\` over the first ${Hybrid.defaults.rerankDepth} passages (coverage ${Rerank.defaults.coverageWeight}, proximity ${Rerank.defaults.proximityWeight}, title ${Rerank.defaults.titleWeight})`,
  isLexical: true,
  build: (corpus) =>
    Effect.all({ hybrid: hybrid.build(corpus), rerank: Rerank.make() }) as Effect.Effect<
      { readonly hybrid: Hybrid.Hybrid; readonly rerank: Hybrid.Reranker },
      unknown,
      Scope.Scope
    >,
  search: ({ hybrid: index, rerank }, query, k) =>
    query.trim().length === 0
      ? Effect.succeed([])
      : Effect.map(
          index.search(query, { topK: 4 * k, bm25Candidates: 4 * k, vectorCandidates: 4 * k, rerank }),
          (passages) => documentIds(passages, k)
        )
}

/** Every method the bench runs, in the order it prints them. */
export const methods: ReadonlyArray<AnyMethod> = [
  bm25,
  bm25Chunked,
  sqlBm25,
  vectorLexical,
  hybrid,
  hybridRerank,
  hybridSql,
  ...(benchDatabaseUrl === "" ? [] : [sqlBm25Pg, pgFts])
]

/** Methods not run this time, each with what it needs (the bench prints one line each). */
export const skipped: ReadonlyArray<{ readonly name: string; readonly needs: string }> =
  benchDatabaseUrl === ""
    ? [sqlBm25Pg, pgFts].map((method) => ({
        name: method.name,
        needs: "WEFT_BENCH_DATABASE_URL, a PostgreSQL server whose user may CREATE DATABASE"
      }))
    : []
