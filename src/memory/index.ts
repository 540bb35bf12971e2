/**
 * Memory: conversation history as effect/ai Prompt messages (condensed by the
 * model past a token budget, and loadable as an effect/ai Chat), typed state
 * per session, and paused runs; kept in process (`Memory.layerInMemory`) or
 * in the SQL store (`SqlStore.layerMemory`, embedded SQLite or PostgreSQL).
 */
export * as Memory from "./Memory.ts"
export { MemoryError } from "./Memory.ts"
export * as ChatPersistence from "./ChatPersistence.ts"
export * as SqlStore from "./SqlStore.ts"
