/**
 * The model area: `effect/ai` LanguageModel providers (the offline Local
 * model and the Scripted test double; the OpenAI provider is its own entry,
 * `weft-ai/openai`, so the core never loads its SDK), fallback chains,
 * record/replay journals, the settings every provider sets, token counting,
 * and the passage/citation text convention.
 */
export * as Fallback from "./Fallback.ts"
export * as Journal from "./Journal.ts"
export * as Local from "./Local.ts"
export * as PassageFormat from "./PassageFormat.ts"
export * as Scripted from "./Scripted.ts"
export * as Tokens from "../text/Tokens.ts"
