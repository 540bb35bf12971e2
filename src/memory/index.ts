/** Memory: conversation turns and typed state per session. */
export * as Memory from "./Memory.ts"
export { MemoryError } from "./Memory.ts"
