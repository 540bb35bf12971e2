/**
 * The retrieval methods bench/retrieval.ts compares, one entry each. A method
 * builds an index of a BEIR corpus and ranks document ids for a query; the
 * bench times both and scores the rankings. To compare a new method (SQL
 * BM25, hybrid fusion, …), add one entry to `methods`.
 */
import { Effect, type Scope } from "effect"
import * as Bm25 from "../../src/retrieval/Bm25.ts"
import * as Retriever from "../../src/retrieval/Retriever.ts"
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
  build: (corpus) =>
    Retriever.fromDocuments(
      corpus.map((doc) => ({
        sourceId: doc.id,
        text: doc.title.length > 0 ? `# ${doc.title}\n\n${doc.text}` : doc.text
      })),
      { bm25: { stem } }
    ),
  search: (retriever, query, k) =>
    query.trim().length === 0
      ? Effect.succeed([])
      : Effect.map(
          // Documents have few chunks: 4k chunks nearly always cover k documents.
          retriever.retrieve(query, { topK: 4 * k }),
          (passages) => [...new Set(passages.map((passage) => passage.sourceId))].slice(0, k)
        )
}

/** Every method the bench runs, in the order it prints them. */
export const methods: ReadonlyArray<AnyMethod> = [bm25, bm25Chunked]
