/**
 * The Local model's tool use: decide, from the prompt and the tools a call
 * offers, whether to call tools (and with which parameters), to answer from
 * the tool results the prompt already holds, or to leave the request to the
 * ordinary extractive answer.
 *
 * A request is matched against each tool's name, description and parameter
 * names with BM25-style term weights: each of the request's content terms
 * (the Local model's analyzer: stop words dropped, stemmed, irregular verbs
 * resolved) counts by how few of the offered tools hold it, by the field it
 * is found in (name over description over parameters), and by how it matches
 * (the term itself over its word family over an everyday synonym); general
 * English's light words count less. Enum values the request names
 * ("km", "celsius") and arithmetic operators it writes between numbers count
 * as evidence for the tools whose schema or description holds them. A tool
 * whose score reaches `CLEAR_MATCH` is a candidate; the best candidate whose
 * required parameters can all be filled from the request is called. A request
 * of several clauses ("convert 5 km to miles and calculate 2^10") is matched
 * clause by clause, and gets one call per clause that makes one (parallel
 * calls). Tool results after the latest user message are answered from,
 * quoted and attributed to their tool, never called again. Everything is a
 * pure function of the prompt and the tools.
 */
import { Predicate, Schema } from "effect"
import { type LanguageModel, type Prompt, Tool } from "effect/ai"
import { type ParsedPassage, parsePassages, UNANSWERED, withoutPassages } from "../PassageFormat.ts"
import { messageText } from "../../text/Tokens.ts"
import { answer, NO_PASSAGES, readRequest } from "./extractive.ts"
import { escapeRegExp, isNode, type Node, resolve } from "./jsonSchema.ts"
import type { ReplyToolCall } from "./parts.ts"
import { isFamily, isLightTerm, sentences, synonymsOf, terms, words } from "./text.ts"

/** What the Local model does about tools for one call. */
export type ToolStep =
  /** Call these tools (one or more, run in parallel by the caller). */
  | { readonly _tag: "Call"; readonly calls: ReadonlyArray<ReplyToolCall> }
  /** Answer with this text, made from the tool results in the prompt. */
  | { readonly _tag: "Answer"; readonly text: string }
  /** The tool choice demands a call that the request cannot fill: why. */
  | { readonly _tag: "Refuse"; readonly description: string }

/** The score a tool needs to be taken as clearly meant by a request (one exact description word). */
export const CLEAR_MATCH = 1

const FIELD_WEIGHT = { name: 3, description: 1, parameters: 0.5 } as const
const MATCH_WEIGHT = { exact: 1, family: 0.8, synonym: 0.6 } as const
const LIGHT_WEIGHT = 0.3
/** What one enum value the request names ("km") adds to its tool's score. */
const ENUM_MENTION_WEIGHT = 0.5

// ---- the request ---------------------------------------------------------------------

const QUESTION_LABEL = /(?:^|\n)[ \t]*(?:\*\*)?question(?:\*\*)?[ \t]*:[ \t]*/gi

/** The index of the latest user message, or -1. */
const latestUser = (prompt: Prompt.Prompt): number => {
  for (let i = prompt.content.length - 1; i >= 0; i--) if (prompt.content[i]!.role === "user") return i
  return -1
}

/** The request a user message makes: its `Question:` when labelled, else its text without passages. */
const requestText = (message: Prompt.Message): string => {
  const text = withoutPassages(messageText(message))
  let last: RegExpExecArray | undefined
  for (const match of text.matchAll(QUESTION_LABEL)) last = match
  if (last === undefined) return text.trim()
  const rest = text.slice(last.index + last[0].length)
  const end = rest.search(/\n\s*\n/)
  return (end >= 0 ? rest.slice(0, end) : rest).trim()
}

interface Span {
  readonly start: number
  readonly end: number
}

// Where a request's clauses part: a sentence end, a semicolon, or "and"/"then"/"also" joining them.
const CLAUSE_BREAK = /[.?!;]+(?=\s|$)|,?\s+(?:and\s+then|and\s+also|and|then|also)\s+|,\s+(?=[a-z])/gi

/** The request cut into clauses, as spans of it (empty ones dropped). */
const clauses = (text: string): Array<Span> => {
  const out: Array<Span> = []
  let start = 0
  const push = (end: number) => {
    if (text.slice(start, end).trim().length > 0) out.push({ start, end })
  }
  for (const match of text.matchAll(CLAUSE_BREAK)) {
    push(match.index)
    start = match.index + match[0].length
  }
  push(text.length)
  return out
}

// ---- the tools -----------------------------------------------------------------------

/** A name as words: `convert_units` / `convertUnits` → "convert units". */
const nameWords = (name: string): string =>
  name
    .replace(/([\p{Ll}\d])(\p{Lu})/gu, "$1 $2")
    .replace(/[_\-.\s]+/g, " ")
    .trim()
    .toLowerCase()

// An operator written between operands: "12 * (3 + 4)", "2^10".
const BINARY_OPERATOR = /(?<=[\d)]\s*)[+\-*/^×÷%](?=\s*[\d(.])/g
// An operator standing alone in a description: "operators + - * / ^".
const LISTED_OPERATOR = /(?<=^|[\s(,])[+\-*/^×÷%](?=$|[\s),.;:])/g

interface Parameter {
  readonly name: string
  readonly node: Node
  readonly required: boolean
  readonly labels: ReadonlyArray<string>
  /** The values an enum parameter admits (`undefined` for others), and its text values. */
  readonly enumValues: ReadonlyArray<unknown> | undefined
  readonly enumStrings: ReadonlyArray<string>
}

interface ToolProfile {
  readonly tool: Tool.Any
  readonly fields: {
    readonly name: ReadonlySet<string>
    readonly description: ReadonlySet<string>
    /** The description's lead phrase, up to its first comma, colon or bracket: what the tool is. */
    readonly lead: ReadonlySet<string>
    readonly parameters: ReadonlySet<string>
  }
  readonly operators: ReadonlySet<string>
  readonly enumValues: ReadonlyArray<string>
  readonly parameters: ReadonlyArray<Parameter>
  readonly definitions: Node
}

const profiles = new WeakMap<Tool.Any, ToolProfile | null>()

/**
 * What the matcher knows of a tool; `undefined` for a tool it cannot call (a
 * provider-defined one, or one whose parameters have no JSON Schema).
 */
const profileOf = (tool: Tool.Any): ToolProfile | undefined => {
  const cached = profiles.get(tool)
  if (cached !== undefined) return cached ?? undefined
  let profile: ToolProfile | undefined
  const root = Tool.isProviderDefined(tool) ? undefined : jsonSchemaOf(tool)
  if (root !== undefined) {
    const description = Tool.getDescription(tool) ?? ""
    const definitions = isNode(root.$defs) ? root.$defs : isNode(root.definitions) ? root.definitions : {}
    const object = resolve(root, definitions)
    const properties = isNode(object.properties) ? object.properties : {}
    const required = new Set(Array.isArray(object.required) ? object.required.map(String) : [])
    const parameters: Array<Parameter> = []
    const parameterTerms = new Set<string>()
    const enumValues: Array<string> = []
    for (const [name, raw] of Object.entries(properties)) {
      if (!isNode(raw)) continue
      const node = principal(resolve(raw, definitions), definitions)
      const words = nameWords(name)
      const labels = [words, ...(PREPOSITION_LABELS.get(words) ?? [])]
      const values = enumOf(node, definitions)
      parameters.push({
        name,
        node,
        required: required.has(name),
        labels,
        enumValues: values,
        enumStrings: values?.filter(Predicate.isString) ?? []
      })
      for (const term of terms(words)) parameterTerms.add(term)
      if (typeof node.description === "string")
        for (const term of terms(node.description)) parameterTerms.add(term)
      for (const value of enumOf(node, definitions) ?? [])
        if (typeof value === "string") enumValues.push(value)
    }
    profile = {
      tool,
      fields: {
        name: new Set(terms(nameWords(tool.name))),
        description: new Set(terms(description)),
        lead: new Set(terms(description.split(/[,:;([—]|\.(?:\s|$)/)[0] ?? "")),
        parameters: parameterTerms
      },
      operators: new Set(description.match(LISTED_OPERATOR) ?? []),
      enumValues: [...new Set(enumValues)],
      parameters,
      definitions
    }
  }
  profiles.set(tool, profile ?? null)
  return profile
}

/** A tool's parameters as JSON Schema; `undefined` when its Schema cannot be written as one. */
const jsonSchemaOf = (tool: Tool.Any): Node | undefined => {
  try {
    const jsonSchema: unknown = Tool.getJsonSchema(tool)
    return isNode(jsonSchema) ? jsonSchema : undefined
  } catch {
    return undefined
  }
}

// A parameter named by a preposition is labelled by its near synonyms too: "to miles", "into miles", "in miles".
const PREPOSITION_LABELS = new Map<string, ReadonlyArray<string>>([
  ["to", ["into", "in", "as"]],
  ["from", ["of"]],
  ["target", ["to", "into", "in", "as"]],
  ["source", ["from"]]
])

/**
 * The alternative of a union that says what a parameter is: without `null`
 * (an optional value), and the number of a number-or-"NaN"/"Infinity" union
 * (how Schema encodes a plain `Number`). A union of enums stays as it is.
 */
const principal = (node: Node, definitions: Node): Node => {
  const alternatives = Array.isArray(node.anyOf)
    ? node.anyOf
    : Array.isArray(node.oneOf)
      ? node.oneOf
      : undefined
  if (alternatives === undefined) return node
  const real = alternatives
    .filter(isNode)
    .map((alternative) => resolve(alternative, definitions))
    .filter((alternative) => alternative.type !== "null")
  const numeric = real.find((a) => a.type === "number" || a.type === "integer")
  const chosen = numeric ?? (real.length === 1 ? real[0] : undefined)
  if (chosen === undefined) return { ...node, anyOf: real, oneOf: undefined }
  return typeof node.description === "string" ? { ...chosen, description: node.description } : chosen
}

/** The values an enum-like node admits (`enum`, `const`, or a union of them), else `undefined`. */
const enumOf = (node: Node, definitions: Node): ReadonlyArray<unknown> | undefined => {
  if (Array.isArray(node.enum)) return node.enum
  if ("const" in node) return [node.const]
  const alternatives = Array.isArray(node.anyOf)
    ? node.anyOf
    : Array.isArray(node.oneOf)
      ? node.oneOf
      : undefined
  if (alternatives === undefined) return undefined
  const values: Array<unknown> = []
  for (const alternative of alternatives) {
    if (!isNode(alternative)) return undefined
    if (alternative.type === "null") continue
    const inner = enumOf(resolve(alternative, definitions), definitions)
    if (inner === undefined) return undefined
    values.push(...inner)
  }
  return values
}

const typeOf = (node: Node): string | undefined => {
  if (typeof node.type === "string") return node.type
  if (Array.isArray(node.type))
    return node.type.find((t): t is string => typeof t === "string" && t !== "null")
  return undefined
}

// ---- scoring -------------------------------------------------------------------------

/** How a request term meets a set of tool terms: 1 itself, less for its family or a synonym, 0 not at all. */
const matchStrength = (term: string, field: ReadonlySet<string>): number => {
  if (field.has(term)) return MATCH_WEIGHT.exact
  let best = 0
  for (const other of field) {
    if (best < MATCH_WEIGHT.family && isFamily(term, other)) best = MATCH_WEIGHT.family
  }
  if (best > 0) return best
  for (const synonym of synonymsOf(term)) if (field.has(synonym)) return MATCH_WEIGHT.synonym
  return 0
}

const fieldStrength = (term: string, profile: ToolProfile): number =>
  Math.max(
    FIELD_WEIGHT.name * matchStrength(term, profile.fields.name),
    FIELD_WEIGHT.description * matchStrength(term, profile.fields.description),
    FIELD_WEIGHT.parameters * matchStrength(term, profile.fields.parameters)
  )

interface Mention {
  readonly value: string
  readonly start: number
  readonly end: number
}

/**
 * Where a text names the given values, as whole words (a number may touch one:
 * "5km"); a longer value wins where two overlap ("fl oz" over "oz"), and each
 * place is named once.
 */
const mentionsOf = (values: ReadonlyArray<string>, text: string): Array<Mention> => {
  const { pattern, byLowerCase } = mentionPattern(values)
  const found: Array<Mention> = []
  if (pattern === undefined) return found
  pattern.lastIndex = 0
  for (const match of text.matchAll(pattern)) {
    const value = byLowerCase.get(match[0].toLowerCase())
    if (value !== undefined) found.push({ value, start: match.index, end: match.index + match[0].length })
  }
  return found
}

interface MentionPattern {
  /** One alternation of the values, longest first, so a longer value wins where two start together. */
  readonly pattern: RegExp | undefined
  readonly byLowerCase: ReadonlyMap<string, string>
}

/** Patterns by value list (the lists a tool profile holds): each is compiled once. */
const mentionPatterns = new WeakMap<ReadonlyArray<string>, MentionPattern>()

const mentionPattern = (values: ReadonlyArray<string>): MentionPattern => {
  let cached = mentionPatterns.get(values)
  if (cached !== undefined) return cached
  const byLowerCase = new Map<string, string>()
  for (const value of values)
    if (value.length > 0 && !byLowerCase.has(value.toLowerCase())) byLowerCase.set(value.toLowerCase(), value)
  const alternatives = [...byLowerCase.values()].sort((a, b) => b.length - a.length).map(escapeRegExp)
  cached = {
    pattern:
      alternatives.length === 0
        ? undefined
        : new RegExp(`(?<![\\p{L}'’])(?:${alternatives.join("|")})(?![\\p{L}\\d])`, "giu"),
    byLowerCase
  }
  mentionPatterns.set(values, cached)
  return cached
}

interface Scored {
  readonly profile: ToolProfile
  readonly score: number
}

/**
 * Each tool's score for a clause: BM25-style, a term weighing
 * `ln(1 + N/n) / ln(1 + N)` for `n` of the `N` tools holding it (1 when only
 * one does), times how well and where it matches.
 */
const scoreTools = (clause: string, profiles: ReadonlyArray<ToolProfile>): Array<Scored> => {
  const count = profiles.length
  const requestTerms = [...new Set(terms(clause))].filter((term) => !/^\d/.test(term))
  const operators = new Set(clause.match(BINARY_OPERATOR) ?? [])
  const strengths = profiles.map((profile) => requestTerms.map((term) => fieldStrength(term, profile)))
  const idf = (holders: number) => (holders === 0 ? 0 : Math.log(1 + count / holders) / Math.log(1 + count))
  const termIdf = requestTerms.map((_, i) => idf(strengths.filter((s) => s[i]! > 0).length))
  const operatorIdf = new Map(
    [...operators].map((op) => [op, idf(profiles.filter((p) => p.operators.has(op)).length)] as const)
  )
  const mentioned = profiles.map(
    (profile) => new Set(mentionsOf(profile.enumValues, clause).map((m) => m.value))
  )
  const enumIdf = (value: string) => idf(mentioned.filter((set) => set.has(value)).length)
  return profiles.map((profile, p) => {
    let score = 0
    requestTerms.forEach((term, i) => {
      score += termIdf[i]! * strengths[p]![i]! * (isLightTerm(term) ? LIGHT_WEIGHT : 1)
    })
    for (const op of operators)
      if (profile.operators.has(op)) score += operatorIdf.get(op)! * FIELD_WEIGHT.description
    for (const value of mentioned[p]!) score += enumIdf(value) * ENUM_MENTION_WEIGHT
    return { profile, score }
  })
}

// ---- filling parameters --------------------------------------------------------------

const NUMBER =
  /(?<![\p{L}\d.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\p{L}\d.])-?\d+(?:\.\d+)?|(?<![\p{L}\d])-?\.\d+/gu
const QUOTED = /"([^"\n]+)"|“([^”\n]+)”|'([^'\n]+)'(?![\p{L}])|`([^`\n]+)`/gu

const TRUE_WORDS = new Set(["yes", "true", "on", "enabled", "with"])
const FALSE_WORDS = new Set(["no", "false", "off", "disabled", "without"])

/** Whether `value` meets the string constraints of a JSON Schema node (pattern, lengths). */
const meetsString = (node: Node, value: string): boolean => {
  if (typeof node.minLength === "number" && value.length < node.minLength) return false
  if (typeof node.maxLength === "number" && value.length > node.maxLength) return false
  if (typeof node.pattern === "string") {
    const pattern = compiledPattern(node.pattern)
    if (pattern === undefined || !pattern.test(value)) return false
  }
  return true
}

const compiledPatterns = new Map<string, RegExp | undefined>()
const MAX_PATTERNS = 512

/** A JSON Schema `pattern` as a RegExp (compiled once); `undefined` when it does not compile. */
const compiledPattern = (source: string): RegExp | undefined => {
  if (compiledPatterns.has(source)) return compiledPatterns.get(source)
  let pattern: RegExp | undefined
  try {
    pattern = new RegExp(source, "u")
  } catch {
    pattern = undefined
  }
  if (compiledPatterns.size >= MAX_PATTERNS) compiledPatterns.clear()
  compiledPatterns.set(source, pattern)
  return pattern
}

const meetsNumber = (node: Node, value: number, integer: boolean): boolean =>
  Number.isFinite(value) &&
  (!integer || Number.isInteger(value)) &&
  (typeof node.minimum !== "number" || value >= node.minimum) &&
  (typeof node.maximum !== "number" || value <= node.maximum) &&
  (typeof node.exclusiveMinimum !== "number" || value > node.exclusiveMinimum) &&
  (typeof node.exclusiveMaximum !== "number" || value < node.exclusiveMaximum)

/** The label words right before a position (up to two words, skipping "the", "a"). */
const wordsBefore = (text: string, at: number): Array<string> =>
  words(text.slice(Math.max(0, at - 40), at))
    .filter((word) => word !== "the" && word !== "a" && word !== "an")
    .slice(-2)

const labelledAt = (labels: ReadonlyArray<string>, text: string, at: number): boolean => {
  const before = wordsBefore(text, at).join(" ")
  return labels.some((label) => before === label || before.endsWith(` ${label}`))
}

// "how many miles", "how much water": what such a phrase names is what the answer is given in.
const ASKED_FOR = /\bhow\s+(?:many|much)\s+$/i

/**
 * Fills a tool's parameters from a clause: enum values by the values it names
 * (a parameter's own label — its name, or for `to`/`from` a preposition —
 * right before a value claims it; the rest go in order, what a "how many …"
 * names last), numbers by label or in order, booleans by label, strings from
 * a "label: value", a quoted text, a word the parameter's pattern accepts, or
 * — for the one string left — the clause without its request words and the
 * values other parameters took. Every value is checked against the Schema's
 * constraints. Returns the parameters, or the names of the required ones it
 * could not fill.
 */
const fillParameters = (
  profile: ToolProfile,
  clause: string
): { readonly params: Record<string, unknown>; readonly missing: ReadonlyArray<string> } => {
  const params: Record<string, unknown> = {}
  const enums = profile.parameters.filter((p) => p.enumValues !== undefined)
  const numbers = profile.parameters.filter((p) => {
    const type = typeOf(p.node)
    return p.enumValues === undefined && (type === "number" || type === "integer")
  })
  const booleans = profile.parameters.filter((p) => typeOf(p.node) === "boolean")
  const strings = profile.parameters.filter((p) => p.enumValues === undefined && typeOf(p.node) === "string")

  // Enum values.
  const used = new Set<number>() // where the mentions taken start
  // What other parameters took, with their labels: left out of the free text.
  const consumed: Array<Span & { readonly labels?: ReadonlyArray<string> }> = []
  const pending: Array<Parameter> = []
  for (const parameter of enums) {
    const values = parameter.enumValues!
    if (values.length === 1) {
      params[parameter.name] = values[0]
      continue
    }
    const own = mentionsOf(parameter.enumStrings, clause).find(
      (m) => !used.has(m.start) && labelledAt(parameter.labels, clause, m.start)
    )
    if (own === undefined) pending.push(parameter)
    else {
      used.add(own.start)
      consumed.push(own)
      params[parameter.name] = own.value
    }
  }
  for (const parameter of pending) {
    const free = mentionsOf(parameter.enumStrings, clause).filter((m) => !used.has(m.start))
    // What "how many …" names is the answer's own: it fills the last parameter left.
    const ordered = [
      ...free.filter((m) => !ASKED_FOR.test(clause.slice(0, m.start))),
      ...free.filter((m) => ASKED_FOR.test(clause.slice(0, m.start)))
    ]
    const isLast = parameter === pending[pending.length - 1]
    const pick = isLast ? ordered[0] : ordered.find((m) => !ASKED_FOR.test(clause.slice(0, m.start)))
    if (pick === undefined) continue
    used.add(pick.start)
    consumed.push(pick)
    params[parameter.name] = pick.value
  }

  // Numbers: labelled first ("limit 3", "3 results" for `results`), then the rest in order.
  const numberMentions = [...clause.matchAll(NUMBER)].map((m) => ({
    value: Number(m[0].replace(/,/g, "")),
    start: m.index,
    end: m.index + m[0].length
  }))
  const takenNumbers = new Set<number>()
  const unlabelled: Array<Parameter> = []
  for (const parameter of numbers) {
    const integer = typeOf(parameter.node) === "integer"
    const index = numberMentions.findIndex(
      (m, i) =>
        !takenNumbers.has(i) &&
        meetsNumber(parameter.node, m.value, integer) &&
        (labelledAt(parameter.labels, clause, m.start) ||
          parameter.labels.some((label) =>
            new RegExp(`^\\s*${escapeRegExp(label)}\\b`, "i").test(clause.slice(m.end))
          ))
    )
    if (index < 0) unlabelled.push(parameter)
    else {
      takenNumbers.add(index)
      consumed.push(numberMentions[index]!)
      params[parameter.name] = numberMentions[index]!.value
    }
  }
  for (const parameter of unlabelled) {
    if (!parameter.required) continue
    const integer = typeOf(parameter.node) === "integer"
    const index = numberMentions.findIndex(
      (m, i) => !takenNumbers.has(i) && meetsNumber(parameter.node, m.value, integer)
    )
    if (index < 0) continue
    takenNumbers.add(index)
    consumed.push(numberMentions[index]!)
    params[parameter.name] = numberMentions[index]!.value
  }

  // Booleans: only when the clause says so by the parameter's label.
  for (const parameter of booleans) {
    for (const label of parameter.labels) {
      const match = new RegExp(`\\b${escapeRegExp(label)}\\b[\\s:=]*([a-z]+)`, "i").exec(clause)
      const word = match?.[1]?.toLowerCase()
      if (word !== undefined && TRUE_WORDS.has(word)) params[parameter.name] = true
      else if (word !== undefined && FALSE_WORDS.has(word)) params[parameter.name] = false
      if (parameter.name in params) break
    }
  }

  // Strings: "label: value" and quoted texts in order; then a word a parameter's pattern accepts
  // ("bob@example.com") and the free text of the clause (below).
  const quoted = [...clause.matchAll(QUOTED)].map((m) => ({
    value: (m[1] ?? m[2] ?? m[3] ?? m[4] ?? "").trim(),
    start: m.index,
    end: m.index + m[0].length
  }))
  const tokens = [...clause.matchAll(/\S+/g)].map((m) => {
    const value = m[0].replace(/^["'“‘`(]+|["'”’`),.;:!?]+$/g, "")
    const start = m.index + m[0].indexOf(value)
    return { value, start, end: start + value.length }
  })
  const taken = (span: Span) => consumed.some((c) => span.start < c.end && c.start < span.end)
  let nextQuoted = 0
  let unfilled: Array<Parameter> = []
  for (const parameter of strings) {
    const labelled = labelledValue(parameter.labels, clause)
    if (labelled !== undefined && !taken(labelled) && meetsString(parameter.node, labelled.value)) {
      consumed.push(labelled)
      params[parameter.name] = labelled.value
      continue
    }
    const candidate = quoted[nextQuoted]
    if (candidate !== undefined && !taken(candidate) && meetsString(parameter.node, candidate.value)) {
      nextQuoted++
      consumed.push({ ...candidate, labels: parameter.labels })
      params[parameter.name] = candidate.value
      continue
    }
    unfilled.push(parameter)
  }
  const byWord = (parameter: Parameter): boolean => {
    if (typeof parameter.node.pattern !== "string") return false
    const word = tokens.find((t) => t.value.length > 0 && !taken(t) && meetsString(parameter.node, t.value))
    if (word === undefined) return false
    consumed.push({ ...word, labels: parameter.labels })
    params[parameter.name] = word.value
    return true
  }
  const byFreeText = (parameter: Parameter): boolean => {
    const text = freeText(clause, consumed, profile)
    if (text === undefined || !meetsString(parameter.node, text)) return false
    params[parameter.name] = text
    return true
  }
  // The one string left takes the free text (or, failing its pattern, a word of it); of several,
  // the patterned take a word each, and then the one left, if one is, the free text.
  if (unfilled.length === 1) {
    const parameter = unfilled[0]!
    if (!byFreeText(parameter)) byWord(parameter)
  } else if (unfilled.length > 1) {
    unfilled = unfilled.filter((parameter) => !byWord(parameter))
    if (unfilled.length === 1) byFreeText(unfilled[0]!)
  }

  const missing = profile.parameters.filter((p) => p.required && !(p.name in params)).map((p) => p.name)
  // In the order the tool declares them, as a person reads the call.
  const ordered: Record<string, unknown> = {}
  for (const parameter of profile.parameters)
    if (parameter.name in params) ordered[parameter.name] = params[parameter.name]
  return { params: ordered, missing }
}

/**
 * "Label: value" (or "label = value") in a clause: the value, up to the next
 * comma or the clause end, and the span from the label to the value's end.
 */
const labelledValue = (
  labels: ReadonlyArray<string>,
  clause: string
): (Span & { readonly value: string }) | undefined => {
  for (const label of labels) {
    if (label.length < 2) continue
    const match = new RegExp(`\\b${escapeRegExp(label)}\\s*[:=]\\s*([^,;\\n]+)`, "i").exec(clause)
    const value = match?.[1]
      ?.trim()
      .replace(/[.?!]+$/, "")
      .replace(/^["'“`]|["'”`]$/g, "")
    if (match !== null && value !== undefined && value.length > 0)
      return { value, start: match.index, end: match.index + match[0].length }
  }
  return undefined
}

// Words after which a request names its topic: "search the docs for …", "what do they say about …".
const TOPIC_WORDS = new Set(["for", "about", "on", "regarding", "concerning"])

const QUESTION_WORDS = new Set(["who", "whom", "whose", "what", "when", "where", "why", "how", "which"])

// Courtesy words that wrap a request ("please", "can you") and say nothing of it.
const COURTESY = new Set(["please", "kindly", "thanks", "thank", "hey", "hi", "hello", "quickly", "just"])

/**
 * A clause without the words that ask for the tool: from the front, stop words,
 * courtesy words and words of the tool's name or of its description's lead
 * phrase ("Search Weft's documentation…": "search the docs for"), the lead's
 * only until a word introduces the topic ("for", "about": "…for handoffs"
 * keeps "handoffs"), and none when nothing else is left ("What is Weft?"); from the back, stop words and the tool's name words ("in the
 * docs"); end punctuation dropped. The values other parameters took (and a
 * short word leading into each: "in celsius") are left out. `undefined` when
 * nothing is left.
 */
const freeText = (
  clause: string,
  consumed: ReadonlyArray<Span & { readonly labels?: ReadonlyArray<string> }>,
  profile: ToolProfile
): string | undefined => {
  let text = clause
  for (const span of consumed) {
    let start = span.start
    // The parameter's own label right before its value ("subject" in `subject "Lunch"`).
    const label = /(?:^|\s)([\p{L}]+)\s*[:=]?\s*$/u.exec(text.slice(0, start))
    if (label !== null && span.labels?.some((l) => l === label[1]!.toLowerCase()) === true)
      start = label.index
    // A short word leading into it ("in celsius", "to bob@example.com").
    const lead = /(?:^|\s)[\p{L}]{1,4}\s+$/u.exec(text.slice(0, start))
    if (lead !== null && terms(lead[0]).length === 0) start = lead.index
    text = text.slice(0, start) + " ".repeat(span.end - start) + text.slice(span.end)
  }
  const tokens = [...text.matchAll(/\S+/g)].map((m) => ({
    text: m[0],
    start: m.index,
    end: m.index + m[0].length
  }))
  // Once a word introduces the topic ("for", "about"), the description's words are the topic's own.
  let topic = false
  let leadWords = true
  const isAsking = (token: string, front: boolean): boolean => {
    const plain = token.toLowerCase().replace(/^[^\p{L}\d]+|[^\p{L}\d]+$/gu, "")
    if (plain.length === 0) return /^[,:;!?.]+$/.test(token)
    if (!/^[\p{L}'’]+$/u.test(plain)) return false
    if (COURTESY.has(plain)) return true
    if (front && TOPIC_WORDS.has(plain)) {
      topic = true
      return true
    }
    const found = terms(plain)
    if (found.length === 0) return true
    return found.every(
      (term) =>
        matchStrength(term, profile.fields.name) > 0 ||
        (front && !topic && leadWords && matchStrength(term, profile.fields.lead) > 0)
    )
  }
  let first = 0
  let last = tokens.length - 1
  while (first <= last && isAsking(tokens[first]!.text, true)) first++
  if (first > last) {
    // The request is all words of the tool ("What is Weft?" to a Weft docs search): its topic is
    // the words of the description it names.
    first = 0
    topic = false
    leadWords = false
    while (first <= last && isAsking(tokens[first]!.text, true)) first++
  }
  while (last >= first && isAsking(tokens[last]!.text, false)) last--
  if (first > last) return undefined
  // A question word leading straight into what is kept is part of it: "for who writes the guide".
  if (first > 0 && QUESTION_WORDS.has(tokens[first - 1]!.text.toLowerCase())) first--
  const kept = text
    .slice(tokens[first]!.start, tokens[last]!.end)
    .replace(/\s{2,}/g, " ")
    .replace(/[?!.,;:]+$/, "")
    .trim()
  return /[\p{L}\d]/u.test(kept) ? kept : undefined
}

// ---- deciding ------------------------------------------------------------------------

interface Call {
  readonly name: string
  readonly params: Record<string, unknown>
}

/**
 * The call a clause makes: the best-scoring tool at or above `minScore` whose
 * required parameters all fill; `undefined` when none does. With `minScore`
 * at 0 (a call is required), any fillable tool with a positive score, else
 * any fillable tool, in the order offered.
 */
const callFor = (
  clause: string,
  profiles: ReadonlyArray<ToolProfile>,
  minScore: number
): Call | undefined => {
  const scored = scoreTools(clause, profiles)
    .map((s, order) => ({ ...s, order }))
    .filter((s) => s.score >= minScore)
    .sort((a, b) => b.score - a.score || a.order - b.order)
  for (const { profile } of scored) {
    const { params, missing } = fillParameters(profile, clause)
    if (missing.length === 0) return { name: profile.tool.name, params }
  }
  return undefined
}

/**
 * The calls a request makes: clause by clause, a clause that makes no call of
 * its own joining the one before it ("search the docs for budgets and
 * retries" stays one search). Equal calls are made once.
 */
const callsFor = (request: string, profiles: ReadonlyArray<ToolProfile>, minScore: number): Array<Call> => {
  const decided = new Map<string, Call | undefined>()
  const callOf = (span: Span): Call | undefined => {
    const clause = request.slice(span.start, span.end)
    if (!decided.has(clause)) decided.set(clause, callFor(clause, profiles, minScore))
    return decided.get(clause)
  }
  const groups: Array<Span> = []
  for (const span of clauses(request)) {
    const previous = groups[groups.length - 1]
    if (previous !== undefined && callOf(span) === undefined)
      groups[groups.length - 1] = { start: previous.start, end: span.end }
    else groups.push(span)
  }
  const calls: Array<Call> = []
  const seen = new Set<string>()
  for (const group of groups) {
    const call = callOf(group)
    if (call === undefined) continue
    const key = call.name + JSON.stringify(call.params)
    if (seen.has(key)) continue
    seen.add(key)
    calls.push(call)
  }
  return calls
}

interface ToolResult {
  readonly name: string
  readonly result: unknown
  readonly isFailure: boolean
  readonly modelOutput: ReadonlyArray<Prompt.ToolModelOutputPart> | undefined
  /** The text parameters of the call it answers ("budget limits" for a search), or `undefined`. */
  readonly asked: string | undefined
}

/** The tool results after message `from`, in order, each with the text its call asked about. */
const resultsAfter = (prompt: Prompt.Prompt, from: number): Array<ToolResult> => {
  const asked = new Map<string, string>()
  const out: Array<ToolResult> = []
  for (let i = from + 1; i < prompt.content.length; i++) {
    const message = prompt.content[i]!
    if (message.role !== "tool" && message.role !== "assistant") continue
    for (const part of message.content) {
      if (part.type === "tool-call" && isNode(part.params)) {
        const texts = Object.values(part.params).filter(Predicate.isString)
        if (texts.length > 0) asked.set(part.id, texts.join(" "))
      }
      if (part.type !== "tool-result") continue
      out.push({
        name: part.name,
        result: part.result,
        isFailure: part.isFailure,
        modelOutput: part.modelOutput,
        asked: asked.get(part.id)
      })
    }
  }
  return out
}

/**
 * Decides what the Local model does about tools for one text call, or
 * `undefined` to answer as it would without tools.
 *
 * - Tool results after the latest user message: answer from them (with
 *   `toolChoice` "required" or a named tool, call again instead).
 * - `toolChoice` "none", or no callable tools: nothing to do with tools.
 * - "auto": call the tools the request clearly asks for (see `callsFor`).
 * - "required" (or a `oneOf` with mode "required"): the same, else the
 *   fillable tool the request comes closest to; a `Refuse` when none fills.
 * - `{ tool }`: that tool, when its parameters fill; else a `Refuse`.
 */
export const decideTools = (
  provider: Pick<LanguageModel.ProviderOptions, "prompt" | "tools" | "toolChoice">,
  maxOutputTokens: number
): ToolStep | undefined => {
  const { prompt, toolChoice } = provider
  const user = latestUser(prompt)
  if (user < 0) return undefined
  const required =
    toolChoice === "required" ||
    (typeof toolChoice === "object" && "tool" in toolChoice) ||
    (typeof toolChoice === "object" && "oneOf" in toolChoice && toolChoice.mode === "required")
  // Results of tools no longer offered (a handoff's, before the agent it handed to) are history.
  const all = resultsAfter(prompt, user)
  const offeredNames = new Set(provider.tools.map((tool) => tool.name))
  const results = offeredNames.size === 0 ? all : all.filter((result) => offeredNames.has(result.name))
  // A call without tools or results (every plain question) costs no more than this.
  if (results.length === 0 && !required && (toolChoice === "none" || provider.tools.length === 0))
    return undefined
  const request = requestText(prompt.content[user]!)
  if (results.length > 0 && !required)
    return { _tag: "Answer", text: answerFromResults(results, provider.tools, request, maxOutputTokens) }
  if (toolChoice === "none") return undefined

  const offered =
    typeof toolChoice === "object" && "tool" in toolChoice
      ? provider.tools.filter((tool) => tool.name === toolChoice.tool)
      : provider.tools
  const profiles = offered.map(profileOf).filter(Predicate.isNotUndefined)
  if (profiles.length === 0) {
    return required
      ? { _tag: "Refuse", description: `the tool choice asks for a call, but no callable tool was offered` }
      : undefined
  }
  let calls = callsFor(request, profiles, CLEAR_MATCH)
  if (calls.length === 0 && required) calls = callsFor(request, profiles, 0)
  if (calls.length === 0) {
    if (!required) return noToolFits(prompt, profiles, maxOutputTokens)
    const missing = profiles
      .map((p) => `${p.tool.name} (${fillParameters(p, request).missing.join(", ")})`)
      .join("; ")
    return {
      _tag: "Refuse",
      description: `the tool choice asks for a call, but the request does not give the required parameters of ${missing}`
    }
  }
  return {
    _tag: "Call",
    calls: calls.map((call, i) => ({
      id: `local_${prompt.content.length}_${i}`,
      name: call.name,
      params: call.params
    }))
  }
}

/**
 * The answer when no offered tool fits and the prompt has nothing to answer
 * from either (the extractive answer would be `NO_PASSAGES`): say so, naming
 * the tools; otherwise `undefined`, the extractive answer stands. Only a
 * prompt without passages can answer `NO_PASSAGES`, so one with passages is
 * not answered here (the caller answers it, in slices).
 */
const noToolFits = (
  prompt: Prompt.Prompt,
  profiles: ReadonlyArray<ToolProfile>,
  maxOutputTokens: number
): ToolStep | undefined => {
  const request = readRequest(prompt)
  return request.passages.length === 0 && answer(request, maxOutputTokens) === NO_PASSAGES
    ? {
        _tag: "Answer",
        text: `None of my tools (${profiles.map((p) => p.tool.name).join(", ")}) fits this request, and no passages were provided to answer it from.`
      }
    : undefined
}

// ---- answering from tool results ---------------------------------------------------------

/** A value as a line of text: scalars as they are, objects as "key: value" pairs. */
const render = (value: unknown, depth = 0): string => {
  if (value === null || value === undefined) return "nothing"
  if (typeof value === "string") return value
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value)
  if (depth >= 3) return JSON.stringify(value)
  if (Array.isArray(value))
    return value.length === 0 ? "none" : value.map((v) => render(v, depth + 1)).join("; ")
  if (isNode(value)) {
    if (typeof value.message === "string" && value.message.length > 0) return value.message
    // A tagged value (an encoded error) reads as its tag, then its fields.
    const tag = typeof value._tag === "string" ? value._tag : undefined
    const pairs = Object.entries(value).filter(([k, v]) => v !== undefined && k !== "_tag")
    if (tag !== undefined) {
      if (pairs.length === 0) return tag
      if (pairs.length === 1) return `${tag}: ${render(pairs[0]![1], depth + 1)}`
      return `${tag} (${pairs.map(([k, v]) => `${nameWords(k)}: ${render(v, depth + 1)}`).join(", ")})`
    }
    if (pairs.length === 1) return render(pairs[0]![1], depth + 1)
    return pairs
      .map(([k, v]) => `${nameWords(k)}: ${isNode(v) ? `(${render(v, depth + 1)})` : render(v, depth + 1)}`)
      .join(", ")
  }
  return String(value)
}

// A field naming where a text came from: "sourceId", "source", "id", "url", "path", "file".
const SOURCE_FIELD = /(?:^|_|[a-z])(?:source(?:_?id)?|id|url|path|file|uri)$/i
/** A text this long or longer in a result item is a passage to quote from, not a value. */
const PASSAGE_CHARACTERS = 80

interface ResultPassage {
  readonly sourceId: string
  readonly text: string
}

/**
 * The passages a result carries: the items of an array (the result, or an
 * array field of it) that hold a long text, each with the field naming its
 * source.
 */
const passagesIn = (result: unknown): Array<ResultPassage> => {
  const items = Array.isArray(result)
    ? result
    : isNode(result)
      ? ((Object.values(result).find((v) => Array.isArray(v) && v.some(isNode)) as
          | Array<unknown>
          | undefined) ?? [])
      : []
  const out: Array<ResultPassage> = []
  items.forEach((item, i) => {
    if (!isNode(item)) return
    let text: string | undefined
    let sourceId: string | undefined
    for (const [key, value] of Object.entries(item)) {
      if (typeof value !== "string") continue
      if (sourceId === undefined && SOURCE_FIELD.test(key)) sourceId = value
      else if (value.length >= PASSAGE_CHARACTERS && (text === undefined || value.length > text.length))
        text = value
    }
    if (text !== undefined) out.push({ sourceId: sourceId ?? `result ${i + 1}`, text })
  })
  return out
}

/**
 * What the tool's own `toModelOutput` makes of a result that came without its
 * model output (a caller that ran the handler itself passed the value only).
 */
const modelOutputOf = (
  tools: ReadonlyArray<Tool.Any>,
  result: ToolResult
): ReadonlyArray<Prompt.ToolModelOutputPart> | undefined => {
  const tool = tools.find((t) => t.name === result.name)
  if (tool === undefined || tool.toModelOutput === undefined || !Schema.isSchema(tool.successSchema))
    return undefined
  const decoded = Schema.decodeUnknownExit(tool.successSchema as Schema.Codec<unknown, unknown>)(
    result.result
  )
  if (decoded._tag !== "Success") return undefined
  try {
    return tool.toModelOutput(decoded.value)
  } catch {
    return undefined
  }
}

/**
 * The answer the tool results give, one line a result, each saying which tool
 * it quotes: a result's model output when the tool gave one (or its
 * `toModelOutput` gives one), else its value written out; a result that carries passages (a search) is answered from
 * them by the extractive model, each quoted sentence citing its source.
 */
const answerFromResults = (
  results: ReadonlyArray<ToolResult>,
  tools: ReadonlyArray<Tool.Any>,
  request: string,
  maxOutputTokens: number
): string =>
  results
    .map((result) => {
      if (result.isFailure) return `${result.name} failed: ${render(result.result)}`
      const output = (result.modelOutput ?? modelOutputOf(tools, result))
        ?.filter((part): part is Prompt.TextPart => part.type === "text")
        .map((part) => part.text)
        .join(" ")
      const question = result.asked ?? request
      if (output !== undefined && output.length > 0) {
        const passages = parsePassages(output)
        return `${result.name}: ${passages.length > 0 ? quotePassages(passages, question, maxOutputTokens) : output}`
      }
      const passages = passagesIn(result.result)
      if (passages.length > 0) {
        const numbered = passages.map((p, i) => ({ n: i + 1, sourceId: p.sourceId, text: p.text }))
        return `${result.name}: ${quotePassages(numbered, question, maxOutputTokens)}`
      }
      return `${result.name}: ${render(result.result)}`
    })
    .join("\n")

/**
 * The extractive answer to the question from passages, each `[n]` written
 * `[source]`; when the extractive model declines, the sentence that holds
 * most of the question's terms, cited, so a search result is still quoted,
 * not dropped.
 */
const quotePassages = (
  passages: ReadonlyArray<ParsedPassage>,
  question: string,
  maxOutputTokens: number
): string => {
  let text = answer({ passages, question }, maxOutputTokens)
  if (text === UNANSWERED || text === NO_PASSAGES) {
    // The sentence holding most of the question's terms (the first, when none holds any).
    const wanted = new Set(terms(question))
    let best = { text: sentences(passages[0]!.text)[0] ?? passages[0]!.text, n: passages[0]!.n, held: 0 }
    for (const passage of passages) {
      for (const sentence of sentences(passage.text)) {
        const held = new Set(terms(sentence).filter((term) => wanted.has(term))).size
        if (held > best.held) best = { text: sentence, n: passage.n, held }
      }
    }
    text = `${best.text} [${best.n}]`
  }
  return text.replace(
    /\[(\d+(?:\s*,\s*\d+)*)\]/g,
    (_, ns: string) =>
      `[${ns
        .split(",")
        .map((n) => passages.find((p) => p.n === Number(n.trim()))?.sourceId ?? n.trim())
        .join(", ")}]`
  )
}
