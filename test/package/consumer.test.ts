/**
 * Weft as a backend developer meets it: `npm pack`, then a fresh project that
 * installs the tarball from the npm registry's way of doing things (no link
 * to this repository), type-checks the files of docs/using-weft.md under a
 * strict tsconfig and runs them on Node 24 — the first workflow prints a
 * cited answer, the HTTP server answers real requests.
 *
 * What it guards: the package name and exports resolve for a consumer
 * (also under `--conditions=source`), the tarball carries the LICENSE, the
 * README and every file the shipped docs link to, installing prints no
 * install-script warning, and the guide's code compiles and works.
 *
 * What `npm pack` reads is copied first, so `prepack`'s build writes its
 * `dist/` into the copy, never into the working tree.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, dirname, join, posix, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"

const root = fileURLToPath(new URL("../..", import.meta.url))
const guide = readFileSync(join(root, "docs/using-weft.md"), "utf8")

/** The files the guide shows, by name: "**`name`**" followed by a fenced block. */
const guideFiles = new Map(
  [...guide.matchAll(/\*\*`([^`]+)`\*\*\n\n```[a-z]*\n([\s\S]*?)\n```/g)].map((m) => [m[1]!, `${m[2]!}\n`])
)

interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

// The child npm must not inherit the npm running the tests (its prefix, its config).
const childEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key))),
  // Node 24 first, so npm and tsc run on it whatever Node is on the PATH.
  PATH: [dirname(process.execPath), process.env.PATH ?? ""].join(delimiter),
  NO_COLOR: "1",
  ...extra
})

const run = (file: string, args: ReadonlyArray<string>, cwd: string, timeout = 120_000) =>
  Effect.callback<Ran>((resume, signal) => {
    execFile(
      file,
      args,
      { cwd, signal, timeout, env: childEnv(), maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }))
    )
  })

// npm as the test runner's npm would run it, on Node 24.
const npmCli = process.env.npm_execpath?.endsWith(".js") ? process.env.npm_execpath : undefined
const npm = (args: ReadonlyArray<string>, cwd: string) =>
  npmCli !== undefined ? run(process.execPath, [npmCli, ...args], cwd) : run("npm", args, cwd)

interface Packed {
  readonly files: ReadonlyArray<string>
  readonly pack: Ran
  readonly install: Ran
  readonly app: string
}

class Project extends Context.Service<Project, Packed>()("test/package/Project") {}

const ProjectLive = Layer.effect(
  Project,
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "weft-consumer-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  ).pipe(
    Effect.flatMap((dir) =>
      Effect.gen(function* () {
        // A copy of what `npm pack` reads, sharing the repository's node_modules for the build.
        const source = join(dir, "weft")
        const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
          readonly files: ReadonlyArray<string>
        }
        const packed = manifest.files.filter((entry) => !entry.startsWith("!"))
        for (const entry of [
          "package.json",
          "README.md",
          "LICENSE",
          "tsconfig.json",
          "tsconfig.build.json",
          ...packed
        ]) {
          if (existsSync(join(root, entry)))
            cpSync(join(root, entry), join(source, entry), { recursive: true })
        }
        symlinkSync(join(root, "node_modules"), join(source, "node_modules"), "dir")
        const pack = yield* npm(["pack", "--json", "--pack-destination", dir], source)
        assert.strictEqual(pack.code, 0, pack.stderr)
        const [report] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf("["))) as Array<{
          filename: string
          files: Array<{ path: string }>
        }>

        const app = join(dir, "app")
        for (const [name, text] of guideFiles) {
          mkdirSync(dirname(join(app, name)), { recursive: true })
          writeFileSync(join(app, name), text)
        }
        writeFileSync(
          join(app, "package.json"),
          JSON.stringify(
            {
              name: "consumer",
              private: true,
              type: "module",
              dependencies: {
                "@effect/platform-node": "^4.1.0",
                effect: "^4.1.0",
                "weft-ai": `file:../${report!.filename}`
              },
              devDependencies: { "@types/node": "^24.0.0" }
            },
            null,
            2
          )
        )
        const install = yield* npm(["install", "--no-audit", "--no-fund", "--prefer-offline"], app)
        assert.strictEqual(install.code, 0, install.stdout + install.stderr)
        return { files: report!.files.map((f) => f.path), pack, install, app }
      })
    )
  )
)

const request = (url: string, body?: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(
      url,
      body === undefined
        ? undefined
        : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }
    )
    return { status: response.status, body: (await response.json()) as any }
  })

/** Starts `node server.ts` on a free port; the URL it prints once it listens. */
const startServer = (app: string) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      spawn(process.execPath, ["server.ts"], { cwd: app, env: childEnv({ PORT: "0" }), stdio: "pipe" })
    ),
    (child) => Effect.sync(() => child.kill("SIGTERM"))
  ).pipe(
    Effect.flatMap((child: ChildProcess) =>
      Effect.callback<string, Error>((resume) => {
        let out = ""
        let err = ""
        child.stdout!.on("data", (chunk: Buffer) => {
          out += chunk.toString()
          const listening = /Listening on (http:\/\/\S+)/.exec(out)
          if (listening !== null) resume(Effect.succeed(listening[1]!))
        })
        child.stderr!.on("data", (chunk: Buffer) => {
          err += chunk.toString()
        })
        child.on("exit", (code) => resume(Effect.fail(new Error(`server.ts exited ${code}: ${out}${err}`))))
      })
    ),
    Effect.timeout("30 seconds")
  )

layer(ProjectLive, { timeout: 300_000, excludeTestServices: true })("the packed package, installed", (it) => {
  it.effect("the guide shows the files the project is built from", () =>
    Effect.sync(() => {
      for (const name of [
        "tsconfig.json",
        "main.ts",
        "agent.ts",
        "store.ts",
        "server.ts",
        "handbook/leave.md"
      ]) {
        assert.isTrue(guideFiles.has(name), name)
      }
      const tsconfig = guideFiles.get("tsconfig.json")!
      assert.include(tsconfig, '"exactOptionalPropertyTypes": true')
      assert.include(tsconfig, '"noUncheckedIndexedAccess": true')
      assert.include(tsconfig, '"strict": true')
    })
  )

  it.effect("the tarball holds the build, the LICENSE, the README and every file the docs link to", () =>
    Effect.gen(function* () {
      const { files } = yield* Project
      const shipped = new Set(files)
      for (const file of ["LICENSE", "README.md", "package.json", "dist/index.js", "dist/index.d.ts"]) {
        assert.isTrue(shipped.has(file), `${file} is not in the tarball`)
      }
      assert.isFalse(
        files.some((f) => f.startsWith("test/") || f.startsWith("node_modules/")),
        "tests are not shipped"
      )
      assert.match(readFileSync(join(root, "LICENSE"), "utf8"), /MIT License[\s\S]*Weft contributors/)
      // Relative links from every shipped Markdown file land on a shipped file.
      for (const doc of files.filter((f) => f.endsWith(".md"))) {
        // Links in prose, not in code: fenced blocks and inline code are taken out first.
        const text = readFileSync(join(root, doc), "utf8")
          .replace(/```[\s\S]*?```/g, "")
          .replace(/`[^`\n]*`/g, "")
        for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
          if (/^[a-z]+:|^#/.test(target!)) continue
          const path = posix.normalize(posix.join(posix.dirname(doc), target!.replace(/#.*$/, "")))
          assert.isTrue(shipped.has(path), `${doc} links to ${target}, which is not in the tarball`)
        }
      }
    })
  )

  it.effect("installing runs no script and warns about none", () =>
    Effect.gen(function* () {
      const { install, app } = yield* Project
      const output = install.stdout + install.stderr
      assert.notMatch(output, /install-scripts|install script/i)
      assert.notMatch(output, /EBADENGINE/)
      const manifest = JSON.parse(readFileSync(join(app, "node_modules/weft-ai/package.json"), "utf8"))
      for (const hook of ["preinstall", "install", "postinstall", "prepare"]) {
        assert.isUndefined(manifest.scripts?.[hook], hook)
      }
      assert.notInclude(JSON.stringify(manifest.exports), "source")
    })
  )

  it.effect(
    "the package resolves for a consumer, also under --conditions=source",
    () =>
      Effect.gen(function* () {
        const { app } = yield* Project
        for (const flags of [[], ["--conditions=source"]]) {
          const ran = yield* run(
            process.execPath,
            [
              ...flags,
              "--input-type=module",
              "-e",
              'const w = await import("weft-ai"); console.log(typeof w.Rag.ask)'
            ],
            app
          )
          assert.strictEqual(ran.code, 0, ran.stderr)
          assert.strictEqual(ran.stdout.trim(), "function")
        }
      }),
    120_000
  )

  it.effect(
    "the guide's files type-check under the strict tsconfig",
    () =>
      Effect.gen(function* () {
        const { app } = yield* Project
        const tsc = yield* run(resolve(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], app)
        assert.strictEqual(tsc.code, 0, tsc.stdout + tsc.stderr)
      }),
    120_000
  )

  it.effect(
    "main.ts prints an answer citing the passage it comes from",
    () =>
      Effect.gen(function* () {
        const { app } = yield* Project
        const ran = yield* run(process.execPath, ["main.ts"], app, 60_000)
        assert.strictEqual(ran.code, 0, ran.stderr)
        const answer = /^A: (.*)$/m.exec(ran.stdout)?.[1] ?? ""
        assert.match(answer, /25 days/)
        const cited = /\[(\d+)\]/.exec(answer)?.[1]
        assert.isDefined(cited, answer)
        assert.match(ran.stdout, new RegExp(`^\\s+\\[${cited}\\] leave\\.md: .*25 days`, "m"))
        assert.match(ran.stdout, /model calls/i)
        // …exactly what the guide shows it printing, but for the time the run took.
        const shown = /`node main\.ts` prints[\s\S]*?```\n([\s\S]*?)```/.exec(guide)?.[1]
        assert.isDefined(shown)
        const untimed = (text: string) =>
          text
            .replace(/\d[\d,.]* ms/g, "… ms")
            .replace(/ +/g, " ")
            .trim()
        assert.strictEqual(untimed(ran.stdout), untimed(shown!))
      }),
    120_000
  )

  it.effect(
    "agent.ts: an agent on the Local model calls the tool and answers from its result (weft-ai/openai resolves)",
    () =>
      Effect.gen(function* () {
        const { app } = yield* Project
        const ran = yield* run(process.execPath, ["agent.ts"], app, 60_000)
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.match(ran.stdout, /^tool convert_distance \{"km":42\} → ok$/m)
        assert.match(ran.stdout, /^A: .*26\.09/m)
        assert.match(ran.stdout, /tool calls +1/)
      }),
    120_000
  )

  it.effect(
    "store.ts: the persistent index and a session from the packed package; a second run writes nothing",
    () =>
      Effect.gen(function* () {
        const { app } = yield* Project
        const first = yield* run(process.execPath, ["store.ts"], app, 60_000)
        assert.strictEqual(first.code, 0, first.stderr)
        assert.match(first.stdout, /^ingested: 2 added, 0 changed, 0 unchanged$/m)
        assert.match(first.stdout, /^A: .*25 days/m)
        const second = yield* run(process.execPath, ["store.ts"], app, 60_000)
        assert.strictEqual(second.code, 0, second.stderr)
        assert.match(second.stdout, /^ingested: 0 added, 0 changed, 2 unchanged$/m)
      }),
    120_000
  )

  it.effect(
    "server.ts serves answers over HTTP, with 400 for an empty question, and keeps its index for a restart",
    () =>
      Effect.gen(function* () {
        const { app } = yield* Project
        const url = yield* startServer(app)
        const health = yield* request(`${url}/health`)
        assert.deepStrictEqual(health, { status: 200, body: { documents: 2 } })
        const answered = yield* request(`${url}/ask`, { question: "When are travel expenses refunded?" })
        assert.strictEqual(answered.status, 200, JSON.stringify(answered.body))
        assert.match(answered.body.answer, /30 days/)
        assert.strictEqual(answered.body.citations[0].sourceId, "expenses.md")
        assert.strictEqual(answered.body.modelCalls, 1)
        const empty = yield* request(`${url}/ask`, { question: " " })
        assert.strictEqual(empty.status, 400, JSON.stringify(empty.body))
        // The index was kept (Retriever's `cache`); a restarted server reads it back and answers alike.
        const kept = join(app, ".weft", "handbook-index.json")
        assert.isTrue(existsSync(kept))
        const keptAt = statSync(kept).mtimeMs
        const restarted = yield* startServer(app)
        const again = yield* request(`${restarted}/ask`, { question: "When are travel expenses refunded?" })
        assert.deepStrictEqual(again, answered)
        assert.strictEqual(statSync(kept).mtimeMs, keptAt, "read back, not written again")
      }).pipe(Effect.scoped),
    120_000
  )
})
