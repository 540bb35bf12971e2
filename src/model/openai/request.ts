/**
 * An `effect/ai` call (`LanguageModel.ProviderOptions`) as a Chat Completions
 * request body: messages of every role with multi-part content, tools and
 * tool choice, structured output as `response_format: json_schema` (strict
 * when the schema fits OpenAI's strict subset), the output limit and the
 * request options. Follows the published API description, not one server's
 * habits, so it works against any compatible server.
 */
import type { Schema } from "effect"
import { AiError, LanguageModel, OpenAiStructuredOutput, type Prompt, Tool } from "effect/ai"
import type {
  ChatCompletionContentPart,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
  ChatCompletionTool,
  ChatCompletionToolChoiceOption
} from "openai/resources/chat/completions"
import type { ModelOptions, RequestOptions } from "./Config.ts"
import { aiError } from "./errors.ts"

/** A codec and JSON Schema for structured output: OpenAI's strict form when the schema allows it. */
export interface OutputSchema {
  readonly codec: Schema.Codec<unknown, unknown>
  readonly jsonSchema: Record<string, unknown>
  readonly strict: boolean
}

// Built once per schema: `LanguageModel` transforms the schema to decode the answer, and
// `bodyOf` needs the same transform for the request, on every structured call.
const outputSchemas = new WeakMap<object, OutputSchema>()

export const outputSchema = (schema: Schema.Top): OutputSchema => {
  const known = outputSchemas.get(schema)
  if (known !== undefined) return known
  let output: OutputSchema
  try {
    const strict = OpenAiStructuredOutput.toCodecOpenAI(schema as Schema.Codec<unknown, unknown>)
    output = { codec: strict.codec as never, jsonSchema: strict.jsonSchema as never, strict: true }
  } catch {
    const plain = LanguageModel.defaultCodecTransformer(schema as Schema.Codec<unknown, unknown>)
    output = { codec: plain.codec as never, jsonSchema: plain.jsonSchema as never, strict: false }
  }
  outputSchemas.set(schema, output)
  return output
}

/** The structured-output transformer: strict when the schema fits OpenAI's subset, else the plain JSON Schema. */
export const codecTransformer: LanguageModel.CodecTransformer = (schema) => {
  const { codec, jsonSchema } = outputSchema(schema as never)
  return { codec: codec as never, jsonSchema: jsonSchema as never }
}

const dataUrl = (mediaType: string, data: string | Uint8Array): string =>
  typeof data === "string"
    ? data.startsWith("data:")
      ? data
      : `data:${mediaType};base64,${data}`
    : `data:${mediaType};base64,${Buffer.from(data).toString("base64")}`

const isUrlText = (data: string) => /^https?:\/\//.test(data)

const fileContent = (part: Prompt.FilePart): ChatCompletionContentPart | AiError.AiError => {
  const data = part.data
  if (part.mediaType.startsWith("image/")) {
    const url =
      data instanceof URL
        ? data.href
        : typeof data === "string" && isUrlText(data)
          ? data
          : dataUrl(part.mediaType, data as string | Uint8Array)
    return { type: "image_url", image_url: { url } }
  }
  if (data instanceof URL) {
    return aiError(
      "generateText",
      new AiError.InvalidUserInputError({
        description: `A ${part.mediaType} file must be sent as data, not a URL (Chat Completions takes only image URLs)`
      })
    )
  }
  if (part.mediaType === "audio/wav" || part.mediaType === "audio/mpeg" || part.mediaType === "audio/mp3") {
    const base64 =
      typeof data === "string" ? data.replace(/^data:[^,]*,/, "") : Buffer.from(data).toString("base64")
    return {
      type: "input_audio",
      input_audio: { data: base64, format: part.mediaType === "audio/wav" ? "wav" : "mp3" }
    }
  }
  return {
    type: "file",
    file: {
      file_data: dataUrl(part.mediaType, data),
      ...(part.fileName === undefined ? {} : { filename: part.fileName })
    }
  }
}

const resultText = (part: Prompt.ToolResultPart): string => {
  if (part.modelOutput !== undefined) {
    const texts = part.modelOutput.flatMap((output) => (output.type === "text" ? [output.text] : []))
    if (texts.length > 0) return texts.join("\n")
  }
  return typeof part.result === "string" ? part.result : (JSON.stringify(part.result) ?? "null")
}

/** The prompt's messages as Chat Completions messages. */
export const messagesOf = (prompt: Prompt.Prompt): Array<ChatCompletionMessageParam> | AiError.AiError => {
  const messages: Array<ChatCompletionMessageParam> = []
  for (const message of prompt.content) {
    switch (message.role) {
      case "system":
        messages.push({ role: "system", content: message.content })
        break
      case "user": {
        const parts: Array<ChatCompletionContentPart> = []
        for (const part of message.content) {
          if (part.type === "text") parts.push({ type: "text", text: part.text })
          else {
            const file = fileContent(part)
            if (AiError.isAiError(file)) return file
            parts.push(file)
          }
        }
        // One text part goes as a plain string: every compatible server reads that.
        const only = parts.length === 1 ? parts[0] : undefined
        messages.push({
          role: "user",
          content: only !== undefined && only.type === "text" ? only.text : parts
        })
        break
      }
      case "assistant": {
        let text = ""
        const toolCalls: Array<ChatCompletionMessageToolCall> = []
        const results: Array<Prompt.ToolResultPart> = []
        for (const part of message.content) {
          if (part.type === "text") text += part.text
          else if (part.type === "tool-call" && !part.providerExecuted) {
            toolCalls.push({
              id: part.id,
              type: "function",
              function: { name: part.name, arguments: JSON.stringify(part.params) ?? "{}" }
            })
          } else if (part.type === "tool-result" && !part.providerExecuted) results.push(part)
        }
        messages.push({
          role: "assistant",
          ...(text.length > 0 || toolCalls.length === 0 ? { content: text } : {}),
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {})
        })
        for (const result of results) {
          messages.push({ role: "tool", tool_call_id: result.id, content: resultText(result) })
        }
        break
      }
      case "tool":
        for (const part of message.content) {
          if (part.type === "tool-result") {
            messages.push({ role: "tool", tool_call_id: part.id, content: resultText(part) })
          }
        }
        break
    }
  }
  return messages
}

const toolsOf = (
  tools: ReadonlyArray<Tool.Any>,
  choice: LanguageModel.ToolChoice<string>
): Array<ChatCompletionTool> | AiError.AiError => {
  const allowed = typeof choice === "object" && "oneOf" in choice ? new Set(choice.oneOf) : undefined
  const out: Array<ChatCompletionTool> = []
  for (const tool of tools) {
    if (Tool.isProviderDefined(tool)) {
      return aiError(
        "generateText",
        new AiError.ToolConfigurationError({
          toolName: tool.name,
          description: "Provider-defined tools are not part of Chat Completions"
        })
      )
    }
    if (allowed !== undefined && !allowed.has(tool.name)) continue
    const description = Tool.getDescription(tool)
    const strict = Tool.getStrictMode(tool)
    out.push({
      type: "function",
      function: {
        name: tool.name,
        ...(description === undefined ? {} : { description }),
        parameters: Tool.getJsonSchema(tool) as Record<string, unknown>,
        ...(strict === undefined ? {} : { strict })
      }
    })
  }
  return out
}

const toolChoiceOf = (choice: LanguageModel.ToolChoice<string>): ChatCompletionToolChoiceOption => {
  if (typeof choice === "string") return choice
  if ("tool" in choice) return { type: "function", function: { name: choice.tool } }
  return choice.mode ?? "auto"
}

/** A name `response_format.json_schema.name` accepts (letters, digits, `_`, `-`, at most 64). */
const schemaName = (name: string): string => name.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64) || "output"

const requestOptions = (options: RequestOptions): Partial<ChatCompletionCreateParamsBase> => {
  const body: Record<string, unknown> = {}
  if (options.temperature !== undefined) body.temperature = options.temperature
  if (options.topP !== undefined) body.top_p = options.topP
  if (options.seed !== undefined) body.seed = options.seed
  if (options.stop !== undefined) body.stop = [...options.stop]
  if (options.presencePenalty !== undefined) body.presence_penalty = options.presencePenalty
  if (options.frequencyPenalty !== undefined) body.frequency_penalty = options.frequencyPenalty
  if (options.reasoningEffort !== undefined) body.reasoning_effort = options.reasoningEffort
  if (options.user !== undefined) body.user = options.user
  if (options.serviceTier !== undefined) body.service_tier = options.serviceTier
  if (options.promptCacheKey !== undefined) body.prompt_cache_key = options.promptCacheKey
  return body as Partial<ChatCompletionCreateParamsBase>
}

/** The request body for one call (without `stream`). */
export const bodyOf = (
  provider: LanguageModel.ProviderOptions,
  model: ModelOptions,
  callOptions: RequestOptions,
  maxOutputTokens: number
): ChatCompletionCreateParamsBase | AiError.AiError => {
  const messages = messagesOf(provider.prompt)
  if (AiError.isAiError(messages)) return messages
  const body: Record<string, unknown> = {
    model: model.model,
    messages,
    ...requestOptions({ ...model.request, ...callOptions }),
    [model.maxTokensField ?? "max_completion_tokens"]: maxOutputTokens
  }
  if (provider.tools.length > 0 && provider.toolChoice !== "none") {
    const tools = toolsOf(provider.tools, provider.toolChoice)
    if (AiError.isAiError(tools)) return tools
    if (tools.length > 0) {
      body.tools = tools
      body.tool_choice = toolChoiceOf(provider.toolChoice)
      const parallel = callOptions.parallelToolCalls ?? model.request?.parallelToolCalls
      if (parallel !== undefined) body.parallel_tool_calls = parallel
    }
  }
  if (provider.responseFormat.type === "json") {
    const output = outputSchema(provider.responseFormat.schema)
    body.response_format = {
      type: "json_schema",
      json_schema: {
        name: schemaName(provider.responseFormat.objectName),
        schema: output.jsonSchema,
        strict: output.strict
      }
    }
  }
  return body as unknown as ChatCompletionCreateParamsBase
}
