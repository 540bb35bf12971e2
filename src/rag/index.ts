/** Grounded question answering over a corpus, as a ready-made workflow. */
export * as Rag from "./Rag.ts"
export { RagError } from "./Rag.ts"
