/**
 * Weft: a runtime for AI workflows and agents on Effect.
 *
 * Each component is an Effect service with layers you can swap — the model
 * (`effect/ai` `LanguageModel`, with the `Local` and `Scripted` providers),
 * the `Retriever`, the `Validator`, `Memory` and the `Budget` — persisted in
 * one SQL `Database` (embedded SQLite by default, PostgreSQL to scale), and a workflow
 * is a typed Effect program built from `Step`s with retries, timeouts,
 * concurrency limits and a budget shared by every branch of a run.
 */
export {
  Budget,
  BudgetError,
  BudgetExceeded,
  InvalidPrice,
  Meter,
  Prices,
  refusalOf,
  UnknownModel,
  Usage
} from "./budget/index.ts"
export { Agent, AgentError, AgentEvents, ToolCaller } from "./agent/index.ts"
export { InvalidOption } from "./core/InvalidOption.ts"
export { Memory, MemoryError, SqlStore } from "./memory/index.ts"
export { Fallback, Journal, Local, PassageFormat, Scripted, Tokens } from "./model/index.ts"
export { Rag, RagError } from "./rag/index.ts"
export {
  Bm25,
  Chunk,
  Chunking,
  Document,
  Filter,
  Hybrid,
  Ingest,
  LexicalEmbedding,
  Passage,
  Rerank,
  RetrievalError,
  Retriever,
  retrieve,
  SqlIndex,
  VectorIndex
} from "./retrieval/index.ts"
export type {
  ChunkOptions,
  FolderOptions,
  IndexProgress,
  IndexSize,
  RetrieveOptions,
  RetrieverOptions
} from "./retrieval/index.ts"
export {
  Database,
  DatabaseUnreachable,
  DataDirectoryInUse,
  DataDirectoryUnusable,
  QueryFailed,
  SchemaTooNew,
  SqliteUnavailable,
  StoreError,
  StoreFailed
} from "./store/index.ts"
export { ValidationError, Validator } from "./validation/index.ts"
export {
  Handler,
  InvalidInput,
  InvalidOutput,
  Report,
  Step,
  StepTimeout,
  Trace,
  Workflow,
  WorkflowError,
  WorkflowErrorReason
} from "./workflow/index.ts"
