/**
 * Runs Node as a person would from the repo (`node <args>`), for the tests of
 * examples and commands: what it printed and how it exited, never a throw.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"

export const root = fileURLToPath(new URL("../..", import.meta.url))

export interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** `node <args>` in the repo, with `env` over this process's environment (and NO_COLOR). */
export const runNode = (
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string | undefined>; readonly timeoutMs?: number } = {}
): Effect.Effect<Ran> =>
  Effect.callback<Ran>((resume, signal) => {
    execFile(
      process.execPath,
      [...args],
      {
        cwd: root,
        signal,
        timeout: options.timeoutMs ?? 90_000,
        env: { ...process.env, NO_COLOR: "1", ...options.env }
      },
      (error, stdout, stderr) =>
        resume(
          Effect.succeed({
            code: error === null ? 0 : typeof error.code === "number" ? error.code : null,
            stdout,
            stderr
          })
        )
    )
  })
