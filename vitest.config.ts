import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    // The examples switch to the OpenAI provider when these are set: tests run offline whatever the shell holds.
    env: { OPENAI_API_KEY: "", OPENAI_BASE_URL: "", WEFT_MODEL: "" }
  }
})
