/** Validation: checks on model output and the repair loop. */
export * as Validator from "./Validator.ts"
export { ValidationError } from "./Validator.ts"
