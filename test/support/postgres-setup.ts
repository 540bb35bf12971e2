/**
 * Vitest global setup: a throwaway PostgreSQL server on a loopback port for
 * the store suites, so they run on the embedded store and on PostgreSQL alike.
 *
 * `WEFT_TEST_DATABASE_URL` names a server to use instead (its database must
 * allow CREATE DATABASE). Otherwise the Debian `postgresql` binaries are
 * found (`.ci/run` installs them when missing), a cluster is initialised in a
 * temporary folder (as the `postgres` user when running as root, which initdb
 * refuses), started on a free port bound to 127.0.0.1 only, and removed when
 * the run ends. Without binaries the PostgreSQL half is skipped with a line
 * saying why — except under `CI`, where that is a failure.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    /** An admin URL of the test PostgreSQL server, or "" when there is none. */
    postgresUrl: string
  }
}

const findBinaries = (): string | undefined => {
  const candidates: Array<string> = []
  try {
    candidates.push(execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim())
  } catch {}
  if (existsSync("/usr/lib/postgresql")) {
    for (const version of readdirSync("/usr/lib/postgresql").sort().reverse()) {
      candidates.push(join("/usr/lib/postgresql", version, "bin"))
    }
  }
  return candidates.find((dir) => existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl")))
}

const freePort = (): Promise<number> =>
  new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolvePort(port))
    })
  })

export default async function setup(project: TestProject) {
  const given = process.env.WEFT_TEST_DATABASE_URL
  if (given !== undefined && given !== "") {
    project.provide("postgresUrl", given)
    return
  }
  const bin = findBinaries()
  if (bin === undefined) {
    if (process.env.CI)
      throw new Error("PostgreSQL binaries not found: .ci/run installs the Debian postgresql package")
    console.log(
      "store tests: PostgreSQL not found (apt-get install postgresql), so only the embedded store is tested"
    )
    project.provide("postgresUrl", "")
    return
  }
  const root = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), "weft-pg-"))
  const data = join(dir, "data")
  if (root) chownSync(dir, Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })), 0)
  const as = (command: string, args: Array<string>) => {
    const [file, argv] = root ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args]
    const result = spawnSync(file, argv, { encoding: "utf8" })
    if (result.status !== 0) {
      throw new Error(`${command} failed (${result.status}): ${result.stderr || result.stdout}`)
    }
  }
  const port = await freePort()
  as(join(bin, "initdb"), ["-D", data, "-U", "weft", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"])
  as(join(bin, "pg_ctl"), [
    "-D",
    data,
    "-l",
    join(dir, "server.log"),
    "-w",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
    "start"
  ])
  project.provide("postgresUrl", `postgres://weft@127.0.0.1:${port}/postgres`)
  return () => {
    try {
      as(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "stop"])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
