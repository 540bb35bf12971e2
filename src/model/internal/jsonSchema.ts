/**
 * Reading the JSON Schema that effect/ai derives from a Schema (a tool's
 * parameters, a structured-output format), as the Local model's filling of
 * objects and of tool parameters both do: nodes, `$ref`s into `$defs` /
 * `definitions`, `allOf` merged.
 */
import { Predicate } from "effect"

export type Node = { readonly [key: string]: unknown }

export const isNode: (u: unknown) => u is Node = Predicate.isObject

/** `$ref` chains longer than this (a recursive Schema) are not followed further. */
const MAX_REF_HOPS = 8

/** The node a `$ref` points at (followed through `definitions`), with an `allOf`'s parts merged into it. */
export const resolve = (node: Node, definitions: Node): Node => {
  let current = node
  for (let hops = 0; hops < MAX_REF_HOPS && typeof current.$ref === "string"; hops++) {
    const key = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(current.$ref as string)?.[1]
    const target = key === undefined ? undefined : definitions[key.replace(/~1/g, "/").replace(/~0/g, "~")]
    if (!isNode(target)) return current
    current = target
  }
  if (Array.isArray(current.allOf)) {
    let merged: Node = { ...current, allOf: undefined }
    for (const part of current.allOf) if (isNode(part)) merged = { ...resolve(part, definitions), ...merged }
    return merged
  }
  return current
}

/** `s` with the characters a RegExp reads specially escaped. */
export const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
