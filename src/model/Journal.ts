/**
 * Record and replay model calls. `record(path)` wraps any `LanguageModel`
 * (and `recordEmbeddings` any `EmbeddingModel`): each call's request and its
 * full response — every part of a stream, or the typed failure — is
 * appended to a journal file of JSON lines, keyed by a stable hash of the
 * request. `replay(path)` is a model that answers from that file, offline,
 * and fails clearly on a request it has not seen. Record once against a real
 * API; run the tests offline for ever.
 *
 * The key is a SHA-256 of the call's kind (whole or streamed), the model
 * name, the prompt (as `Prompt` JSON), the tools offered (name, description,
 * parameter schema), the tool choice and the response format. A request
 * recorded several times is replayed in the same order (the last answer
 * repeats). The journal holds prompts and answers only: no headers, no
 * keys, no provider configuration. Calls are recorded below tool resolution
 * (the model's tool calls, not their results), so replayed tool calls run the
 * real handlers again. The replayed model is metered like any provider, with
 * the usage the recording reported.
 */
import { createHash } from "node:crypto"
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { DateTime, Effect, Layer, Schema, Stream } from "effect"
import {
  AiError,
  EmbeddingModel,
  LanguageModel,
  Model,
  Prompt,
  type Response,
  Tool,
  Toolkit
} from "effect/ai"
import type { Identity } from "../budget/Meter.ts"
import { providerLayer } from "./internal/parts.ts"

const MODULE = "Journal"

export type Kind = "generate" | "stream" | "embed"

/** One line of a journal. */
export interface Entry {
  readonly key: string
  readonly kind: Kind
  readonly model: string
  /** What was asked, for a person reading the journal (the key is what matches). */
  readonly request: unknown
  /** The response parts, as the provider encodes them (absent when the call failed). */
  readonly parts?: ReadonlyArray<unknown> | undefined
  /** The call's typed failure, as JSON. */
  readonly error?: unknown
  /** For `embed`: the vector. */
  readonly vector?: ReadonlyArray<number> | undefined
}

const errorCodec = Schema.toCodecJson(AiError.AiError)
const encodeError = Schema.encodeSync(errorCodec)
const decodeError = Schema.decodeUnknownSync(errorCodec)
const promptCodec = Schema.toCodecJson(Prompt.Prompt)
const encodePrompt = Schema.encodeSync(promptCodec)

/** JSON with object keys in order, so equal requests hash equal. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]])
        )
      : v
  )

const hash = (value: unknown): string => createHash("sha256").update(canonical(value)).digest("hex")

/** The request as recorded: what decides the answer, and nothing secret. */
export const requestOf = (provider: LanguageModel.ProviderOptions) => ({
  prompt: encodePrompt(provider.prompt),
  tools: provider.tools.map((tool) => ({
    name: tool.name,
    description: Tool.getDescription(tool) ?? null,
    parameters: Tool.getJsonSchema(tool)
  })),
  toolChoice: provider.toolChoice,
  responseFormat:
    provider.responseFormat.type === "json"
      ? {
          type: "json",
          objectName: provider.responseFormat.objectName,
          schema: LanguageModel.defaultCodecTransformer(
            provider.responseFormat.schema as Schema.Codec<unknown>
          ).jsonSchema
        }
      : { type: "text" }
})

/** The stable key of a call. */
export const keyOf = (kind: Kind, model: string, request: unknown): string => hash({ kind, model, request })

/** A decoded response part as its JSON encoding (the form a provider hands to `LanguageModel.make`). */
const encodePart = (part: Response.AnyPart): unknown => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(part)) {
    if (value === undefined) continue
    out[key] = DateTime.isDateTime(value) ? DateTime.formatIso(value) : value
  }
  return JSON.parse(JSON.stringify(out))
}

const failure = (method: string, description: string) =>
  AiError.make({ module: MODULE, method, reason: new AiError.InvalidUserInputError({ description }) })

/** Reads a journal's entries (an absent file has none); throws on a line that is not JSON (see `readEffect`). */
const read = (path: string): Array<Entry> => {
  if (!existsSync(path)) return []
  const entries: Array<Entry> = []
  for (const [i, line] of readFileSync(path, "utf8").split("\n").entries()) {
    if (line.trim() === "") continue
    try {
      entries.push(JSON.parse(line) as Entry)
    } catch {
      throw new Error(`${path}:${i + 1} is not a journal entry (not JSON)`)
    }
  }
  return entries
}

const readEffect = (path: string) =>
  Effect.try({
    try: () => read(path),
    catch: (error) => failure("layer", error instanceof Error ? error.message : String(error))
  })

interface Writer {
  readonly write: (entry: Entry) => void
}

/** Opens the journal at `path` for writing (emptied unless `append`). */
const writer = (path: string, append: boolean) =>
  Effect.try({
    try: (): Writer => {
      mkdirSync(dirname(path), { recursive: true })
      if (!append) writeFileSync(path, "")
      return { write: (entry) => appendFileSync(path, `${JSON.stringify(entry)}\n`) }
    },
    catch: (error) => failure("layer", `Cannot write journal ${path}: ${String(error)}`)
  })

export interface RecordOptions {
  /** Add to an existing journal instead of starting it afresh; default `false`. */
  readonly append?: boolean | undefined
}

/** The toolkit a recording call offers the inner model: the same tools, never run (resolution is off). */
const toolkitOf = (tools: ReadonlyArray<Tool.Any>) =>
  Toolkit.make(...tools) as unknown as Toolkit.WithHandler<any>

/**
 * Wraps the `LanguageModel` in context: every call goes to it and is
 * written to the journal at `path` (started afresh unless `append`).
 * The wrapper inherits from the wrapped model, so a metered model stays
 * metered exactly once.
 */
export const record = (
  path: string,
  options?: RecordOptions
): Layer.Layer<LanguageModel.LanguageModel, AiError.AiError, LanguageModel.LanguageModel> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.gen(function* () {
      const inner = yield* LanguageModel.LanguageModel
      const model = (yield* Effect.serviceOption(Model.ModelName)).pipe((o) =>
        o._tag === "Some" ? o.value : "unknown"
      )
      const out = yield* writer(path, options?.append ?? false)
      const entry = (kind: Kind, request: unknown, result: Partial<Entry>): Entry => ({
        key: keyOf(kind, model, request),
        kind,
        model,
        request,
        ...result
      })
      const keep = (kind: Kind, request: unknown) => ({
        parts: (parts: ReadonlyArray<unknown>) =>
          Effect.sync(() => out.write(entry(kind, request, { parts }))),
        error: (error: unknown) =>
          AiError.isAiError(error)
            ? Effect.sync(() => out.write(entry(kind, request, { error: encodeError(error) })))
            : Effect.void
      })

      const made = yield* LanguageModel.make({
        generateText: (provider) => {
          const request = requestOf(provider)
          const kept = keep("generate", request)
          const call: Effect.Effect<ReadonlyArray<Response.AnyPart>, AiError.AiError> = provider
            .responseFormat.type === "json"
            ? Effect.map(
                inner.generateObject({
                  prompt: provider.prompt,
                  schema: provider.responseFormat.schema as Schema.Codec<any>,
                  objectName: provider.responseFormat.objectName
                }) as Effect.Effect<{ readonly content: ReadonlyArray<unknown> }, AiError.AiError>,
                (response) => response.content as ReadonlyArray<Response.AnyPart>
              )
            : (Effect.map(
                inner.generateText({
                  prompt: provider.prompt,
                  ...(provider.tools.length > 0 ? { toolkit: toolkitOf(provider.tools) } : {}),
                  toolChoice: provider.toolChoice as never,
                  disableToolCallResolution: true
                } as never),
                (response: LanguageModel.GenerateTextResponse<any>) => response.content
              ) as never)
          // Encoded once: the same parts go to the journal and to the caller.
          return call.pipe(
            Effect.map((parts) => parts.map(encodePart) as Array<Response.PartEncoded>),
            Effect.tap(kept.parts),
            Effect.tapError(kept.error)
          )
        },
        streamText: (provider) => {
          const request = requestOf(provider)
          const kept = keep("stream", request)
          const parts: Array<unknown> = []
          return (
            inner.streamText({
              prompt: provider.prompt,
              ...(provider.tools.length > 0 ? { toolkit: toolkitOf(provider.tools) } : {}),
              toolChoice: provider.toolChoice as never,
              disableToolCallResolution: true
            } as never) as Stream.Stream<Response.AnyPart, AiError.AiError>
          ).pipe(
            Stream.map((part) => encodePart(part) as Response.StreamPartEncoded),
            Stream.tap((part) => Effect.sync(() => parts.push(part))),
            Stream.tapError(kept.error),
            Stream.onEnd(Effect.suspend(() => kept.parts(parts)))
          ) as Stream.Stream<Response.StreamPartEncoded, AiError.AiError>
        }
      })
      const service: LanguageModel.LanguageModel = Object.create(inner)
      Object.defineProperties(service, {
        generateText: { value: made.generateText },
        generateObject: { value: made.generateObject },
        streamText: { value: made.streamText }
      })
      return service
    })
  )

export interface ReplayOptions {
  /** The model name to answer (and be priced) under; default: the one name the journal holds. */
  readonly model?: string | undefined
  /** What a call reserves for its output; default 4096. */
  readonly maxOutputTokens?: number | undefined
}

/** Entries by key, each key's answers in recorded order, and where each key stands. */
const index = (entries: ReadonlyArray<Entry>) => {
  const byKey = new Map<string, Array<Entry>>()
  for (const entry of entries) {
    const list = byKey.get(entry.key)
    if (list === undefined) byKey.set(entry.key, [entry])
    else list.push(entry)
  }
  const played = new Map<string, number>()
  return (key: string): Entry | undefined => {
    const list = byKey.get(key)
    if (list === undefined) return undefined
    const n = played.get(key) ?? 0
    played.set(key, n + 1)
    return list[Math.min(n, list.length - 1)]
  }
}

const promptExcerpt = (provider: LanguageModel.ProviderOptions): string => {
  const last = provider.prompt.content.findLast((message) => message.role === "user")
  if (last === undefined || last.role !== "user") return ""
  const text = last.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join(" ")
  return text.length > 80 ? `${text.slice(0, 77)}…` : text
}

/**
 * A model that answers from the journal at `path`, metered under the
 * recorded model's name. A request the journal does not hold fails with an
 * `AiError` (`InvalidUserInputError`, not retryable) naming the journal, the
 * request's key and the start of its last user message.
 */
export const replay = (
  path: string,
  options?: ReplayOptions
): Layer.Layer<LanguageModel.LanguageModel | Model.ModelName | Model.ProviderName, AiError.AiError> =>
  Layer.unwrap(
    Effect.map(readEffect(path), (entries) => {
      const models = [...new Set(entries.filter((e) => e.kind !== "embed").map((e) => e.model))]
      const name = options?.model ?? (models.length === 1 ? models[0]! : "replay")
      const identity: Identity = {
        provider: "journal",
        model: name,
        maxOutputTokens: options?.maxOutputTokens ?? 4096
      }
      const next = index(entries)
      const answer = (kind: Kind, provider: LanguageModel.ProviderOptions, method: string) =>
        Effect.suspend(() => {
          const request = requestOf(provider)
          // A journal holding one model answers under it, whatever this layer is called.
          const candidates = models.length === 0 ? [name] : models
          let entry: Entry | undefined
          let key = ""
          for (const model of candidates) {
            key = keyOf(kind, model, request)
            entry = next(key)
            if (entry !== undefined) break
          }
          if (entry === undefined) {
            return Effect.fail(
              failure(
                method,
                `Journal ${path} has no recorded ${kind === "stream" ? "streamed " : ""}response for this request (key ${key.slice(0, 12)}…, last user message "${promptExcerpt(provider)}"); record it with Journal.record`
              )
            )
          }
          if (entry.error !== undefined) return Effect.fail(decodeError(entry.error))
          return Effect.succeed(entry.parts ?? [])
        })
      const model = LanguageModel.make({
        generateText: (provider) =>
          answer(
            "generate",
            provider,
            provider.responseFormat.type === "json" ? "generateObject" : "generateText"
          ) as Effect.Effect<Array<Response.PartEncoded>, AiError.AiError>,
        streamText: (provider) =>
          Stream.unwrap(
            Effect.map(answer("stream", provider, "streamText"), (parts) =>
              Stream.fromIterable(parts as ReadonlyArray<Response.StreamPartEncoded>)
            )
          )
      })
      return providerLayer(model, identity)
    })
  )

/** The key of one embedded input. */
const embedKey = (model: string, input: string) => keyOf("embed", model, { input })

/** Wraps the `EmbeddingModel` in context, writing each input's vector to the journal. */
export const recordEmbeddings = (
  path: string,
  options?: RecordOptions & { readonly model?: string | undefined }
): Layer.Layer<EmbeddingModel.EmbeddingModel, AiError.AiError, EmbeddingModel.EmbeddingModel> =>
  Layer.effect(
    EmbeddingModel.EmbeddingModel,
    Effect.gen(function* () {
      const inner = yield* EmbeddingModel.EmbeddingModel
      const model = options?.model ?? "embeddings"
      const out = yield* writer(path, options?.append ?? false)
      return yield* EmbeddingModel.make({
        embedMany: ({ inputs }) =>
          Effect.map(inner.embedMany(inputs), (response) => {
            const results = response.embeddings.map((embedding) => [...embedding.vector])
            for (const [i, input] of inputs.entries()) {
              out.write({
                key: embedKey(model, input),
                kind: "embed",
                model,
                request: { input },
                vector: results[i]
              })
            }
            return { results, usage: { inputTokens: response.usage.inputTokens } }
          })
      })
    })
  )

/** An `EmbeddingModel` that answers from the journal; an input it has not seen fails, naming it. */
export const replayEmbeddings = (
  path: string,
  options?: { readonly model?: string | undefined }
): Layer.Layer<EmbeddingModel.EmbeddingModel, AiError.AiError> =>
  Layer.effect(
    EmbeddingModel.EmbeddingModel,
    Effect.flatMap(readEffect(path), (entries) => {
      const model = options?.model ?? "embeddings"
      const vectors = new Map<string, ReadonlyArray<number>>()
      for (const entry of entries)
        if (entry.kind === "embed" && entry.vector) vectors.set(entry.key, entry.vector)
      return EmbeddingModel.make({
        embedMany: ({ inputs }) => {
          const results: Array<Array<number>> = []
          for (const input of inputs) {
            const vector = vectors.get(embedKey(model, input))
            if (vector === undefined) {
              return Effect.fail(
                failure("embedMany", `Journal ${path} has no recorded embedding for "${input.slice(0, 80)}"`)
              )
            }
            results.push([...vector])
          }
          return Effect.succeed({ results, usage: { inputTokens: undefined } })
        }
      })
    })
  )
