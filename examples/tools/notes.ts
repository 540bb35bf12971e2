/**
 * A tool with a side effect, for the approval example: `save_note` appends a
 * note to a markdown file. Writing is something a person should agree to, so
 * the tool says `needsApproval: true` (effect/ai's own flag): an agent run
 * pauses before it runs, and runs it only once a person approves.
 */
import { Effect, FileSystem, Schema } from "effect"
import { Prompt, Tool, Toolkit } from "effect/ai"
import { SaveFailed, ToolError, toolError } from "./ToolError.ts"

export const SavedNote = Schema.Struct({
  /** The file the note was appended to. */
  file: Schema.String,
  /** How many notes the file holds now. */
  notes: Schema.Number
})

export const SaveNote = Tool.make("save_note", {
  description: "Save a note: append it to the user's notes file. Needs the user's approval.",
  parameters: Schema.Struct({
    text: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(2000)).annotate({
      description: "the note to save"
    })
  }),
  success: SavedNote,
  failure: ToolError,
  failureMode: "return",
  needsApproval: true,
  toModelOutput: (saved) => [
    Prompt.makePart("text", {
      text: `Saved the note to ${saved.file} (${saved.notes} ${saved.notes === 1 ? "note" : "notes"} in the file).`
    })
  ]
})

export const NoteTools = Toolkit.make(SaveNote)

/** The handler of `save_note`, writing to `file` (created when missing). */
export const layerNotes = (file: string) =>
  NoteTools.toLayer(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      return {
        save_note: ({ text }: { readonly text: string }) =>
          Effect.gen(function* () {
            yield* fs.writeFileString(file, `- ${text.replace(/\s*\n\s*/g, " ")}\n`, { flag: "a" })
            const content = yield* fs.readFileString(file)
            return { file, notes: content.split("\n").filter((line) => line.startsWith("- ")).length }
          }).pipe(Effect.mapError((error) => toolError(new SaveFailed({ file, description: error.message }))))
      }
    })
  )
