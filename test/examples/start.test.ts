/**
 * `npm start`'s launcher (examples/start.mjs): it runs the flagship from a
 * bundle it builds once and rebuilds when a source changes, the bundle
 * behaves exactly as the sources do, and Ctrl-C while starting exits 130 —
 * also while the bundle's modules are being evaluated, without waiting for them all.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type Ran, root, runNode } from "../support/node.ts"

const manifestPath = join(root, "examples", ".start.bundle.json")
const QUESTION = "What does a budget reserve before each model call?"

/** `npm start`'s Node process (`node examples/start.mjs <QUESTION>`) with `env` over this one's. */
const start = (env: Record<string, string> = {}): Promise<Ran> =>
  Effect.runPromise(runNode(["examples/start.mjs", QUESTION], { env }))

/** The output without what changes from run to run (times; whether the index was built or read back). */
const stable = (stdout: string): string =>
  stdout
    .replace(/\bindex read back in\b/g, "indexed in")
    // A duration is "850 ms" or "1.2 s" (examples/cli.ts), so under load one run's may
    // cross a second where the other's did not: neither number nor unit is compared.
    .replace(/[\d.,]+ m?s\b/g, "… ms")
    .replace(/Timeline \(.*?\)/g, "Timeline")
    .replace(/▕[^▏]*▏/g, "▕…▏")
    .replace(/ +/g, " ")

/** Whether the process has a child of its own (during a build, the launcher runs esbuild's service). */
const hasChild = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().length > 0
  } catch {
    return false
  }
}

interface Interrupted {
  readonly code: number | null
  /** The signal that ended the process: SIGINT when it came before the launcher's handler (Node's own default). */
  readonly signal: NodeJS.Signals | null
  readonly stderr: string
  /** Milliseconds from the signal to the process's exit. */
  readonly lag: number
  readonly pid: number | undefined
}

/**
 * Starts the flagship and sends it SIGINT when `trigger` calls `send`; `trigger` answers how to
 * stop waiting, called when the process exits.
 */
const interrupt = (trigger: (send: () => void, child: ChildProcess) => () => void): Promise<Interrupted> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ["examples/start.mjs", QUESTION], {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stderr = ""
    let sentAt = Number.NaN
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.stdout.resume()
    const stop = trigger(() => {
      sentAt = performance.now()
      child.kill("SIGINT")
    }, child)
    child.on("exit", (code, signal) => {
      stop()
      resolve({ code, signal, stderr, lag: performance.now() - sentAt, pid: child.pid })
    })
  })

/** Starts the flagship and sends it SIGINT `delay` ms later. */
const interruptAt = (delay: number): Promise<Interrupted> =>
  interrupt((send) => {
    const timer = setTimeout(send, delay)
    return () => clearTimeout(timer)
  })

describe("npm start (examples/start.mjs)", () => {
  it("answers from a bundle that matches the sources, and rebuilds it when a source changes", async () => {
    const bundled = await start()
    assert.strictEqual(bundled.code, 0, bundled.stderr)
    assert.include(bundled.stdout, "Q: What does a budget reserve")
    assert.include(bundled.stdout, "Sources")
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { files: Record<string, string> }
    const inputs = Object.keys(manifest.files)
    assert.isTrue(
      inputs.some((path) => path.endsWith("src/rag/Rag.ts")),
      "the manifest lists the sources the bundle was built from"
    )
    // A package counts by its package.json (npm replaces a package whole), not by each of its modules.
    assert.include(inputs, join(root, "node_modules", "effect", "package.json"))
    assert.deepStrictEqual(
      inputs.filter((path) => path.includes("/node_modules/") && !path.endsWith("/package.json")),
      []
    )

    // The same run from the sources prints the same thing: bundling changes nothing a user sees.
    const fromSources = await start({ WEFT_NO_BUNDLE: "1" })
    assert.strictEqual(fromSources.code, 0, fromSources.stderr)
    assert.strictEqual(stable(bundled.stdout), stable(fromSources.stdout))

    // A file whose stamp changes makes the next start rebuild (content unchanged here): a source,
    // or a package's package.json (npm rewrites it when it installs the package).
    for (const changed of [
      join(root, "src", "rag", "Rag.ts"),
      join(root, "node_modules", "effect", "package.json")
    ]) {
      const builtAt = statSync(manifestPath).mtimeMs
      const now = new Date()
      utimesSync(changed, now, now)
      const rebuilt = await start()
      assert.strictEqual(rebuilt.code, 0, rebuilt.stderr)
      assert.isAbove(statSync(manifestPath).mtimeMs, builtAt, `the bundle was rebuilt for ${changed}`)
      assert.strictEqual(stable(rebuilt.stdout), stable(bundled.stdout))
    }

    // Nothing changed since: the next start reuses the bundle.
    const reusedAt = statSync(manifestPath).mtimeMs
    const again = await start()
    assert.strictEqual(again.code, 0, again.stderr)
    assert.strictEqual(statSync(manifestPath).mtimeMs, reusedAt, "the bundle was reused")

    // A bundle file gone missing (a chunk deleted by hand) makes the next start rebuild, not crash.
    // (One the bundle was built with: the previous build's chunks are kept beside it for a while.)
    const built = Object.keys(JSON.parse(readFileSync(manifestPath, "utf8")).files as Record<string, string>)
    const chunk = readdirSync(join(root, "examples")).find(
      (file) => file.startsWith(".start.chunk-") && built.includes(join(root, "examples", file))
    )
    assert.isDefined(chunk)
    rmSync(join(root, "examples", chunk!))
    const repaired = await start()
    assert.strictEqual(repaired.code, 0, repaired.stderr)
    assert.isAbove(statSync(manifestPath).mtimeMs, reusedAt, "the bundle was rebuilt")
    assert.strictEqual(stable(repaired.stdout), stable(bundled.stdout))

    // A build keeps the chunks of this build and of the one before, no older ones, and leaves none
    // of its temporary outputs (the cut entry points' files) behind.
    const rebuiltFrom = Object.keys(
      JSON.parse(readFileSync(manifestPath, "utf8")).files as Record<string, string>
    )
    const examples = readdirSync(join(root, "examples"))
    for (const file of examples.filter((name) => name.startsWith(".start.chunk-"))) {
      const path = join(root, "examples", file)
      assert.isTrue(built.includes(path) || rebuiltFrom.includes(path), `${file} is of an older build`)
    }
    assert.deepStrictEqual(
      examples.filter((name) => name.startsWith(".start.bundle-")),
      [],
      "no temporary bundle files are left"
    )
  }, 120_000)

  it("sets up no ICU formatting or segmentation on a normal start (each costs 6–20 ms), only for --help", async () => {
    const watch = `--import=${join(root, "test", "fixtures", "intl-watch.mjs")}`
    const ran = await start({ NODE_OPTIONS: watch })
    assert.strictEqual(ran.code, 0, ran.stderr)
    assert.include(ran.stdout, "Sources")
    assert.notInclude(ran.stderr, "intl-watch:")
    // effect/cli's segmenter is made when help is laid out, not as its module loads.
    const help = await Effect.runPromise(
      runNode(["examples/start.mjs", "--help"], { env: { NODE_OPTIONS: watch } })
    )
    assert.strictEqual(help.code, 0, help.stderr)
    assert.include(help.stderr, "intl-watch: Intl.Segmenter")
  }, 60_000)

  it("the bundle holds one copy of Weft's modules: a provider loaded on demand shares them", async () => {
    // Nothing listens on port 9: every attempt fails to connect. The provider retries twice
    // and marks what it gave up on; the flagship's own model retry must see that mark, which
    // it can only if the provider's chunk and the bundle share src/core/Retry.ts.
    const ran = await start({ OPENAI_BASE_URL: "http://127.0.0.1:9/v1" })
    assert.strictEqual(ran.code, 1, ran.stdout)
    assert.include(ran.stdout, "Model: gpt-4.1-mini (openai")
    assert.match(ran.stdout, /model calls +3 \(3 failed\)/)
    assert.include(ran.stderr, "Connection failed")
  }, 60_000)

  it("exits 130 and says so on Ctrl-C while starting", async () => {
    // A changed source makes the launcher rebuild: the signal is sent while esbuild runs.
    const now = new Date()
    utimesSync(join(root, "src", "rag", "Rag.ts"), now, now)
    // Signal once esbuild's service process is up: the launcher is then surely past Node's
    // bootstrap (whose own SIGINT handling kills the process outright) and into its build.
    const outcome = await interrupt((send, child) => {
      const poll = setInterval(() => {
        if (child.pid !== undefined && hasChild(child.pid)) {
          clearInterval(poll)
          send()
        }
      }, 5)
      return () => clearInterval(poll)
    })
    assert.strictEqual(outcome.code, 130, outcome.stderr)
    assert.match(outcome.stderr, /interrupted/)

    // The build it cut short leaves nothing behind once the next start has built: neither what
    // the launcher had written nor what esbuild may have written after it exited (stood for here
    // by a file under the ended process's name).
    const examples = join(root, "examples")
    const abandoned = `.start.bundle-${outcome.pid}-`
    writeFileSync(join(examples, `${abandoned}late.mjs`), "")
    const next = await start()
    assert.strictEqual(next.code, 0, next.stderr)
    assert.deepStrictEqual(
      readdirSync(examples).filter((file) => file.startsWith(abandoned)),
      [],
      "the interrupted build's temporary files are removed"
    )
  }, 60_000)

  it("exits 130 at once on Ctrl-C while the bundle's modules are evaluated, saying it was starting", async () => {
    // A normal start first: the bundle is then fresh (no build), and its run time is the yardstick
    // for "at once" on this machine under its current load.
    const begun = performance.now()
    const normal = await start()
    const normalRun = performance.now() - begun
    assert.strictEqual(normal.code, 0, normal.stderr)
    // The earliest signal the launcher handles: until Node has run the launcher's first statement,
    // SIGINT kills the process outright (Node's default, nothing the launcher can change).
    let delay = 40
    let first = await interruptAt(delay)
    while (first.signal === "SIGINT" && delay < 2_000) {
      delay += 20
      first = await interruptAt(delay)
    }
    // And one 60 ms later: past the freshness check (≈15 ms), well inside the loading of the bundle
    // (≥150 ms). A launcher that evaluates the whole module graph in one go sees this signal only
    // after it, once the example has started (it then says "interrupted while reading docs", later).
    const later = await interruptAt(delay + 60)
    for (const [name, interrupted] of [
      [`${delay} ms`, first],
      [`${delay + 60} ms`, later]
    ] as const) {
      assert.strictEqual(interrupted.code, 130, `${name}: ${interrupted.signal} ${interrupted.stderr}`)
      assert.match(interrupted.stderr, /^weft: interrupted while starting$/m, name)
      // One chunk's evaluation at most (≈70 ms idle), against ≈0.55 s (idle) for a whole run.
      assert.isBelow(interrupted.lag, normalRun / 4, `${name}: exit ${interrupted.lag} ms after the signal`)
    }
  }, 120_000)
})
