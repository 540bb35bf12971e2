/**
 * Keeps the sample outputs in the docs true: every block between
 *
 *     <!-- output: npm start -- "How does X work?" -->
 *     ```
 *     …
 *     ```
 *     <!-- /output -->
 *
 * is replaced by what that command prints now (stdout, then stderr), run
 * from the repository's root. `npm run docs:output` rewrites the blocks;
 * `npm run docs:output -- --check` only compares, and exits 1 naming each
 * block that differs. Times (`17 ms`, `1.2 s`), the timeline's bars and
 * whether the corpus was indexed or its kept index read back vary from run to
 * run, so the comparison ignores them; everything else — counts,
 * answers, citations, usage — must match.
 *
 * The docs are the flagship's corpus, so writing a block can change what the
 * next run answers; the rewrite repeats until a run reproduces the docs, and
 * keeps a line's old times when only its times changed.
 */
import { spawnSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../", import.meta.url))
/** The docs with generated blocks. */
export const files = ["docs/getting-started.md"]

const BLOCK = /<!-- output: (.+?) -->\n```[^\n]*\n([\s\S]*?)```\n<!-- \/output -->/g

/** A command line's words, honouring double and single quotes. */
const words = (command: string): Array<string> =>
  [...command.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)].map((m) =>
    m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? m[3]!)
  )

/** The node command an npm script line stands for: `npm start -- a b` → examples/rag.ts a b. */
const toNode = (command: string): Array<string> => {
  const [tool, verb, ...rest] = words(command)
  const args = rest[0] === "--" ? rest.slice(1) : rest
  if (tool === "npm" && verb === "start") return ["examples/rag.ts", ...args]
  if (tool === "npm" && verb === "run" && rest[0] === "example") return ["examples/run.ts", ...rest.slice(2)]
  if (tool === "npm" && verb === "run" && rest[0] === "snippet")
    return ["scripts/snippet.ts", ...rest.slice(2)]
  throw new Error(
    `docs-output: cannot run ${JSON.stringify(command)} (only npm start / npm run example|snippet)`
  )
}

/** What `command` prints now, as the block shows it. */
export const outputOf = (command: string): string => {
  const ran = spawnSync(process.execPath, toNode(command), {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", INIT_CWD: root },
    timeout: 120_000
  })
  const printed = `${ran.stdout}${ran.stderr}`.trimEnd()
  return `$ ${command}\n\n${printed}\n`
}

/**
 * A block's text with what varies between runs masked: times, timeline bars,
 * and whether the flagship indexed its corpus or read the index it kept.
 */
export const stable = (text: string): string =>
  text
    .replace(/\bindex read back in\b/g, "indexed in")
    .replace(/\d[\d,]*(?:\.\d+)?\s?(?:ms|s)\b/g, "<time>")
    .replace(/▕[^▏\n]*▏/g, "▕▏")
    .replace(/ +(?=<time>)/g, " ")

export interface Block {
  readonly file: string
  readonly command: string
  readonly committed: string
  readonly fresh: string
}

/** Every block of every file, with what it holds and what a run prints now. */
export const blocks = (): Array<Block> =>
  files.flatMap((file) =>
    [...readFileSync(`${root}${file}`, "utf8").matchAll(BLOCK)].map((m) => ({
      file,
      command: m[1]!,
      committed: m[2]!,
      fresh: outputOf(m[1]!)
    }))
  )

/**
 * The fresh output, keeping the committed line wherever the two differ only
 * in times: the docs are the flagship's corpus, and new times in them would
 * change the next run's prompt (and its token counts) for no reason.
 */
const merge = (fresh: string, committed: string): string => {
  const old = committed.split("\n")
  return fresh
    .split("\n")
    .map((line, i) => (old[i] !== undefined && stable(old[i]) === stable(line) ? old[i] : line))
    .join("\n")
}

const rewrite = (): number => {
  let changed = 0
  for (const file of files) {
    const text = readFileSync(`${root}${file}`, "utf8")
    const next = text.replace(BLOCK, (whole, command: string, committed: string) => {
      const fresh = outputOf(command)
      if (stable(fresh) === stable(committed)) return whole
      changed += 1
      return `<!-- output: ${command} -->\n\`\`\`\n${merge(fresh, committed)}\`\`\`\n<!-- /output -->`
    })
    if (next !== text) writeFileSync(`${root}${file}`, next)
  }
  return changed
}

if (import.meta.main) {
  if (process.argv.includes("--check")) {
    const stale = blocks().filter((block) => stable(block.fresh) !== stable(block.committed))
    for (const block of stale) console.error(`stale: ${block.file}: ${block.command}`)
    if (stale.length > 0) {
      console.error("Run `npm run docs:output` to regenerate them.")
      process.exitCode = 1
    } else console.log(`docs-output: every sample output in ${files.join(", ")} matches a fresh run`)
  } else {
    let rounds = 0
    let changed = rewrite()
    console.log(`docs-output: ${changed} block(s) rewritten`)
    while (changed > 0 && ++rounds < 10) {
      changed = rewrite()
      if (changed > 0) console.log(`docs-output: ${changed} block(s) changed again (the docs are the corpus)`)
    }
    if (changed > 0) {
      console.error("docs-output: the blocks did not settle after 10 rounds")
      process.exitCode = 1
    }
  }
}
