/** Memory: conversation turns and typed state per session. */
export * from "./Memory.ts"
