/** Memory: conversation history as effect/ai Prompt messages, typed state per session, and paused runs. */
export * as Memory from "./Memory.ts"
export { MemoryError } from "./Memory.ts"
