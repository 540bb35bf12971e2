/**
 * `node:fs` with its `readSync` watched, for tests that mock the module
 * (`vi.mock("node:fs", …)`) to see or cut how Tokens reads the rank file: it
 * reads with the (fd, buffer, offset, length, position) form, a slice at a
 * time. `watch` is asked first about each read, by its position; a number it
 * returns is what the read returns instead (0: the file ended there).
 */
import type * as Fs from "node:fs"

export const withWatchedReadSync = (
  original: typeof Fs,
  watch: (position: number) => number | undefined
): Record<string, unknown> => {
  const readSync = (
    fd: number,
    buffer: NodeJS.ArrayBufferView,
    offset: number,
    length: number,
    position: number
  ): number => watch(position) ?? original.readSync(fd, buffer, offset, length, position)
  return { ...original, readSync, default: { ...original, readSync } }
}
