/**
 * `npm run weft`: the persistent-store CLI (examples/weft.ts), started from the
 * same bundle as `npm start` (see examples/start.mjs) instead of ~450 modules.
 */
process.env.WEFT_START_ENTRY = "weft"
await import("./start.mjs")
