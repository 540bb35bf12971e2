import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // A throwaway PostgreSQL on a loopback port for the store suites (skipped, and said so, when not installed).
    globalSetup: ["test/support/postgres-setup.ts"],
    testTimeout: 30_000,
    // The examples switch to the OpenAI provider when these are set: tests run offline whatever the shell holds.
    env: { OPENAI_API_KEY: "", OPENAI_BASE_URL: "", WEFT_MODEL: "", DATABASE_URL: "", WEFT_DATA_DIR: "" }
  }
})
