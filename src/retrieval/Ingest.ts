/**
 * Loads a folder of text documents (by default `.md` and `.txt`) into
 * `Document`s for chunking, through effect's `FileSystem` and `Path` services.
 *
 * The folder is walked recursively; names starting with "." (`.git`,
 * `.obsidian`, editor droppings) are skipped, and a symbolic link is read as
 * a file when its name matches but never walked as a folder, so a link cycle
 * cannot loop. A document's `sourceId` is its path relative to the folder with
 * `/` separators on every platform, and documents come sorted by it, so the
 * same folder always yields the same corpus and the same chunk ids.
 */
import { Effect, FileSystem, Path, type PlatformError } from "effect"
import type { Document } from "./Chunking.ts"
import { RetrievalError } from "./RetrievalError.ts"

export interface LoadOptions {
  /** File name endings to load, with or without the dot; case-insensitive. Default `[".md", ".txt"]`. */
  readonly extensions?: ReadonlyArray<string>
}

export const defaultExtensions: ReadonlyArray<string> = [".md", ".txt"]

/**
 * Reads every matching file under `folder`. Fails with `FolderNotFound` when
 * `folder` is missing or not a folder, `EmptyCorpus` when nothing matches,
 * `UnreadableFile` (naming the file) when a match cannot be read as text, and
 * `InvalidOptions` for an empty extension list.
 */
export const loadFolder = Effect.fn("Ingest.loadFolder")(function* (
  folder: string,
  options?: LoadOptions
): Effect.fn.Return<Array<Document>, RetrievalError, FileSystem.FileSystem | Path.Path> {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const extensions = (options?.extensions ?? defaultExtensions)
    .map((ext) => ext.trim().toLowerCase())
    .filter((ext) => ext.length > 0 && ext !== ".")
    .map((ext) => (ext.startsWith(".") ? ext : `.${ext}`))
  if (extensions.length === 0) {
    return yield* new RetrievalError({
      reason: "InvalidOptions",
      message: "The list of file extensions to load is empty."
    })
  }

  const info = yield* fs.stat(folder).pipe(
    Effect.mapError(
      (cause) =>
        new RetrievalError({
          reason: "FolderNotFound",
          message: `No folder at ${folder}.`,
          path: folder,
          cause
        })
    )
  )
  if (info.type !== "Directory") {
    return yield* new RetrievalError({
      reason: "FolderNotFound",
      message: `${folder} is not a folder.`,
      path: folder
    })
  }

  const matches = (name: string) => {
    const lower = name.toLowerCase()
    return extensions.some((ext) => lower.endsWith(ext) && lower.length > ext.length)
  }
  const relativePaths: Array<string> = []
  const walk = (dir: string, prefix: string): Effect.Effect<void, RetrievalError> =>
    fs.readDirectoryEntries(dir).pipe(
      Effect.mapError(
        (cause) =>
          new RetrievalError({
            reason: "UnreadableFile",
            message: `Cannot list the folder ${dir}: ${whyUnreadable(cause)}.`,
            path: dir,
            cause
          })
      ),
      Effect.flatMap((entries) =>
        Effect.forEach(
          entries.filter((entry) => !entry.name.startsWith(".")),
          (entry) => {
            const relative = prefix === "" ? entry.name : `${prefix}/${entry.name}`
            if (entry.type === "Directory") return walk(path.join(dir, entry.name), relative)
            if (matches(entry.name)) relativePaths.push(relative)
            return Effect.void
          },
          { discard: true }
        )
      )
    )
  yield* walk(folder, "")

  if (relativePaths.length === 0) {
    return yield* new RetrievalError({
      reason: "EmptyCorpus",
      message: `No ${extensions.join(" or ")} files in ${folder}.`,
      path: folder
    })
  }
  // Code-unit order, not locale order: the same on every machine.
  relativePaths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))

  return yield* Effect.forEach(
    relativePaths,
    (sourceId) => {
      const file = path.join(folder, ...sourceId.split("/"))
      return fs.readFileString(file).pipe(
        Effect.map(
          (text): Document => ({ sourceId, text: text.startsWith("\uFEFF") ? text.slice(1) : text })
        ),
        Effect.mapError(
          (cause) =>
            new RetrievalError({
              reason: "UnreadableFile",
              message: `Cannot read ${file}: ${whyUnreadable(cause)}.`,
              path: file,
              cause
            })
        )
      )
    },
    { concurrency: 8 }
  )
})

const whyUnreadable = (error: PlatformError.PlatformError): string => {
  switch (error.reason._tag) {
    case "NotFound":
      return "it does not exist (a broken link?)"
    case "PermissionDenied":
      return "permission denied"
    case "BadResource":
      return "it is not a regular file"
    default:
      return error.message
  }
}
