/** Workflows: steps with policies, typed workflows, run traces and their reports. */
export * as Handler from "./Handler.ts"
export * as Report from "./Report.ts"
export * as Step from "./Step.ts"
export * as Trace from "./Trace.ts"
export * as Workflow from "./Workflow.ts"
export {
  InvalidInput,
  InvalidOutput,
  StepTimeout,
  WorkflowError,
  WorkflowErrorReason
} from "./WorkflowError.ts"
