/**
 * Renders a run for people: the timeline of its steps (when each started, how
 * long it took, its retries and failures, the tokens it used) and the usage
 * report against the budget's limits (and, when a call's reported usage
 * crossed one, by how much). Plain text, fixed-width, no colours, so it reads
 * the same in a terminal, a log file and a CI transcript. The timeline is
 * built from the trace events alone, the same events a run's spans come from.
 */
import type { UsageReport } from "../budget/Usage.ts"
import type { StepEvent } from "./Trace.ts"
import { grouped } from "../core/Grouped.ts"

interface StepRow {
  readonly step: string
  readonly start: number
  end: number | undefined
  attempts: number
  status: "ok" | "failed" | "interrupted" | "running"
  error: string | undefined
  retries: Array<string>
  inputTokens: number
  outputTokens: number
}

const rowsOf = (events: ReadonlyArray<StepEvent>): Array<StepRow> => {
  const rows = new Map<string, StepRow>()
  const ordered: Array<StepRow> = []
  for (const event of events) {
    let row = rows.get(event.step)
    if (event.type === "start" || row === undefined) {
      row = {
        step: event.step,
        start: event.at,
        end: undefined,
        attempts: 1,
        status: "running",
        error: undefined,
        retries: [],
        inputTokens: 0,
        outputTokens: 0
      }
      rows.set(event.step, row)
      ordered.push(row)
    }
    switch (event.type) {
      case "retry":
        row.retries.push(event.error)
        break
      case "end":
        row.end = event.at
        row.attempts = event.attempts
        row.status = "ok"
        break
      case "failure":
        row.end = event.at
        row.attempts = event.attempts
        row.status = event.interrupted ? "interrupted" : "failed"
        row.error = event.error
        break
      case "usage":
        row.inputTokens += event.inputTokens
        row.outputTokens += event.outputTokens
        break
      default:
        break
    }
  }
  return ordered
}

const ms = (n: number): string => (n < 10 ? n.toFixed(1) : grouped(n)) + " ms"
const int = (n: number): string => grouped(n)
const usd = (n: number): string => "$" + (n === 0 ? "0" : n < 0.01 ? n.toFixed(6) : n.toFixed(4))
const clip = (text: string, max: number): string => (text.length <= max ? text : text.slice(0, max - 1) + "…")

/** The steps as a timeline with bars, durations, attempts and tokens. */
export const timeline = (events: ReadonlyArray<StepEvent>, options?: { readonly width?: number }): string => {
  const rows = rowsOf(events)
  if (rows.length === 0) return "Timeline: no steps ran"
  const width = options?.width ?? 24
  const total = Math.max(1, ...rows.map((r) => r.end ?? r.start))
  const nameWidth = Math.min(28, Math.max(...rows.map((r) => r.step.length)))
  const lines = [`Timeline (${ms(total)})`]
  for (const row of rows) {
    const end = row.end ?? total
    const from = Math.min(width - 1, Math.floor((row.start / total) * width))
    const to = Math.max(from + 1, Math.min(width, Math.ceil((end / total) * width)))
    const bar = " ".repeat(from) + "█".repeat(to - from) + " ".repeat(width - to)
    const notes: Array<string> = []
    if (row.attempts > 1) notes.push(`${row.attempts} attempts`)
    if (row.inputTokens + row.outputTokens > 0)
      notes.push(`${int(row.inputTokens)} in / ${int(row.outputTokens)} out tokens`)
    if (row.status !== "ok")
      notes.push(row.status === "failed" ? `FAILED: ${clip(row.error ?? "", 70)}` : row.status)
    lines.push(
      `  ${row.step.padEnd(nameWidth)} ▕${bar}▏ ${ms(end - row.start).padStart(9)}${notes.length > 0 ? "  " + notes.join(", ") : ""}`
    )
    for (const [i, error] of row.retries.entries())
      lines.push(`  ${" ".repeat(nameWidth)}   retry ${i + 1} after: ${clip(error, 80)}`)
  }
  return lines.join("\n")
}

const callNotes = (report: UsageReport): string => {
  const notes: Array<string> = []
  if (report.failedCalls > 0) notes.push(`${report.failedCalls} failed`)
  if (report.invalidAnswers > 0)
    notes.push(
      `${report.invalidAnswers} ${report.invalidAnswers === 1 ? "answer" : "answers"} did not decode`
    )
  return notes.length === 0 ? "" : ` (${notes.join(", ")})`
}

/** The usage report: totals against the limits, cost per model, and what stopped the run if a limit did. */
export const usage = (report: UsageReport): string => {
  const limit = (value: number | undefined, format: (n: number) => string) =>
    value === undefined ? "" : `  (limit ${format(value)})`
  const lines = [
    "Usage",
    `  model calls    ${int(report.modelCalls).padStart(10)}${callNotes(report)}${limit(report.limits.modelCalls, int)}`,
    `  input tokens   ${int(report.inputTokens).padStart(10)}${limit(report.limits.inputTokens, int)}`,
    `  output tokens  ${int(report.outputTokens).padStart(10)}${limit(report.limits.outputTokens, int)}`,
    `  tool calls     ${int(report.toolCalls).padStart(10)}${limit(report.limits.toolCalls, int)}`,
    `  cost           ${usd(report.costUsd).padStart(10)}${limit(report.limits.costUsd, usd)}`,
    `  time           ${ms(report.elapsedMs).padStart(10)}${limit(report.limits.wallTime, ms)}`
  ]
  const models = Object.entries(report.byModel)
  if (models.length > 0) {
    lines.push(
      "  by model       " +
        models
          .map(
            ([m, t]) =>
              `${m}: ${t.modelCalls} ${t.modelCalls === 1 ? "call" : "calls"}, ${int(t.inputTokens + t.outputTokens)} tokens, ${usd(t.costUsd)}`
          )
          .join("; ")
    )
  }
  if (report.exceeded !== undefined) lines.push(`  exceeded       ${report.exceeded.message}`)
  if (report.refused !== undefined) lines.push(`  refused        ${report.refused.message}`)
  return lines.join("\n")
}
