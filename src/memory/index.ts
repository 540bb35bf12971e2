/**
 * Memory: conversation history as effect/ai Prompt messages (condensed by the
 * model past a token budget, and loadable as an effect/ai Chat), typed state
 * per session, and paused runs.
 */
export * as Memory from "./Memory.ts"
export { MemoryError } from "./Memory.ts"
