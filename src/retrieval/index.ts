/**
 * Retrieval: load documents, chunk them, index them with BM25 and retrieve the
 * passages relevant to a query through the `Retriever` service.
 */
export * as Bm25 from "./Bm25.ts"
export * as Chunking from "./Chunking.ts"
export type { Chunk, ChunkOptions, Document } from "./Chunking.ts"
export * as Ingest from "./Ingest.ts"
export {
  DuplicateSource,
  EmptyCorpus,
  EmptyQuery,
  FilterFailed,
  FolderNotFound,
  RetrievalError,
  RetrievalErrorReason,
  UnreadableFile
} from "./RetrievalError.ts"
export * as Retriever from "./Retriever.ts"
export { retrieve } from "./Retriever.ts"
export type {
  FolderOptions,
  IndexProgress,
  IndexSize,
  Passage,
  RetrieveOptions,
  RetrieverOptions
} from "./Retriever.ts"
