// @ts-check
/**
 * `npm start`: the flagship example (examples/rag.ts), started fast — and
 * `npm run weft` (examples/weft.ts, through examples/weft.mjs) from the same bundle.
 *
 * Loading effect and Weft as ~450 separate modules is most of a cold start
 * (resolving, reading and compiling each file). So the first `npm start`
 * bundles the example with its imports into one file beside it
 * (`examples/.start.bundle.mjs`, git-ignored) with esbuild, and every later
 * start runs that file with Node's compile cache on — measured on this
 * machine: about 1.1 s → 0.55 s wall and 187 → 115 MB peak RSS (see
 * docs/bench/rss.md). The bundle is rebuilt when any file it was built from
 * changes (size or modification time; for a package, its package.json), or the
 * Node version or esbuild does.
 * When esbuild is missing or the build fails, the example runs from its
 * sources as before; `WEFT_NO_BUNDLE=1` does that on purpose.
 *
 * This launcher is plain JavaScript (type-checked through JSDoc) because a
 * `.ts` entry makes Node load its TypeScript stripper, about 30 MB and 0.1 s
 * that a started bundle never needs.
 *
 * Ctrl-C while starting (bundling, loading modules) exits 130 with a message;
 * once the example runs, it handles Ctrl-C itself. Evaluating a module graph is
 * one synchronous stretch in which no signal handler runs (the whole bundle
 * took 150–250 ms), so the launcher evaluates the bundle's chunks one at a
 * time (small ones a few together), dependencies first, and lets the event loop
 * turn between them; and
 * effect's shared code, ≈0.9 MB in one chunk (≈70 ms alone), is cut into three
 * by extra entry points at build time. A Ctrl-C then waits for one step at most
 * (≈50 ms on this machine idle); loading takes ≈15 ms longer than one import.
 */
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import * as Module from "node:module"
import { basename, relative, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

// Until the example runs, Ctrl-C is ours; after, the example's own handler
// interrupts the run. A build cut short removes what it had written so far (and the next
// build removes what esbuild may still have been writing, see `removeAbandoned`).
let started = false
/** @type {(() => void) | undefined} */
let onInterrupt
process.on("SIGINT", () => {
  if (started) return
  onInterrupt?.()
  process.stderr.write("\nweft: interrupted while starting\n")
  process.exit(130)
})

Module.enableCompileCache?.()

// The tokenizer's table (built from js-tiktoken's rank list at every start, ≈ 35 ms) is kept
// where npm's tools keep theirs, and read back by later starts; see Tokens' TABLE_CACHE_ENV.
process.env.WEFT_TOKENIZER_CACHE ??= fileURLToPath(new URL("../node_modules/.cache/weft", import.meta.url))

const here = fileURLToPath(new URL(".", import.meta.url))
const BUNDLE = `${here}.start.bundle.mjs`
const MANIFEST = `${here}.start.bundle.json`

/**
 * @typedef {object} Manifest
 * @property {string} node The Node version the bundle was built under.
 * @property {Record<string, string>} files Absolute path → "size:mtimeMs" of every file the bundle was built from (of its package's package.json for a file in node_modules, see `stampedFor`), and of the bundle's own files.
 * @property {Record<string, string[]>} [chunks] Each chunk's file name → the npm packages whose modules it holds (not read by a start; tests use it).
 * @property {Record<string, string[]>} steps Each command ("rag", "weft") → the bundle's files to import one after another at start (its entry among them, the command's own chunk last); each evaluates what it imports that is not yet evaluated, in the order one import of the entry and then of the command's chunk would.
 */

/** @type {(path: string) => string | undefined} */
const stamp = (path) => {
  try {
    const stat = statSync(path)
    return `${stat.size}:${stat.mtimeMs}`
  } catch {
    return undefined
  }
}

/**
 * The file whose stamp stands for a source: a package's package.json for a file inside
 * node_modules (npm installs, updates and removes a package whole, rewriting its package.json;
 * stamping that one file instead of the ≈ 680 modules the bundle takes from packages saves
 * ≈ 15 ms of every start), else the file itself. A module edited by hand inside node_modules
 * is not seen: `WEFT_NO_BUNDLE=1`, or touching the package's package.json, rebuilds.
 * @type {(path: string) => string}
 */
const stampedFor = (path) => {
  const inPackage = /^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(path)
  return inPackage?.[1] === undefined ? path : `${inPackage[1]}/package.json`
}

/** @type {() => Manifest | undefined} */
const readManifest = () => {
  try {
    return JSON.parse(readFileSync(MANIFEST, "utf8"))
  } catch {
    return undefined
  }
}

/**
 * Where esbuild's entry module is, or undefined when it is not installed (checked without loading it).
 * @type {() => string | undefined}
 */
const esbuildEntry = () => {
  try {
    return Module.createRequire(import.meta.url).resolve("esbuild")
  } catch {
    return undefined
  }
}

/** Fresh: built under this Node, and no source nor output file changed or went missing since. */
/** @type {(manifest: Manifest | undefined) => boolean} */
const isFresh = (manifest) =>
  manifest?.node === process.version &&
  typeof manifest.files === "object" &&
  Object.entries(manifest.files).every(([path, was]) => stamp(path) === was)

/**
 * effect/cli makes an `Intl.Segmenter` as its module loads (for the display width of help and
 * error text), and the first one sets up ICU's segmentation: ≈ 15 ms of every start, for text a
 * normal run never measures. The bundle makes it when first used instead. Should effect's code
 * change, the module is bundled as it is, and test/examples/start.test.ts, which watches a start
 * make no Intl object, says so.
 * @type {import("esbuild").Plugin}
 */
const lazySegmenter = {
  name: "weft-lazy-segmenter",
  setup(build) {
    build.onLoad({ filter: /[\\/]effect[\\/]dist[\\/]cli[\\/]CliOutput\.js$/ }, ({ path }) => {
      const source = readFileSync(path, "utf8")
      const eager = /const graphemeSegmenter = \/\*#__PURE__\*\/\s*new Intl\.Segmenter\(([^;]*?)\);/
      if (!eager.test(source)) return undefined
      return {
        contents: source.replace(
          eager,
          (_, args) =>
            `let weftLazySegmenter;\nconst graphemeSegmenter = { segment: (text) => (weftLazySegmenter ??= new Intl.Segmenter(${args})).segment(text) };`
        ),
        loader: "js"
      }
    })
  }
}

/** A build's temporary outputs are named after its process: `.start.bundle-<pid>-…`. */
const TEMPORARY = /^\.start\.bundle-(\d+)-/

/** @type {(pid: number) => boolean} */
const isRunning = (pid) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, as another user.
    return /** @type {NodeJS.ErrnoException} */ (error).code === "EPERM"
  }
}

/**
 * Removes the temporary outputs of builds whose process has ended without finishing them (killed,
 * or interrupted while esbuild was still writing): nothing else ever would. A build still running
 * in another process keeps its own.
 */
const removeAbandoned = () => {
  for (const file of readdirSync(here)) {
    const pid = Number(TEMPORARY.exec(file)?.[1])
    if (Number.isInteger(pid) && (pid === process.pid || !isRunning(pid)))
      rmSync(`${here}${file}`, { force: true })
  }
}

/**
 * Builds the bundle (written next to this file, so the example's relative URLs still resolve) unless
 * it is fresh; its manifest, or undefined when it cannot be built.
 * @type {() => Promise<Manifest | undefined>}
 */
const build = async () => {
  const previous = readManifest()
  if (isFresh(previous)) return previous
  const entry = esbuildEntry()
  if (entry === undefined) return undefined
  /** @type {typeof import("esbuild")} */
  let esbuild
  try {
    esbuild = await import("esbuild")
  } catch {
    return undefined
  }
  // Built under a name of this process's own, then renamed: a start running meanwhile
  // reads either the old bundle or the new one, never half of one.
  const ownName = `.start.bundle-${process.pid}`
  const temporary = `${here}${ownName}-stdin.mjs`
  // Extra entry points that only cut effect's shared code into chunks (a module goes into the
  // chunk of the entries that reach it): one ≈0.9 MB chunk took ≈70 ms to evaluate, during which
  // Ctrl-C cannot run; cut at Effect and at Schema, the largest piece takes about half that.
  // Their own outputs are never imported, and are deleted.
  const cuts = ["effect/Effect", "effect/Schema"]
  const removeOwn = () => {
    for (const file of readdirSync(here))
      if (file.startsWith(`${ownName}-`)) rmSync(`${here}${file}`, { force: true })
  }
  removeAbandoned()
  onInterrupt = removeOwn
  try {
    const result = await esbuild.build({
      stdin: {
        // Each command in its own chunk, loaded on demand: `npm start` never loads the store's modules.
        contents: [
          `import { runCommand } from "./cli.ts"`,
          `export const start = async (entry) =>`,
          `  runCommand((entry === "weft" ? await import("./weft.ts") : await import("./rag.ts")).command)`
        ].join("\n"),
        resolveDir: here,
        loader: "ts",
        sourcefile: "start-entry.ts"
      },
      entryPoints: cuts,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node22",
      // The on-demand provider (and the OpenAI SDK under it) goes into chunks of its own,
      // loaded only when imported, sharing the bundle's one copy of Weft's modules (a
      // second copy would split their state). All files sit beside this one.
      splitting: true,
      outdir: here,
      entryNames: `${ownName}-[name]`,
      chunkNames: ".start.chunk-[hash]",
      outExtension: { ".js": ".mjs" },
      // The example modules only run their command when they are the entry; here `start` does.
      define: { "import.meta.main": "false" },
      external: ["esbuild"],
      banner: {
        js: `import { createRequire as __weftRequire } from "node:module"; const require = __weftRequire(import.meta.url);`
      },
      absWorkingDir: here,
      // No indentation, newlines nor comments: a smaller bundle that Node reads and compiles faster
      // (about 15 ms of every start). Names and statements stay as written, so behaviour and stack
      // traces' function names do not change.
      minifyWhitespace: true,
      metafile: true,
      plugins: [lazySegmenter],
      logLevel: "silent"
    })
    // esbuild and this launcher count as sources too: a new version of either rebuilds.
    const self = fileURLToPath(import.meta.url)
    renameSync(temporary, BUNDLE)
    removeOwn()
    // Chunks of earlier builds are no longer imported by anything.
    const chunks = Object.keys(result.metafile.outputs)
      .map((output) => basename(output))
      .filter((file) => file.startsWith(".start.chunk-"))
    // The previous build's chunks stay one more build: a process started from it (a test running
    // beside this one, say) still loads its chunks on demand. Older ones go.
    const keep = new Set([
      ...chunks,
      ...Object.keys(previous?.files ?? {})
        .map((path) => basename(path))
        .filter((file) => file.startsWith(".start.chunk-"))
    ])
    for (const file of readdirSync(here)) {
      if (file.startsWith(".start.chunk-") && !keep.has(file)) rmSync(`${here}${file}`, { force: true })
    }
    /** @type {Record<string, string>} */
    const files = {}
    const sources = Object.keys(result.metafile.inputs).map((input) => resolve(here, input))
    for (const source of [entry, self, ...sources, BUNDLE, ...chunks.map((chunk) => `${here}${chunk}`)]) {
      const path = stampedFor(source)
      if (path in files) continue
      const was = stamp(path)
      if (was !== undefined) files[path] = was
    }
    // Which packages each chunk holds (the bundle has no comments to tell): a test checks that
    // the OpenAI SDK's chunk is never loaded by a start on the Local model.
    /** @type {Record<string, string[]>} */
    const packages = {}
    for (const [output, { inputs }] of Object.entries(result.metafile.outputs)) {
      const names = Object.keys(inputs).flatMap((input) => {
        const found = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)
        return found?.[1] === undefined ? [] : [found[1]]
      })
      if (basename(output).startsWith(".start.chunk-"))
        packages[basename(output)] = [...new Set(names)].sort()
    }
    // What each command imports at start, step by step (see the header). esbuild names the
    // outputs relative to here; the entry is renamed.
    const outputs = result.metafile.outputs
    /** @type {(output: string) => string} */
    const fileOf = (output) => (output === relative(here, temporary) ? basename(BUNDLE) : basename(output))
    /**
     * The outputs that importing `roots` one after another evaluates, in the order Node does
     * (each after the ones it imports, in import order), leaving out those in `evaluated`.
     * @type {(roots: string[], evaluated?: Set<string>) => string[]}
     */
    const evaluationOrder = (roots, evaluated = new Set()) => {
      /** @type {string[]} */
      const order = []
      const seen = new Set(evaluated)
      /** @type {(output: string) => void} */
      const visit = (output) => {
        if (seen.has(output) || outputs[output] === undefined) return
        seen.add(output)
        for (const { path, kind } of outputs[output].imports) if (kind === "import-statement") visit(path)
        order.push(output)
      }
      for (const root of roots) visit(root)
      return order
    }
    // Separate imports cost time of their own (one per file, 17 here: ≈20 ms more than a single
    // import), so small files go in steps of up to STEP_BYTES (about the largest chunk): a step imports only its files that no later one of them imports, and
    // these must evaluate exactly the step's files, in the same order; where they would not, the
    // step's files are imported one by one.
    const STEP_BYTES = 450_000
    /** @type {(roots: string[]) => string[]} */
    const stepsOf = (roots) => {
      const order = evaluationOrder(roots)
      /** @type {Set<string>} */
      const evaluated = new Set()
      /** @type {string[]} */
      const steps = []
      /** @type {string[]} */
      let pending = []
      let bytes = 0
      for (const [index, output] of order.entries()) {
        pending.push(output)
        bytes += outputs[output]?.bytes ?? 0
        const next = order[index + 1]
        if (next !== undefined && bytes + (outputs[next]?.bytes ?? 0) <= STEP_BYTES) continue
        const roots = pending.filter(
          (file, at) =>
            !pending.slice(at + 1).some((later) => evaluationOrder([later], evaluated).includes(file))
        )
        const once = evaluationOrder(roots, evaluated)
        steps.push(...(once.join("\n") === pending.join("\n") ? roots : pending))
        for (const done of pending) evaluated.add(done)
        pending = []
        bytes = 0
      }
      return steps.map(fileOf)
    }
    /** @type {(entryPoint: string) => string | undefined} */
    const outputOf = (entryPoint) =>
      Object.entries(outputs).find(([, output]) => output.entryPoint === entryPoint)?.[0]
    const main = outputOf("start-entry.ts")
    const rag = outputOf("rag.ts")
    const weft = outputOf("weft.ts")
    // Never so with this entry; were it so, the example would run from its sources (below).
    if (main === undefined || rag === undefined || weft === undefined)
      throw new Error("an entry has no output")
    /** @type {Manifest} */
    const manifest = {
      node: process.version,
      files,
      chunks: packages,
      steps: { rag: stepsOf([main, rag]), weft: stepsOf([main, weft]) }
    }
    writeFileSync(MANIFEST, JSON.stringify(manifest))
    return manifest
  } catch {
    removeOwn()
    return undefined
  } finally {
    onInterrupt = undefined
  }
}

// Which command to start: the flagship, or `weft` when examples/weft.mjs started us.
const entry = process.env.WEFT_START_ENTRY === "weft" ? "weft" : "rag"
delete process.env.WEFT_START_ENTRY

/**
 * Loads the bundle one file at a time, in the order its manifest recorded at build time, letting the
 * event loop turn (and a Ctrl-C be handled) between files. The entry is among them, so the last import
 * only returns it. (A manifest of an older launcher, without the order, is not fresh: the launcher
 * is one of the files it stamps; one without it anyway has the entry evaluated there in one go.)
 * @type {(manifest: Manifest) => Promise<{ start: (entry: string) => Promise<void> }>}
 */
const loadBundle = async (manifest) => {
  for (const file of manifest.steps?.[entry] ?? []) {
    await import(pathToFileURL(`${here}${file}`).href)
    await new Promise((resolve) => setImmediate(resolve))
  }
  return import(pathToFileURL(BUNDLE).href)
}

const bundled = process.env.WEFT_NO_BUNDLE === "1" ? undefined : await build()
/** @type {() => Promise<void> | void} */
const run = bundled
  ? await loadBundle(bundled).then((bundle) => () => bundle.start(entry))
  : await Promise.all([import(entry === "weft" ? "./weft.ts" : "./rag.ts"), import("./cli.ts")]).then(
      ([{ command }, { runCommand }]) =>
        () =>
          runCommand(command)
    )
started = true
await run()
