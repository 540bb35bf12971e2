/**
 * The Local model's JSON mode: fill an object described by a JSON Schema from
 * the plain text of a prompt.
 *
 * Each property is looked up by its label — the property name split into
 * words (`zipCode`, `zip_code` → "zip code"), or its title or a short
 * description — in "Label: value" lines. Strings take the value, numbers the
 * first number near the label, booleans a yes/no/true/false, enums the enum
 * value the text mentions, arrays a comma/"and" list or the bullet lines under
 * the label, objects are filled recursively (`$ref`s resolved), and constants
 * (a tag's literal) are filled as they are. A property that cannot be found
 * is left out, so the caller's Schema decode reports what is missing.
 */

import { escapeRegExp, isNode, type Node, resolve as resolveIn } from "./jsonSchema.ts"

interface Scope {
  readonly definitions: Node
  readonly depth: number
}

/** Nesting deeper than this (e.g. through recursive `$ref`s) is not filled. */
const MAX_DEPTH = 8

/** A property name as words: `zipCode` / `zip_code` / `zip-code` → "zip code". */
const nameWords = (name: string): string =>
  name
    .replace(/([\p{Ll}\d])(\p{Lu})/gu, "$1 $2")
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, "$1 $2")
    .replace(/[_\-.\s]+/g, " ")
    .trim()
    .toLowerCase()

const labelsFor = (name: string, node: Node): Array<string> => {
  const labels = [nameWords(name)]
  const [first, ...rest] = labels[0]!.split(" ")
  // `isActive` is labelled "Active:" in text as often as "Is active:".
  if ((first === "is" || first === "has" || first === "can") && rest.length > 0) labels.push(rest.join(" "))
  for (const key of ["title", "description"] as const) {
    const value = node[key]
    if (typeof value === "string" && value.trim().split(/\s+/).length <= 5)
      labels.push(value.trim().toLowerCase())
  }
  return [...new Set(labels.filter((label) => label.length > 0))]
}

const labelPattern = (label: string): string => label.split(/\s+/).map(escapeRegExp).join("[\\s_-]*")

interface Labelled {
  /** The value after the label on its line. */
  readonly value: string
  /** The lines after the label's line, up to a blank line. */
  readonly below: string
}

// Where an inline value ends: the next "Other label:" on the same line.
const NEXT_LABEL = /\s*[,;|]\s*[\p{L}][\p{L}\d \t_-]{0,30}[:=]\s/u

/** The first "Label: value" line for any of the labels (at a line start or after `,` `;` `|`). */
const findLabelled = (labels: ReadonlyArray<string>, text: string): Labelled | undefined => {
  for (const label of labels) {
    const pattern = new RegExp(
      `(?:^|[,;|])[ \\t]*(?:[-*•+][ \\t]+)?(?:\\*\\*)?${labelPattern(label)}(?:\\*\\*)?[ \\t]*(?:\\([^)\\n]*\\))?[ \\t]*[:=][ \\t]*([^\\n]*)`,
      "im"
    )
    const match = pattern.exec(text)
    if (match === null) continue
    let value = match[1] ?? ""
    const next = NEXT_LABEL.exec(value)
    if (next !== null) value = value.slice(0, next.index)
    const rest = text.slice(match.index + match[0].length).replace(/^\r?\n/, "")
    const blank = rest.search(/\n\s*\n/)
    return { value: cleanValue(value), below: blank >= 0 ? rest.slice(0, blank) : rest }
  }
  return undefined
}

const cleanValue = (value: string): string => {
  let v = value
    .trim()
    .replace(/^\*\*|\*\*$/g, "")
    .trim()
  if (/^(["'“‘`]).*(["'”’`])$/.test(v)) v = v.slice(1, -1).trim()
  // A single trailing full stop ends the sentence, not the value.
  if (/[^.]\.$/.test(v)) v = v.slice(0, -1)
  return v
}

interface Mention {
  /** The rest of the mention's line, up to the span. */
  readonly after: string
  /** The few characters before the mention on its line. */
  readonly before: string
}

/**
 * The bare mentions of a label in a text, whole labels first, then the first
 * label's single words ("estimate" or "hours" for `estimateHours`).
 */
const mentions = (labels: ReadonlyArray<string>, text: string, span: number): Array<Mention> => {
  const singles = (labels[0] ?? "").split(" ").filter((word) => word.length >= 3)
  const out: Array<Mention> = []
  for (const label of [...labels, ...(singles.length > 1 ? singles : [])]) {
    const match = new RegExp(`\\b${labelPattern(label)}\\b`, "i").exec(text)
    if (match === null) continue
    const end = match.index + match[0].length
    out.push({
      after: text.slice(end, end + span).split("\n")[0] ?? "",
      before:
        text
          .slice(Math.max(0, match.index - 16), match.index)
          .split("\n")
          .pop() ?? ""
    })
  }
  return out
}

const firstDefined = <A, B>(items: ReadonlyArray<A>, f: (a: A) => B | undefined): B | undefined => {
  for (const item of items) {
    const b = f(item)
    if (b !== undefined) return b
  }
  return undefined
}

const NUMBER = /-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?/

const firstNumber = (text: string): number | undefined => {
  const match = NUMBER.exec(text)
  return match === null ? undefined : Number(match[0].replace(/,/g, ""))
}

/** A number right before a label ("2.5 hours"). */
const lastNumber = (text: string): number | undefined => {
  const match = /(-?\d[\d,]*(?:\.\d+)?)\s*$/.exec(text)
  return match === null ? undefined : Number(match[1]!.replace(/,/g, ""))
}

const TRUE_WORDS = new Set(["yes", "y", "true", "on", "enabled", "active", "1"])
const FALSE_WORDS = new Set(["no", "n", "false", "off", "disabled", "inactive", "0", "none"])

const firstBoolean = (text: string): boolean | undefined => {
  for (const match of text.toLowerCase().matchAll(/[a-z0-9]+/g)) {
    if (TRUE_WORDS.has(match[0])) return true
    if (FALSE_WORDS.has(match[0])) return false
  }
  return undefined
}

/** The enum values a text mentions, in order of first mention. */
const mentionedEnums = (values: ReadonlyArray<unknown>, text: string): Array<unknown> => {
  const found: Array<{ readonly value: unknown; readonly at: number }> = []
  for (const value of values) {
    if (value === null || typeof value === "object") continue
    const words = nameWords(String(value))
    const pattern = words.length > 0 ? labelPattern(words) : escapeRegExp(String(value))
    const match = new RegExp(`(?<![\\p{L}\\d])${pattern}(?![\\p{L}\\d])`, "iu").exec(text)
    if (match !== null) found.push({ value, at: match.index })
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.value)
}

const listItems = (labelled: Labelled): Array<string> => {
  if (labelled.value.length > 0) {
    return labelled.value
      .split(/\s*(?:[,;]|\band\b)\s*/i)
      .map(cleanValue)
      .filter((item) => item.length > 0)
  }
  const items: Array<string> = []
  for (const line of labelled.below.split("\n")) {
    const bullet = /^\s*(?:[-*•+]|\d+[.)])\s+(.*)$/.exec(line)
    if (bullet === null) break
    const item = cleanValue(bullet[1] ?? "")
    if (item.length > 0) items.push(item)
  }
  return items
}

const resolve = (node: Node, scope: Scope): Node => resolveIn(node, scope.definitions)

/** A node that admits one value (`const`, or an enum of one, as Schema encodes a literal). */
const isConstant = (node: Node): boolean =>
  "const" in node || (Array.isArray(node.enum) && node.enum.length === 1)

const constantOf = (node: Node): unknown => ("const" in node ? node.const : (node.enum as Array<unknown>)[0])

const typeOf = (node: Node): string | undefined => {
  if (typeof node.type === "string") return node.type
  if (Array.isArray(node.type))
    return node.type.find((t): t is string => typeof t === "string" && t !== "null")
  if (isNode(node.properties)) return "object"
  return undefined
}

/** Fills one schema node for a property with the given labels, or `undefined` if the text lacks it. */
const fillValue = (node: Node, labels: ReadonlyArray<string>, text: string, scope: Scope): unknown => {
  const resolved = resolve(node, scope)
  if (isConstant(resolved)) return constantOf(resolved)
  const alternatives = Array.isArray(resolved.anyOf)
    ? resolved.anyOf
    : Array.isArray(resolved.oneOf)
      ? resolved.oneOf
      : undefined
  if (alternatives !== undefined) {
    for (const alternative of alternatives) {
      if (!isNode(alternative) || alternative.type === "null") continue
      const value = fillValue(alternative, labels, text, scope)
      if (value !== undefined) return value
    }
    return undefined
  }
  if (Array.isArray(resolved.enum)) {
    const labelled = findLabelled(labels, text)
    const inValue = labelled === undefined ? [] : mentionedEnums(resolved.enum, labelled.value)
    return inValue[0] ?? mentionedEnums(resolved.enum, text)[0]
  }
  switch (typeOf(resolved)) {
    case "string": {
      const labelled = findLabelled(labels, text)
      if (labelled === undefined) return undefined
      if (labelled.value.length > 0) return labelled.value
      const paragraph = cleanValue(labelled.below.replace(/\s*\n\s*/g, " "))
      return paragraph.length > 0 ? paragraph : undefined
    }
    case "number":
    case "integer": {
      const labelled = findLabelled(labels, text)
      const n =
        labelled === undefined
          ? firstDefined(mentions(labels, text, 40), (m) => firstNumber(m.after) ?? lastNumber(m.before))
          : firstNumber(labelled.value)
      if (n === undefined || Number.isNaN(n)) return undefined
      return typeOf(resolved) === "integer" && !Number.isInteger(n) ? undefined : n
    }
    case "boolean": {
      const labelled = findLabelled(labels, text)
      return (
        (labelled === undefined ? undefined : firstBoolean(labelled.value)) ??
        firstDefined(mentions(labels, text, 20), (m) => firstBoolean(m.after))
      )
    }
    case "array":
      return fillArray(resolved, labels, text, scope)
    case "object": {
      if (scope.depth >= MAX_DEPTH) return undefined
      // Fields of a nested object are looked for under its own label first.
      const labelled = findLabelled(labels, text)
      const section = labelled !== undefined && labelled.value.length === 0 ? labelled.below : undefined
      const inner = { ...scope, depth: scope.depth + 1 }
      const filled =
        (section === undefined ? undefined : fillProperties(resolved, section, inner)) ??
        fillProperties(resolved, text, inner)
      return filled
    }
    default:
      return undefined
  }
}

const fillArray = (node: Node, labels: ReadonlyArray<string>, text: string, scope: Scope): unknown => {
  const labelled = findLabelled(labels, text)
  if (labelled === undefined || !isNode(node.items)) return undefined
  const items = resolve(node.items, scope)
  const raw = listItems(labelled)
  if (Array.isArray(items.enum)) {
    const values = mentionedEnums(items.enum, raw.join(", "))
    return values.length > 0 ? values : undefined
  }
  switch (typeOf(items)) {
    case "string":
      return raw.length > 0 ? raw : undefined
    case "number":
    case "integer": {
      const numbers = raw.map(firstNumber).filter((n): n is number => n !== undefined)
      return numbers.length > 0 ? numbers : undefined
    }
    case "boolean": {
      const booleans = raw.map(firstBoolean).filter((b): b is boolean => b !== undefined)
      return booleans.length > 0 ? booleans : undefined
    }
    default:
      return undefined
  }
}

/**
 * Fills an object node's properties; `undefined` when none of them (other
 * than constants) could be found.
 */
const fillProperties = (node: Node, text: string, scope: Scope): Record<string, unknown> | undefined => {
  const properties = isNode(node.properties) ? node.properties : {}
  const out: Record<string, unknown> = {}
  let found = 0
  let fillable = 0
  for (const [name, property] of Object.entries(properties)) {
    if (!isNode(property)) continue
    const resolved = resolve(property, scope)
    const constant = isConstant(resolved)
    if (!constant) fillable++
    const value = fillValue(property, labelsFor(name, { ...resolved, ...property }), text, scope)
    if (value === undefined) continue
    out[name] = value
    if (!constant) found++
  }
  return found > 0 || fillable === 0 ? out : undefined
}

/**
 * Fills the object a JSON Schema describes from a text. Always returns an
 * object (possibly empty); properties the text lacks are left out.
 */
export const fillObject = (jsonSchema: unknown, text: string): Record<string, unknown> => {
  if (!isNode(jsonSchema)) return {}
  const definitions = isNode(jsonSchema.$defs)
    ? jsonSchema.$defs
    : isNode(jsonSchema.definitions)
      ? jsonSchema.definitions
      : {}
  const scope: Scope = { definitions, depth: 0 }
  return fillProperties(resolve(jsonSchema, scope), text, scope) ?? {}
}
