/**
 * Chat Completions responses as `effect/ai` Response parts: text, reasoning
 * (where a compatible server reports it), tool calls with parsed arguments,
 * the finish reason and usage (cached and reasoning tokens included), and
 * the response's id, model and request id. A stream's chunks are assembled
 * into the same parts as they arrive: tool-call argument deltas are joined per
 * call and parsed at the end. What cannot be read — no choices, arguments
 * that are not JSON, a refusal, a stream that ends before its finish reason —
 * is a typed `AiError`; unreadable arguments and refusals carry the usage so
 * the call is still charged and the repair loop can try again.
 */
import { AiError, type Response } from "effect/ai"
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions"
import type { CompletionUsage } from "openai/resources/completions"
import { aiError } from "./errors.ts"

export const finishReasonOf = (reason: string | null | undefined): Response.FinishReason => {
  switch (reason) {
    case "stop":
      return "stop"
    case "length":
      return "length"
    case "tool_calls":
    case "function_call":
      return "tool-calls"
    case "content_filter":
      return "content-filter"
    case null:
    case undefined:
      return "unknown"
    default:
      return "other"
  }
}

export const usageOf = (usage: CompletionUsage | null | undefined): Response.FinishPartEncoded["usage"] => {
  if (usage === null || usage === undefined) return { inputTokens: {}, outputTokens: {} }
  const cached = usage.prompt_tokens_details?.cached_tokens ?? undefined
  const reasoning = usage.completion_tokens_details?.reasoning_tokens ?? undefined
  return {
    inputTokens: {
      total: usage.prompt_tokens,
      ...(cached === undefined ? {} : { cacheRead: cached, uncached: usage.prompt_tokens - cached })
    },
    outputTokens: {
      total: usage.completion_tokens,
      ...(reasoning === undefined ? {} : { reasoning, text: usage.completion_tokens - reasoning })
    }
  }
}

const usageInfo = (usage: CompletionUsage | null | undefined) =>
  usage === null || usage === undefined
    ? undefined
    : {
        promptTokens: usage.prompt_tokens,
        completionTokens: usage.completion_tokens,
        totalTokens: usage.total_tokens
      }

/** Tool arguments as JSON, or the `AiError` saying they are not (with the usage, so the call is charged). */
export const parseArguments = (
  method: string,
  name: string,
  text: string,
  usage: CompletionUsage | null | undefined
): unknown => {
  if (text.trim() === "") return {}
  try {
    return JSON.parse(text)
  } catch {
    const info = usageInfo(usage)
    return aiError(
      method,
      new AiError.InvalidOutputError({
        description: `The model called tool "${name}" with arguments that are not JSON: ${text.slice(0, 200)}`,
        ...(info === undefined ? {} : { usage: info })
      })
    )
  }
}

const refusal = (
  method: string,
  text: string,
  usage: CompletionUsage | null | undefined
): AiError.AiError => {
  return aiError(
    method,
    new AiError.ContentPolicyError({
      description: `The model refused: ${text}`,
      metadata: { openai: { usage: usage === null || usage === undefined ? null : (usage as never) } }
    })
  )
}

/** Extra fields some compatible servers send (reasoning text). */
interface ReasoningFields {
  readonly reasoning_content?: string | null
  readonly reasoning?: string | null
}

const reasoningOf = (fields: ReasoningFields): string | undefined => {
  const text = fields.reasoning_content ?? fields.reasoning
  return typeof text === "string" && text.length > 0 ? text : undefined
}

const metadataPart = (
  id: string | undefined,
  model: string | undefined,
  created: number | undefined,
  requestId: string | null | undefined,
  systemFingerprint: string | null | undefined
): Response.ResponseMetadataPartEncoded => ({
  type: "response-metadata",
  ...(id === undefined ? {} : { id }),
  ...(model === undefined ? {} : { modelId: model }),
  ...(created === undefined ? {} : { timestamp: new Date(created * 1000).toISOString() }),
  metadata: { openai: { requestId: requestId ?? null, systemFingerprint: systemFingerprint ?? null } }
})

/** A whole response as parts, for `generateText`. */
export const partsOf = (
  method: string,
  completion: ChatCompletion,
  requestId: string | null | undefined
): Array<Response.PartEncoded> | AiError.AiError => {
  const choice = completion.choices?.[0]
  if (choice === undefined) {
    return aiError(method, new AiError.InvalidResponseError({ description: "The response has no choices" }))
  }
  const message = choice.message
  const finishReason = finishReasonOf(choice.finish_reason)
  const parts: Array<Response.PartEncoded> = [
    metadataPart(
      completion.id,
      completion.model,
      completion.created,
      requestId,
      completion.system_fingerprint
    )
  ]
  if (typeof message.refusal === "string" && message.refusal.length > 0) {
    return refusal(method, message.refusal, completion.usage)
  }
  const reasoning = reasoningOf(message as ReasoningFields)
  if (reasoning !== undefined) parts.push({ type: "reasoning", text: reasoning })
  const text = message.content ?? ""
  if (finishReason === "content-filter" && text.length === 0 && (message.tool_calls ?? []).length === 0) {
    return aiError(
      method,
      new AiError.ContentPolicyError({
        description: "The response was withheld by the server's content filter"
      })
    )
  }
  if (text.length > 0) parts.push({ type: "text", text })
  for (const call of message.tool_calls ?? []) {
    if (call.type !== "function") continue
    const params = parseArguments(method, call.function.name, call.function.arguments, completion.usage)
    if (AiError.isAiError(params)) return params
    parts.push({ type: "tool-call", id: call.id, name: call.function.name, params })
  }
  parts.push({ type: "finish", reason: finishReason, usage: usageOf(completion.usage) })
  return parts
}

interface PendingCall {
  id: string
  name: string
  args: string
  started: boolean
}

/**
 * Turns a stream's chunks into stream parts: `push` for each chunk, `end`
 * when the stream ends. Either returns the parts to emit, or an `AiError`.
 */
export class StreamAssembler {
  readonly method: string
  readonly requestId: string | null | undefined
  private metadataSent = false
  private textOpen = false
  private reasoningOpen = false
  private readonly calls: Array<PendingCall | undefined> = []
  private finishReason: string | null | undefined = undefined
  private usage: CompletionUsage | null | undefined = undefined
  private refusalText = ""
  private sawChoices = false

  constructor(method: string, requestId: string | null | undefined) {
    this.method = method
    this.requestId = requestId
  }

  push(chunk: ChatCompletionChunk): Array<Response.StreamPartEncoded> | AiError.AiError {
    const out: Array<Response.StreamPartEncoded> = []
    if (!this.metadataSent) {
      this.metadataSent = true
      out.push(metadataPart(chunk.id, chunk.model, chunk.created, this.requestId, chunk.system_fingerprint))
    }
    if (chunk.usage !== undefined && chunk.usage !== null) this.usage = chunk.usage
    for (const choice of chunk.choices ?? []) {
      if (choice.index !== 0 && choice.index !== undefined) continue
      this.sawChoices = true
      const delta = choice.delta ?? {}
      const reasoning = reasoningOf(delta as ReasoningFields)
      if (reasoning !== undefined) {
        if (!this.reasoningOpen) {
          this.reasoningOpen = true
          out.push({ type: "reasoning-start", id: "reasoning-0" })
        }
        out.push({ type: "reasoning-delta", id: "reasoning-0", delta: reasoning })
      }
      if (typeof delta.content === "string" && delta.content.length > 0) {
        if (this.reasoningOpen) {
          this.reasoningOpen = false
          out.push({ type: "reasoning-end", id: "reasoning-0" })
        }
        if (!this.textOpen) {
          this.textOpen = true
          out.push({ type: "text-start", id: "text-0" })
        }
        out.push({ type: "text-delta", id: "text-0", delta: delta.content })
      }
      if (typeof delta.refusal === "string") this.refusalText += delta.refusal
      for (const [position, call] of (delta.tool_calls ?? []).entries()) {
        // `index` is required by the API; a server that leaves it out sends whole calls, one per entry.
        const index = typeof call.index === "number" ? call.index : this.calls.length + position
        let pending = this.calls[index]
        if (pending === undefined) {
          pending = {
            id: call.id ?? `call_${index}`,
            name: call.function?.name ?? "",
            args: "",
            started: false
          }
          this.calls[index] = pending
        } else {
          if (call.id !== undefined && call.id !== null && call.id !== "") pending.id = call.id
          if (call.function?.name) pending.name += pending.started ? "" : call.function.name
        }
        if (!pending.started && pending.name !== "") {
          pending.started = true
          out.push({ type: "tool-params-start", id: pending.id, name: pending.name })
          if (pending.args !== "")
            out.push({ type: "tool-params-delta", id: pending.id, delta: pending.args })
        }
        const args = call.function?.arguments
        if (typeof args === "string" && args.length > 0) {
          pending.args += args
          if (pending.started) out.push({ type: "tool-params-delta", id: pending.id, delta: args })
        }
      }
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
        this.finishReason = choice.finish_reason
      }
    }
    return out
  }

  end(): Array<Response.StreamPartEncoded> | AiError.AiError {
    if (this.finishReason === undefined) {
      return aiError(
        this.method,
        new AiError.NetworkError({
          reason: "TransportError",
          method: "POST",
          url: "/chat/completions",
          description: this.sawChoices
            ? "The stream ended before its finish reason (cut mid-way)"
            : "The stream ended before any choice"
        })
      )
    }
    if (this.refusalText.length > 0) return refusal(this.method, this.refusalText, this.usage)
    const out: Array<Response.StreamPartEncoded> = []
    if (this.reasoningOpen) out.push({ type: "reasoning-end", id: "reasoning-0" })
    if (this.textOpen) out.push({ type: "text-end", id: "text-0" })
    for (const pending of this.calls) {
      if (pending === undefined) continue
      const params = parseArguments(this.method, pending.name, pending.args, this.usage)
      if (AiError.isAiError(params)) return params
      if (pending.started) out.push({ type: "tool-params-end", id: pending.id })
      out.push({ type: "tool-call", id: pending.id, name: pending.name, params })
    }
    out.push({ type: "finish", reason: finishReasonOf(this.finishReason), usage: usageOf(this.usage) })
    return out
  }
}
