/** The agent area: the agent loop, its tool caller, events and errors. */
export * as Agent from "./Agent.ts"
export { AgentError } from "./AgentError.ts"
export * as AgentEvents from "./Events.ts"
export * as ToolCaller from "./ToolCaller.ts"
