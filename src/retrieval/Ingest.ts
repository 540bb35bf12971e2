/**
 * Loads a folder of text documents (by default `.md` and `.txt`; `.json` and
 * `.jsonl` records too when asked, see `allExtensions`) into `Document`s for
 * chunking, through effect's `FileSystem` and `Path` services.
 *
 * Each document carries its metadata: `updatedAt` is the file's modification
 * time; a markdown file's `title` is its first heading. A `.json` file holds
 * one record (an object) or an array of them, a `.jsonl` file one record a
 * line; a record's text, title, tags and id are read from configurable field
 * names (`text`, `title`, `tags`, `id` by default) and its other fields kept
 * as `metadata`. A file of one record without an id is the document named by
 * the file's path; records of a file of many are named `${path}#${id}` (their
 * position when they have no id). `contentHash` fingerprints a document's
 * text and metadata, so an index can tell an unchanged file from a changed one.
 *
 * The folder is walked recursively; names starting with "." (`.git`,
 * `.obsidian`, editor droppings) are skipped, and a symbolic link is read as
 * a file when its name matches but never walked as a folder, so a link cycle
 * cannot loop. A file's documents are named by its path relative to the folder with
 * `/` separators on every platform, and documents come sorted by file, so the
 * same folder always yields the same corpus and the same chunk ids.
 *
 * A file is text when it holds no NUL byte and decodes as UTF-8; anything else
 * (an image renamed `.md`, a Latin-1 export) is skipped and listed rather than
 * indexed as mojibake. A file or subfolder that cannot be read is skipped and
 * listed too, as is a JSON file that does not parse or holds no record with a
 * text: one bad file does not cost the whole corpus. Loading fails only
 * when nothing under the folder could be read as text (`readFolder` does not:
 * an index mirroring a folder needs to know it is empty).
 */
import { createHash } from "node:crypto"
import { Effect, FileSystem, Option, Path, type PlatformError, Schema } from "effect"
import { type Document, firstHeading } from "./Chunking.ts"
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
  /**
   * `NotText`: binary or not valid UTF-8. `Unreadable`: the system would not
   * read it. `NotDocument`: a JSON file that does not parse, or has no record
   * with a text.
   */
  reason: Schema.Literals(["NotText", "Unreadable", "NotDocument"]),
  /** Why, in a few words: "not valid UTF-8", "permission denied", "line 3: no \"text\" string". */
  detail: Schema.String
})
export type SkippedFile = typeof SkippedFile.Type

/** The documents of a folder, sorted by file, with the files passed over in `skipped`. */
export interface LoadedFolder extends Array<Document> {
  readonly skipped: ReadonlyArray<SkippedFile>
}

/** What `readFolder` found: the matching files, their documents, and the files passed over. */
export interface FolderContents {
  /** Every matching file's path relative to the folder, sorted, read or not. */
  readonly files: ReadonlyArray<string>
  readonly documents: ReadonlyArray<Document>
  readonly skipped: ReadonlyArray<SkippedFile>
}

/** The field names a JSON record is read through. */
export interface JsonFields {
  /** The record's text, a string. Default `"text"`. */
  readonly text?: string | undefined
  /** Its title, a string. Default `"title"`. */
  readonly title?: string | undefined
  /** Its tags, a string or an array of strings. Default `"tags"`. */
  readonly tags?: string | undefined
  /** Its id (a string or a number), naming it within its file. Default `"id"`. */
  readonly id?: string | undefined
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
  /** The field names JSON records are read through. */
  readonly json?: JsonFields | undefined
}

export const defaultExtensions: ReadonlyArray<string> = [".md", ".txt"]

/** Every kind of file Ingest reads: markdown, plain text, JSON and JSON Lines. */
export const allExtensions: ReadonlyArray<string> = [".md", ".txt", ".json", ".jsonl"]

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
  const { files, documents, skipped } = yield* readFolder(folder, options)
  if (files.length === 0) {
    return yield* fail(
      new EmptyCorpus({
        description: `No ${orList(normalizeExtensions(options?.extensions))} files in ${folder}.`,
        path: folder
      })
    )
  }
  // Fail only now: nothing at all could be read as text.
  if (documents.length === 0) return yield* fail(nothingReadable(folder, skipped))
  return Object.assign([...documents], { skipped })
})

/**
 * The failure for a folder whose matching files were all skipped:
 * `UnreadableFile` when one could not be read, else `EmptyCorpus` (none is text).
 */
export const nothingReadable = (
  folder: string,
  skipped: ReadonlyArray<SkippedFile>
): UnreadableFile | EmptyCorpus =>
  skipped.some((file) => file.reason === "Unreadable")
    ? new UnreadableFile({
        path: folder,
        description: `no file in it could be read as text (${describeSkipped(skipped)})`
      })
    : new EmptyCorpus({
        description: `Nothing in ${folder} could be read as text: ${describeSkipped(skipped)}.`,
        path: folder
      })

const normalizeExtensions = (extensions: ReadonlyArray<string> | undefined): Array<string> =>
  (extensions ?? defaultExtensions)
    .map((ext) => ext.trim().toLowerCase())
    .filter((ext) => ext.length > 0 && ext !== ".")
    .map((ext) => (ext.startsWith(".") ? ext : `.${ext}`))

/** ".md", ".md or .txt", ".md, .txt, .json or .jsonl". */
const orList = (items: ReadonlyArray<string>): string =>
  items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * Reads every matching file under `folder` as `loadFolder` does, but succeeds
 * with whatever it found — no files, or none readable — so a caller mirroring
 * the folder can tell a file gone from a file it could not read. Fails with
 * `FolderNotFound`, `UnreadableFile` (the folder itself cannot be listed) and
 * `InvalidOption` (an empty extension list).
 */
export const readFolder = Effect.fn("Ingest.readFolder")(function* (
  folder: string,
  options?: LoadOptions
): Effect.fn.Return<FolderContents, RetrievalError, FileSystem.FileSystem | Path.Path> {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const extensions = normalizeExtensions(options?.extensions)
  if (extensions.length === 0) {
    return yield* invalidOption("extensions", show(options?.extensions ?? []), "at least one file extension")
  }
  const fields = resolveFields(options?.json)

  const info = yield* fs
    .stat(folder)
    .pipe(Effect.mapError((cause) => fail(new FolderNotFound({ path: folder, cause }))))
  if (info.type !== "Directory") {
    return yield* fail(
      new FolderNotFound({
        path: folder,
        description:
          info.type === "File" ? "it is a file; give the folder that holds it" : "it is not a folder"
      })
    )
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
  // Code-unit order, not locale order: the same on every machine.
  relativePaths.sort(byCodeUnit)

  const onProgress = options?.onProgress
  const progress = { files: relativePaths.length, read: 0, skipped: 0, bytes: 0 }
  // Each read is asynchronous, so the event loop (and a Ctrl-C) gets a turn between files.
  const read = yield* Effect.forEach(
    relativePaths,
    (file) => {
      const full = path.join(folder, ...file.split("/"))
      return Effect.all([fs.stat(full), fs.readFile(full)]).pipe(
        Effect.map(([stat, bytes]): ReadonlyArray<Document> | SkippedFile => {
          progress.bytes += bytes.length
          const text = decodeText(bytes)
          if (text === undefined) {
            return {
              sourceId: file,
              reason: "NotText",
              detail: bytes.includes(0) ? "binary" : "not valid UTF-8"
            }
          }
          const updatedAt = Option.getOrUndefined(
            Option.map(stat.mtime, (date) => Math.floor(date.getTime()))
          )
          return parseFile(file, text, updatedAt, fields)
        }),
        Effect.catch((cause) =>
          Effect.succeed<SkippedFile>({ sourceId: file, reason: "Unreadable", detail: whyUnreadable(cause) })
        ),
        Effect.tap((result) =>
          Effect.sync(() => {
            progress.read += 1
            if ("reason" in result) progress.skipped += 1
            onProgress?.({ ...progress })
          })
        )
      )
    },
    { concurrency: 8 }
  )

  const documents: Array<Document> = []
  for (const result of read) {
    if ("reason" in result) skipped.push(result)
    else for (const document of result) documents.push(document)
  }
  skipped.sort((a, b) => byCodeUnit(a.sourceId, b.sourceId))
  return { files: relativePaths, documents, skipped }
})

// ---------------------------------------------------------------------------
// Parsing a file into documents

type ResolvedFields = Required<{ readonly [K in keyof JsonFields]: string }>

const resolveFields = (fields: JsonFields | undefined): ResolvedFields => ({
  text: fields?.text ?? "text",
  title: fields?.title ?? "title",
  tags: fields?.tags ?? "tags",
  id: fields?.id ?? "id"
})

/** The separator between a JSON file's path and a record's id in the record's `sourceId`. */
export const recordSeparator = "#"

/**
 * A file's documents: one for a markdown or text file (titled by its first
 * heading when markdown), the records of a JSON or JSON Lines file; a
 * `SkippedFile` when a JSON file does not parse or holds no record with a text.
 */
const parseFile = (
  file: string,
  text: string,
  updatedAt: number | undefined,
  fields: ResolvedFields
): ReadonlyArray<Document> | SkippedFile => {
  const lower = file.toLowerCase()
  const isJsonl = lower.endsWith(".jsonl")
  if (!isJsonl && !lower.endsWith(".json")) {
    const title = lower.endsWith(".md") || lower.endsWith(".markdown") ? firstHeading(text) : undefined
    return [
      {
        sourceId: file,
        text,
        ...(title === undefined ? {} : { title }),
        ...(updatedAt === undefined ? {} : { updatedAt })
      }
    ]
  }
  const notDocument = (detail: string): SkippedFile => ({ sourceId: file, reason: "NotDocument", detail })
  const records: Array<{ readonly value: unknown; readonly where: string }> = []
  if (isJsonl) {
    const lines = text.split("\n")
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim()
      if (line.length === 0) continue
      try {
        records.push({ value: JSON.parse(line), where: `line ${i + 1}` })
      } catch {
        return notDocument(`line ${i + 1} is not valid JSON`)
      }
    }
  } else {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return notDocument("not valid JSON")
    }
    if (Array.isArray(parsed)) parsed.forEach((value, i) => records.push({ value, where: `record ${i + 1}` }))
    else records.push({ value: parsed, where: "the record" })
  }
  if (records.length === 0) return notDocument("no records")
  const documents: Array<Document> = []
  const ids = new Set<string>()
  for (let i = 0; i < records.length; i++) {
    const { value, where } = records[i]!
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return notDocument(`${where} is not an object`)
    }
    const record = value as Record<string, unknown>
    const body = record[fields.text]
    if (typeof body !== "string") return notDocument(`${where} has no "${fields.text}" string`)
    const rawId = record[fields.id]
    const id = typeof rawId === "string" || typeof rawId === "number" ? String(rawId) : undefined
    const sourceId =
      records.length === 1 && id === undefined && !isJsonl
        ? file
        : `${file}${recordSeparator}${id ?? String(i + 1)}`
    if (ids.has(sourceId)) return notDocument(`two records share the id ${show(id ?? i + 1)}`)
    ids.add(sourceId)
    const title = record[fields.title]
    const rawTags = record[fields.tags]
    const tags =
      typeof rawTags === "string"
        ? [rawTags]
        : Array.isArray(rawTags)
          ? rawTags.filter((tag): tag is string => typeof tag === "string")
          : []
    const metadata: Record<string, Schema.Json> = {}
    let hasMetadata = false
    for (const key of Object.keys(record)) {
      if (key === fields.text || key === fields.title || key === fields.tags || key === fields.id) continue
      metadata[key] = record[key] as Schema.Json
      hasMetadata = true
    }
    documents.push({
      sourceId,
      text: body,
      ...(typeof title === "string" && title.trim() !== "" ? { title: title.trim() } : {}),
      ...(updatedAt === undefined ? {} : { updatedAt }),
      ...(tags.length === 0 ? {} : { tags }),
      ...(hasMetadata ? { metadata } : {})
    })
  }
  return documents
}

/**
 * A fingerprint of what a document holds: the SHA-256 (hex) of its text,
 * title, tags and metadata — not of `updatedAt`, so a file touched but not
 * changed keeps its hash. Object keys are hashed in sorted order, so the
 * same record hashes the same however its fields were written.
 */
export const contentHash = (document: Document): string =>
  createHash("sha256")
    .update(
      canonicalJson({
        text: document.text,
        title: document.title ?? null,
        tags: document.tags ?? [],
        metadata: document.metadata ?? null
      })
    )
    .digest("hex")

/** JSON with object keys sorted, so equal values always serialize alike. */
const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  if (typeof value === "object" && value !== null) {
    const entries = Object.keys(value)
      .sort(byCodeUnit)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
    return `{${entries.join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

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
