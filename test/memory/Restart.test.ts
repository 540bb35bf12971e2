/**
 * A session and a paused approval outlive the process: process A writes a
 * conversation and typed state, then runs an agent until its transfer waits
 * for approval, and exits; process B, on the same data directory (or the same
 * PostgreSQL database), reads the history and state intact, approves, and the
 * run completes — once: a second resume, in B or in a third process, is
 * `ApprovalUsed` and nothing is transferred again.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as Database from "../../src/store/Database.ts"
import { freshPostgres, postgresUrl } from "../support/databases.ts"

const SCRIPT = join(process.cwd(), "test/fixtures/memory/session.ts")

/** Runs one phase of the fixture in a new Node process; its one line of JSON. */
const phase = (args: ReadonlyArray<string>) =>
  Effect.callback<any, Error>((resume) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stdout.on("data", (chunk) => (out += chunk))
    child.stderr.on("data", (chunk) => (err += chunk))
    child.on("close", (code) => {
      try {
        const result = JSON.parse(out.trim())
        resume(
          code === 0
            ? Effect.succeed(result)
            : Effect.fail(new Error(`phase ${args[0]} exited ${code}: ${out}${err}`))
        )
      } catch {
        resume(Effect.fail(new Error(`phase ${args[0]} printed no JSON (exit ${code}): ${out}${err}`)))
      }
    })
  })

const EARLIER = [
  ["user", "What is my balance?"],
  ["assistant", "Your balance is 500."]
]

/** A then B then C on `target` (a data directory or a database URL). */
const survivesRestart = (target: string) =>
  Effect.gen(function* () {
    const a = yield* phase(["pause", target])
    assert.strictEqual(a.result, "Paused")
    assert.strictEqual(a.approval.tool, "transfer")
    assert.deepStrictEqual(a.approval.arguments, { to: "alice", amount: 250 })
    assert.deepStrictEqual(a.transfers, [], "nothing is sent before the approval")
    const id: string = a.approval.id

    const b = yield* phase(["resume", target])
    // The history and state written by A, intact; the paused run waiting under its id.
    assert.deepStrictEqual(b.before, EARLIER)
    assert.deepStrictEqual(b.state, {
      name: "Ada",
      verified: true,
      since: Date.UTC(2024, 4, 6, 7, 8, 9)
    })
    assert.deepStrictEqual(b.waiting, [id])
    // Approved in B: the transfer runs once and the run completes.
    assert.deepStrictEqual(b.first, { result: "Completed", output: "Sent 250 to alice." })
    assert.deepStrictEqual(b.transfers, ["250 to alice"])
    assert.strictEqual(b.modelCalls, 1)
    // The second resume is refused, and runs nothing.
    assert.deepStrictEqual(b.second, { error: "ApprovalUsed" })
    assert.deepStrictEqual(b.stillWaiting, [])
    // The run's messages joined the session after the earlier conversation.
    const completed = [
      ...EARLIER,
      ["user", "send alice 250"],
      ["assistant", 'call transfer {"to":"alice","amount":250}'],
      ["tool", 'result transfer "sent 250 to alice"'],
      ["assistant", "Sent 250 to alice."]
    ]
    assert.deepStrictEqual(b.after, completed)

    // A third process: the used approval is still marked used, not forgotten.
    const c = yield* phase(["resume", target, id])
    assert.deepStrictEqual(c.first, { error: "ApprovalUsed" })
    assert.deepStrictEqual(c.transfers, [])
    assert.strictEqual(c.modelCalls, 0)
    assert.deepStrictEqual(c.before, completed)
  })

describe("a persisted session and a paused approval survive a restart", () => {
  it.live(
    "on the embedded store: a new process on the same data directory",
    () =>
      Effect.acquireUseRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "weft-restart-"))),
        survivesRestart,
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      ),
    60_000
  )

  const admin = postgresUrl()
  it.live.skipIf(admin === undefined)(
    "on PostgreSQL: a new process on the same database",
    () =>
      Effect.gen(function* () {
        const database = yield* Layer.build(freshPostgres(admin!))
        yield* survivesRestart(Context.get(database, Database.Database).location)
      }).pipe(Effect.scoped),
    60_000
  )
})
