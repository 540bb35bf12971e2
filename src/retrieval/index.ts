/**
 * Retrieval: load documents, chunk them, index them with BM25 — in memory or
 * persistently in SQL (`SqlIndex`) — and with vectors (`VectorIndex`, over any
 * effect/ai EmbeddingModel; `LexicalEmbedding` offline), fuse both
 * (`Hybrid`), and retrieve the passages relevant to a query, filtered by
 * `Filter`s, through the `Retriever` service.
 */
export * as Bm25 from "./Bm25.ts"
export * as Chunking from "./Chunking.ts"
export { Chunk, Document } from "./Chunking.ts"
export type { ChunkOptions } from "./Chunking.ts"
export * as Filter from "./Filter.ts"
export * as Hybrid from "./Hybrid.ts"
export * as Ingest from "./Ingest.ts"
export * as LexicalEmbedding from "./LexicalEmbedding.ts"
export {
  DuplicateSource,
  EmptyCorpus,
  EmptyQuery,
  FilterFailed,
  FolderNotFound,
  QueryTooLong,
  RetrievalError,
  RetrievalErrorReason,
  StoreFailed,
  UnreadableFile
} from "./RetrievalError.ts"
export * as Rerank from "./Rerank.ts"
export * as Retriever from "./Retriever.ts"
export { Passage, retrieve } from "./Retriever.ts"
export * as SqlIndex from "./SqlIndex.ts"
export * as VectorIndex from "./VectorIndex.ts"
export type {
  FolderOptions,
  IndexProgress,
  IndexSize,
  RetrieveOptions,
  RetrieverOptions
} from "./Retriever.ts"
