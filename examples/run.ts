/**
 * One entry point for the examples: `npm run example -- <name> [args]`.
 *
 *   npm run example -- rag "How does the repair loop work?"
 *   npm run example -- extract --no-draft
 *   npm run example -- fanout --concurrency 5
 *   npm run example -- agent-tools "Convert 5 km to miles and calculate 2^10"
 *   echo y | npm run example -- approval
 *   npm run example -- handoff "Convert 72 °F to celsius"
 *   npm run example -- --help
 */
import { Command } from "effect/cli"
import { command as agentTools } from "./agent-tools.ts"
import { command as approval } from "./approval.ts"
import { runCommand } from "./cli.ts"
import { command as extract } from "./extract.ts"
import { command as fanout } from "./fanout.ts"
import { command as handoff } from "./handoff.ts"
import { command as http } from "./http.ts"
import { command as rag } from "./rag.ts"

export const command = Command.make("example").pipe(
  Command.withDescription(
    "Run one of Weft's examples (offline on the Local model; on OpenAI when OPENAI_API_KEY or OPENAI_BASE_URL is set)"
  ),
  Command.withSubcommands([rag, extract, fanout, http, agentTools, approval, handoff])
)

if (import.meta.main) runCommand(command)
