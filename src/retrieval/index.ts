/**
 * Retrieval: load documents, chunk them, index them with BM25 and retrieve the
 * passages relevant to a query through the `Retriever` service.
 */
export * as Bm25 from "./Bm25.ts"
export * as Chunking from "./Chunking.ts"
export type { Chunk, ChunkOptions, Document } from "./Chunking.ts"
export * as Ingest from "./Ingest.ts"
export { RetrievalError, RetrievalErrorReason } from "./RetrievalError.ts"
export {
  defaultTopK,
  type FolderOptions,
  type IndexSize,
  type Passage,
  type RetrieveOptions,
  Retriever,
  type RetrieverOptions,
  retrieve,
  indexSize
} from "./Retriever.ts"
