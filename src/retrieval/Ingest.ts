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
 *
 * A file is text when it holds no NUL byte and decodes as UTF-8; anything else
 * (an image renamed `.md`, a Latin-1 export) is skipped and listed rather than
 * indexed as mojibake. A file or subfolder that cannot be read is skipped and
 * listed too: one bad file does not cost the whole corpus. Loading fails only
 * when nothing under the folder could be read as text.
 */
import { Effect, FileSystem, Path, type PlatformError, Schema } from "effect"
import type { Document } from "./Chunking.ts"
import { show } from "../core/InvalidOption.ts"
import {
  EmptyCorpus,
  FolderNotFound,
  fail,
  invalidOption,
  type RetrievalError,
  UnreadableFile
} from "./RetrievalError.ts"

/** A file (or subfolder) passed over, and why. */
export const SkippedFile = Schema.Struct({
  /** Its path relative to the folder, `/`-separated, like a document's `sourceId`. */
  sourceId: Schema.String,
  /** `NotText`: binary or not valid UTF-8. `Unreadable`: the system would not read it. */
  reason: Schema.Literals(["NotText", "Unreadable"]),
  /** Why, in a few words: "not valid UTF-8", "permission denied". */
  detail: Schema.String
})
export type SkippedFile = typeof SkippedFile.Type

/** The documents of a folder, sorted by `sourceId`, with the files passed over in `skipped`. */
export interface LoadedFolder extends Array<Document> {
  readonly skipped: ReadonlyArray<SkippedFile>
}

/** How far loading has got, reported after each file. */
export interface LoadProgress {
  /** Matching files found under the folder. */
  readonly files: number
  /** Files read so far, skipped ones included. */
  readonly read: number
  readonly skipped: number
  readonly bytes: number
}

export interface LoadOptions {
  /** File name endings to load, with or without the dot; case-insensitive. Default `[".md", ".txt"]`. */
  readonly extensions?: ReadonlyArray<string>
  /** Called after each file is read (for a progress display); must not throw. */
  readonly onProgress?: ((progress: LoadProgress) => void) | undefined
}

export const defaultExtensions: ReadonlyArray<string> = [".md", ".txt"]

/**
 * Reads every matching file under `folder`. Fails with `FolderNotFound` when
 * `folder` is missing or not a folder, `EmptyCorpus` when nothing matches or
 * no match is text, `UnreadableFile` when the folder cannot be listed or no
 * match could be read at all, and `InvalidOption` for an empty extension list. Files that are not text or
 * cannot be read are listed in the result's `skipped`.
 */
export const loadFolder = Effect.fn("Ingest.loadFolder")(function* (
  folder: string,
  options?: LoadOptions
): Effect.fn.Return<LoadedFolder, RetrievalError, FileSystem.FileSystem | Path.Path> {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const extensions = (options?.extensions ?? defaultExtensions)
    .map((ext) => ext.trim().toLowerCase())
    .filter((ext) => ext.length > 0 && ext !== ".")
    .map((ext) => (ext.startsWith(".") ? ext : `.${ext}`))
  if (extensions.length === 0) {
    return yield* invalidOption("extensions", show(options?.extensions ?? []), "at least one file extension")
  }

  const info = yield* fs
    .stat(folder)
    .pipe(Effect.mapError((cause) => fail(new FolderNotFound({ path: folder, cause }))))
  if (info.type !== "Directory") {
    return yield* fail(new FolderNotFound({ path: folder, description: "it is not a folder" }))
  }

  const matches = (name: string) => {
    const lower = name.toLowerCase()
    return extensions.some((ext) => lower.endsWith(ext) && lower.length > ext.length)
  }
  const relativePaths: Array<string> = []
  const skipped: Array<SkippedFile> = []
  const walk = (dir: string, prefix: string): Effect.Effect<void, RetrievalError> =>
    fs.readDirectoryEntries(dir).pipe(
      Effect.matchEffect({
        onFailure: (cause) =>
          // The folder itself must be listable; a subfolder that is not is passed over.
          prefix === ""
            ? Effect.fail(fail(new UnreadableFile({ path: dir, description: whyUnreadable(cause), cause })))
            : Effect.sync(() => {
                skipped.push({ sourceId: `${prefix}/`, reason: "Unreadable", detail: whyUnreadable(cause) })
              }),
        onSuccess: (entries) =>
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
      })
    )
  yield* walk(folder, "")

  if (relativePaths.length === 0) {
    return yield* fail(
      new EmptyCorpus({ description: `No ${extensions.join(" or ")} files in ${folder}.`, path: folder })
    )
  }
  // Code-unit order, not locale order: the same on every machine.
  relativePaths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))

  const onProgress = options?.onProgress
  const progress = { files: relativePaths.length, read: 0, skipped: 0, bytes: 0 }
  // Each read is asynchronous, so the event loop (and a Ctrl-C) gets a turn between files.
  const read = yield* Effect.forEach(
    relativePaths,
    (sourceId) =>
      fs.readFile(path.join(folder, ...sourceId.split("/"))).pipe(
        Effect.map((bytes): Document | SkippedFile => {
          progress.bytes += bytes.length
          const text = decodeText(bytes)
          return text === undefined
            ? { sourceId, reason: "NotText", detail: bytes.includes(0) ? "binary" : "not valid UTF-8" }
            : { sourceId, text }
        }),
        Effect.catch((cause) =>
          Effect.succeed<SkippedFile>({ sourceId, reason: "Unreadable", detail: whyUnreadable(cause) })
        ),
        Effect.tap((result) =>
          Effect.sync(() => {
            progress.read += 1
            if ("reason" in result) progress.skipped += 1
            onProgress?.({ ...progress })
          })
        )
      ),
    { concurrency: 8 }
  )

  const documents: Array<Document> = []
  for (const result of read) {
    if ("reason" in result) skipped.push(result)
    else documents.push(result)
  }
  skipped.sort((a, b) => (a.sourceId < b.sourceId ? -1 : a.sourceId > b.sourceId ? 1 : 0))
  if (documents.length === 0) {
    // Fail only now: nothing at all could be read as text.
    return yield* fail(
      skipped.some((file) => file.reason === "Unreadable")
        ? new UnreadableFile({
            path: folder,
            description: `no file in it could be read as text (${describeSkipped(skipped)})`
          })
        : new EmptyCorpus({
            description: `Nothing in ${folder} could be read as text: ${describeSkipped(skipped)}.`,
            path: folder
          })
    )
  }
  return Object.assign(documents, { skipped })
})

/**
 * The files passed over, as one line: `skipped 2 files: a.bin (binary), b.md
 * (not valid UTF-8)`. At most `max` are named; the rest are counted.
 */
export const describeSkipped = (skipped: ReadonlyArray<SkippedFile>, max = 5): string => {
  const named = skipped.slice(0, max).map((file) => `${file.sourceId} (${file.detail})`)
  const more = skipped.length > max ? `, and ${skipped.length - max} more` : ""
  return `skipped ${skipped.length} ${skipped.length === 1 ? "file" : "files"}: ${named.join(", ")}${more}`
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** The file's text (without a byte-order mark), or undefined when it is binary or not UTF-8. */
const decodeText = (bytes: Uint8Array): string | undefined => {
  // A NUL byte never occurs in text (UTF-16 files are full of them).
  if (bytes.includes(0)) return undefined
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}

const whyUnreadable = (error: PlatformError.PlatformError): string => {
  switch (error.reason._tag) {
    case "NotFound":
      return "it does not exist (a broken link?)"
    case "PermissionDenied":
      return "permission denied"
    case "BadResource":
      return "not a regular file"
    default:
      return error.message
  }
}
