/**
 * The Vercel AI SDK peer: the same six steps as async functions, the model
 * call a `generateText` through the SDK's own test double
 * (`MockLanguageModelV3` from `ai/test`) answering at once with the same
 * reply and usage.
 */
import { generateText } from "ai"
import { MockLanguageModelV3 } from "ai/test"
import { assemble, checkGrounded, interpret, reply, retrieve, store } from "./operations.ts"

const model = new MockLanguageModelV3({
  doGenerate: async () => ({
    content: [{ type: "text", text: reply.text }],
    finishReason: { unified: "stop", raw: "stop" },
    usage: {
      inputTokens: {
        total: reply.usage.inputTokens,
        noCache: undefined,
        cacheRead: undefined,
        cacheWrite: undefined
      },
      outputTokens: { total: reply.usage.outputTokens, text: undefined, reasoning: undefined }
    },
    warnings: []
  })
})

/** The mock keeps every call's options; a round clears them, as `record: false` does for Scripted. */
export const forgetCalls = (): void => {
  model.doGenerateCalls.length = 0
}

const interpretStep = async (q: string) => interpret(q)
const retrieveStep = async (q: string) => retrieve(q)
const assembleStep = async (q: string, ps: ReadonlyArray<string>) => assemble(q, ps)
const modelStep = async (prompt: string) => (await generateText({ model, prompt })).text
const validateStep = async (text: string) => checkGrounded(text)
const storeStep = async (text: string) => store(text)

/** One run of the pipeline. */
export const pipeline = async (question: string): Promise<string> => {
  const q = await interpretStep(question)
  const ps = await retrieveStep(q)
  const prompt = await assembleStep(q, ps)
  const text = await modelStep(prompt)
  await validateStep(text)
  await storeStep(text)
  return text
}
