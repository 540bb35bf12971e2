/**
 * Query filters as data: which documents a search may return passages from.
 *
 * A `Filter` is a Schema (a tagged union), not a closure, so the same value
 * can be checked in memory (`toPredicate`, used by the in-memory Retriever)
 * and compiled to an `effect/sql` fragment (`toSql`, used by the SQL index),
 * sent as JSON, or stored. Both compilations give the same answer for every
 * document: a document without an `updatedAt` is outside every date range
 * (and inside its `not`), a document without tags has none of the tags asked
 * for.
 *
 * - `source("a.md", "b.md")`: documents with one of these source ids.
 * - `sourcePrefix("guides/")`: documents whose source id starts with it.
 * - `anyTag("x", "y")` / `allTags("x", "y")`: documents with at least one / all of the tags.
 * - `updatedBetween({ from, to })`: `from ≤ updatedAt < to` (epoch ms, either bound optional).
 * - `and(…)`, `or(…)`, `not(…)`: combinations (`and()` accepts everything, `or()` nothing).
 *
 * @example
 * ```ts
 * import * as Filter from "./Filter.ts"
 *
 * const recentGuides = Filter.and(Filter.sourcePrefix("guides/"), Filter.updatedBetween({ from: Date.UTC(2025, 0, 1) }))
 * ```
 */
import { Effect, Schema } from "effect"
import type { SqlClient, Statement } from "effect/sql"
import { invalidOption, type RetrievalError } from "./RetrievalError.ts"

/** Documents whose source id is one of `sourceIds`. */
export const Source = Schema.TaggedStruct("Source", { sourceIds: Schema.Array(Schema.String) })
export type Source = typeof Source.Type

/** Documents whose source id starts with `prefix`. */
export const SourcePrefix = Schema.TaggedStruct("SourcePrefix", { prefix: Schema.String })
export type SourcePrefix = typeof SourcePrefix.Type

/** Documents tagged with any (at least one) or all of `tags`. Tags compare exactly. */
export const Tags = Schema.TaggedStruct("Tags", {
  tags: Schema.Array(Schema.String),
  match: Schema.Literals(["any", "all"])
})
export type Tags = typeof Tags.Type

/** Documents with `from ≤ updatedAt < to` (epoch milliseconds); a missing bound is open. */
export const UpdatedAt = Schema.TaggedStruct("UpdatedAt", {
  from: Schema.optionalKey(Schema.Int),
  to: Schema.optionalKey(Schema.Int)
})
export type UpdatedAt = typeof UpdatedAt.Type

/** Documents every one of `filters` accepts (all of them when empty). */
export interface And {
  readonly _tag: "And"
  readonly filters: ReadonlyArray<Filter>
}
/** Documents at least one of `filters` accepts (none when empty). */
export interface Or {
  readonly _tag: "Or"
  readonly filters: ReadonlyArray<Filter>
}
/** Documents `filter` rejects. */
export interface Not {
  readonly _tag: "Not"
  readonly filter: Filter
}

/** A filter: which documents a search may return passages from. */
export type Filter = Source | SourcePrefix | Tags | UpdatedAt | And | Or | Not

const suspended = Schema.suspend((): Schema.Codec<Filter> => Filter)

export const And: Schema.Codec<And> = Schema.TaggedStruct("And", { filters: Schema.Array(suspended) })
export const Or: Schema.Codec<Or> = Schema.TaggedStruct("Or", { filters: Schema.Array(suspended) })
export const Not: Schema.Codec<Not> = Schema.TaggedStruct("Not", { filter: suspended })

/** The Schema of a `Filter`, for decoding one from JSON or checking one given by a caller. */
export const Filter: Schema.Codec<Filter> = Schema.Union([
  Source,
  SourcePrefix,
  Tags,
  UpdatedAt,
  And,
  Or,
  Not
])

// ---------------------------------------------------------------------------
// Constructors

/** Documents with one of these source ids. */
export const source = (...sourceIds: ReadonlyArray<string>): Filter => ({ _tag: "Source", sourceIds })
/** Documents whose source id starts with `prefix` (e.g. a folder, `"guides/"`). */
export const sourcePrefix = (prefix: string): Filter => ({ _tag: "SourcePrefix", prefix })
/** Documents with at least one of these tags. */
export const anyTag = (...tags: ReadonlyArray<string>): Filter => ({ _tag: "Tags", tags, match: "any" })
/** Documents with every one of these tags. */
export const allTags = (...tags: ReadonlyArray<string>): Filter => ({ _tag: "Tags", tags, match: "all" })
/** Documents updated at or after `from` and before `to` (epoch ms or Dates, rounded down to whole ms; either bound optional). */
export const updatedBetween = (range: {
  readonly from?: number | Date | undefined
  readonly to?: number | Date | undefined
}): Filter => {
  const ms = (bound: number | Date | undefined) =>
    bound === undefined ? undefined : Math.floor(bound instanceof Date ? bound.getTime() : bound)
  const from = ms(range.from)
  const to = ms(range.to)
  return {
    _tag: "UpdatedAt",
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to })
  }
}
/** Documents every filter accepts. */
export const and = (...filters: ReadonlyArray<Filter>): Filter => ({ _tag: "And", filters })
/** Documents at least one filter accepts. */
export const or = (...filters: ReadonlyArray<Filter>): Filter => ({ _tag: "Or", filters })
/** Documents the filter rejects. */
export const not = (filter: Filter): Filter => ({ _tag: "Not", filter })

// ---------------------------------------------------------------------------
// Checking

/**
 * Checks a filter a caller gave (it may come from JSON): fails with
 * `InvalidOption` naming `option` when it is not a `Filter`.
 */
export const validate = (filter: unknown, option = "where"): Effect.Effect<Filter, RetrievalError> =>
  Schema.decodeUnknownEffect(Filter)(filter).pipe(
    Effect.mapError((error) =>
      invalidOption(option, truncate(String(error.message)), "a Filter (see Filter.ts)")
    )
  )

const truncate = (text: string): string => (text.length > 300 ? `${text.slice(0, 297)}...` : text)

// ---------------------------------------------------------------------------
// In memory

/** What a filter looks at: a document's (or a passage's) source id and metadata. */
export interface FilterSubject {
  readonly sourceId: string
  readonly tags?: ReadonlyArray<string> | undefined
  readonly updatedAt?: number | undefined
}

/** The filter as a predicate over documents or passages. */
export const toPredicate = (filter: Filter): ((subject: FilterSubject) => boolean) => {
  switch (filter._tag) {
    case "Source": {
      const ids = new Set(filter.sourceIds)
      return (subject) => ids.has(subject.sourceId)
    }
    case "SourcePrefix": {
      const prefix = filter.prefix
      return (subject) => subject.sourceId.startsWith(prefix)
    }
    case "Tags": {
      const wanted = [...new Set(filter.tags)]
      return filter.match === "any"
        ? (subject) => subject.tags !== undefined && wanted.some((tag) => subject.tags!.includes(tag))
        : (subject) => wanted.every((tag) => subject.tags?.includes(tag) === true)
    }
    case "UpdatedAt": {
      const { from, to } = filter
      return (subject) =>
        subject.updatedAt !== undefined &&
        (from === undefined || subject.updatedAt >= from) &&
        (to === undefined || subject.updatedAt < to)
    }
    case "And": {
      const parts = filter.filters.map(toPredicate)
      return (subject) => parts.every((accepts) => accepts(subject))
    }
    case "Or": {
      const parts = filter.filters.map(toPredicate)
      return (subject) => parts.some((accepts) => accepts(subject))
    }
    case "Not": {
      const inner = toPredicate(filter.filter)
      return (subject) => !inner(subject)
    }
  }
}

// ---------------------------------------------------------------------------
// In SQL

/**
 * The SQL columns a filter reads: by default those of `weft_documents`
 * joined as `d`. Names are written into the SQL as given: pass only constants.
 */
export interface SqlColumns {
  /** Default `"d.source_id"`. */
  readonly sourceId: string
  /** A JSON array of strings. Default `"d.tags"`. */
  readonly tags: string
  /** Epoch ms or NULL. Default `"d.updated_at"`. */
  readonly updatedAt: string
}

export const defaultSqlColumns: SqlColumns = {
  sourceId: "d.source_id",
  tags: "d.tags",
  updatedAt: "d.updated_at"
}

/**
 * The filter as a boolean SQL fragment for a WHERE clause, on SQLite and
 * PostgreSQL alike; it never evaluates to NULL, so `NOT` behaves as
 * `toPredicate`'s `!`. By default it reads `weft_documents` joined as `d`.
 */
export const toSql = (
  sql: SqlClient.SqlClient,
  filter: Filter,
  columns: SqlColumns = defaultSqlColumns
): Statement.Fragment => {
  const sourceId = sql.literal(columns.sourceId)
  const tags = sql.literal(columns.tags)
  const updatedAt = sql.literal(columns.updatedAt)
  const always = sql.literal("1=1")
  const never = sql.literal("1=0")
  // One row per tag of the document, in a column named `value`.
  const tagRows = sql.onDialectOrElse({
    pg: () => sql`jsonb_array_elements_text(${tags}::jsonb) AS t(value)`,
    orElse: () => sql`json_each(${tags})`
  })
  const compile = (filter: Filter): Statement.Fragment => {
    switch (filter._tag) {
      case "Source":
        return filter.sourceIds.length === 0
          ? never
          : sql`${sourceId} IN ${sql.in([...new Set(filter.sourceIds)])}`
      case "SourcePrefix":
        return filter.prefix.length === 0
          ? always
          : sql`substr(${sourceId}, 1, ${[...filter.prefix].length}) = ${filter.prefix}`
      case "Tags": {
        const wanted = [...new Set(filter.tags)]
        if (wanted.length === 0) return filter.match === "any" ? never : always
        return filter.match === "any"
          ? sql`EXISTS (SELECT 1 FROM ${tagRows} WHERE value IN ${sql.in(wanted)})`
          : sql`(SELECT COUNT(DISTINCT value) FROM ${tagRows} WHERE value IN ${sql.in(wanted)}) = ${wanted.length}`
      }
      case "UpdatedAt": {
        const clauses: Array<Statement.Fragment> = [sql`${updatedAt} IS NOT NULL`]
        if (filter.from !== undefined) clauses.push(sql`${updatedAt} >= ${filter.from}`)
        if (filter.to !== undefined) clauses.push(sql`${updatedAt} < ${filter.to}`)
        return sql.and(clauses)
      }
      case "And":
        return filter.filters.length === 0 ? always : sql.and(filter.filters.map(compile))
      case "Or":
        return filter.filters.length === 0 ? never : sql.or(filter.filters.map(compile))
      case "Not":
        return sql`NOT (${compile(filter.filter)})`
    }
  }
  return sql`(${compile(filter)})`
}
