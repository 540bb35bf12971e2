/**
 * Writing a file that other processes read back later (a kept index, a kept
 * tokenizer table) so that a reader sees the old file or the new one, never
 * half of one: the content goes to a temporary file of this process's own
 * beside it, which is then renamed into place.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"

/**
 * Writes `content` to `path` whole, creating its folder; the error when it
 * cannot (nothing is left behind then), else undefined. Never throws: a kept
 * file is a saving, and the caller decides whether its absence matters.
 */
export const writeWhole = (path: string, content: string | NodeJS.ArrayBufferView): unknown => {
  const temporary = `${path}.${process.pid}.tmp`
  try {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(temporary, content)
    renameSync(temporary, path)
    return undefined
  } catch (error) {
    try {
      rmSync(temporary, { force: true })
    } catch {
      // Nothing was written where nothing can be.
    }
    return error
  }
}
