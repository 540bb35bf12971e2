/**
 * On a Node without `node:sqlite` (Node 20 has none), the embedded store says
 * that Node is the problem, and how to go on, before it creates anything: not
 * that the data directory is unusable for a reason the user cannot act on.
 */
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { vi } from "vitest"
import { Effect, Layer } from "effect"
import * as Database from "../../src/store/Database.ts"

vi.mock("node:sqlite", () => {
  throw Object.assign(new Error("No such built-in module: node:sqlite"), {
    code: "ERR_UNKNOWN_BUILTIN_MODULE"
  })
})

describe("the embedded store on a Node without node:sqlite", () => {
  it.effect("fails at once naming the Node version and the ways out, and creates no directory", () =>
    Effect.gen(function* () {
      const directory = join(mkdtempSync(join(tmpdir(), "weft-nosqlite-")), "data")
      const error = yield* Effect.flip(Layer.build(Database.layerEmbedded({ directory })).pipe(Effect.scoped))
      assert.strictEqual(error._tag, "StoreError")
      // Its own reason: another directory would not help, a newer Node or PostgreSQL would.
      assert.strictEqual(error.reason._tag, "SqliteUnavailable")
      assert.isFalse(error.isRetryable)
      assert.include(error.message, "node:sqlite")
      assert.include(error.message, process.version)
      assert.include(error.message, "Node 22.19 or newer")
      assert.include(error.message, "PostgreSQL")
      assert.isFalse(existsSync(directory), "nothing was created")
    })
  )
})
