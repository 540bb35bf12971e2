import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { SqlClient } from "effect/sql"
import type * as Chunking from "../../src/retrieval/Chunking.ts"
import * as Filter from "../../src/retrieval/Filter.ts"
import * as SqlIndex from "../../src/retrieval/SqlIndex.ts"
import { backends } from "../support/databases.ts"

const day = 86_400_000
const jan = (n: number) => Date.UTC(2025, 0, n)

/** Documents covering the cases a filter distinguishes: no tags, no date, odd characters in ids and tags. */
const documents: ReadonlyArray<Chunking.Document> = [
  { sourceId: "guides/budget.md", text: "Budgets.", tags: ["finance", "howto"], updatedAt: jan(5) },
  { sourceId: "guides/agents.md", text: "Agents.", tags: ["howto"], updatedAt: jan(20) },
  { sourceId: "guides_old/x.md", text: "Old.", updatedAt: jan(1) },
  { sourceId: "notes/100%_done.md", text: "Percent.", tags: ['quote"d', "finance"] },
  { sourceId: "notes/plain.txt", text: "Plain." },
  { sourceId: "api/Ünïcode.md", text: "Unicode.", tags: ["ünï"], updatedAt: jan(20) + 1 },
  { sourceId: "api/late.md", text: "Late.", tags: [], updatedAt: jan(31) },
  { sourceId: "🐝/bees.md", text: "Bees.", tags: ["🐝"] }
]

const filters: ReadonlyArray<Filter.Filter> = [
  Filter.source("guides/budget.md"),
  Filter.source("notes/plain.txt", "api/late.md", "missing.md"),
  Filter.source(),
  Filter.sourcePrefix("guides/"),
  Filter.sourcePrefix("guides"),
  Filter.sourcePrefix("notes/100%"),
  Filter.sourcePrefix(""),
  Filter.sourcePrefix("🐝/"),
  Filter.anyTag("🐝"),
  Filter.anyTag("finance"),
  Filter.anyTag('quote"d'),
  Filter.anyTag("ünï", "howto"),
  Filter.anyTag(),
  Filter.allTags("finance", "howto"),
  Filter.allTags("howto", "howto"),
  Filter.allTags(),
  Filter.not(Filter.anyTag("finance")),
  Filter.updatedBetween({ from: jan(5), to: jan(20) }),
  Filter.updatedBetween({ from: jan(20) }),
  Filter.updatedBetween({ to: new Date(jan(20)) }),
  Filter.updatedBetween({}),
  Filter.not(Filter.updatedBetween({ from: jan(10) })),
  Filter.and(Filter.sourcePrefix("guides/"), Filter.anyTag("finance")),
  Filter.or(Filter.sourcePrefix("api/"), Filter.not(Filter.updatedBetween({}))),
  Filter.not(
    Filter.or(
      Filter.anyTag("howto"),
      Filter.and(Filter.sourcePrefix("api/"), Filter.not(Filter.allTags("ünï")))
    )
  ),
  Filter.and(),
  Filter.or(),
  Filter.not(Filter.and())
]

describe("Filter in memory", () => {
  const ids = (filter: Filter.Filter) =>
    documents.filter(Filter.toPredicate(filter)).map((document) => document.sourceId)

  it("selects by source, prefix, tags and date, with and/or/not", () => {
    assert.deepStrictEqual(ids(Filter.sourcePrefix("guides/")), ["guides/budget.md", "guides/agents.md"])
    assert.deepStrictEqual(ids(Filter.allTags("finance", "howto")), ["guides/budget.md"])
    assert.deepStrictEqual(ids(Filter.updatedBetween({ from: jan(5), to: jan(20) })), ["guides/budget.md"])
    // A document without a date is outside every range, and so inside its negation.
    assert.deepStrictEqual(ids(Filter.not(Filter.updatedBetween({}))), [
      "notes/100%_done.md",
      "notes/plain.txt",
      "🐝/bees.md"
    ])
    assert.deepStrictEqual(ids(Filter.or()), [])
    assert.lengthOf(ids(Filter.and()), documents.length)
  })

  it.effect("is data: it survives a JSON round trip, and a malformed one is an InvalidOption", () =>
    Effect.gen(function* () {
      const json = Schema.encodeSync(Schema.fromJsonString(Filter.Filter))(filters[21]!)
      assert.deepStrictEqual(
        Schema.decodeUnknownSync(Schema.fromJsonString(Filter.Filter))(json),
        filters[21]
      )
      for (const filter of filters) assert.deepStrictEqual(yield* Filter.validate(filter), filter)
      const bad = yield* Effect.flip(Filter.validate({ _tag: "Tags", tags: ["a"], match: "some" }))
      assert.strictEqual(bad.reason._tag, "InvalidOption")
      assert.match(bad.message, /where/)
      const fractional = yield* Effect.flip(Filter.validate({ _tag: "UpdatedAt", from: 1.5 }))
      assert.strictEqual(fractional.reason._tag, "InvalidOption")
    })
  )
})

describe.each(backends())("Filter in SQL on $name", ({ layer }) => {
  it.layer(layer())((it) => {
    it.effect("selects exactly the documents the in-memory predicate accepts, for every filter", () =>
      Effect.gen(function* () {
        const index = yield* SqlIndex.make({ collection: "filter-test" })
        yield* index.ingestDocuments(documents)
        const sql = yield* SqlClient.SqlClient
        for (const filter of filters) {
          const rows = yield* sql<{ source_id: string }>`
            SELECT d.source_id FROM weft_documents d
            WHERE d.collection = 'filter-test' AND ${Filter.toSql(sql, filter)}`
          const expected = documents
            .filter(Filter.toPredicate(filter))
            .map((document) => document.sourceId)
            .sort()
          assert.deepStrictEqual(rows.map((row) => row.source_id).sort(), expected, JSON.stringify(filter))
        }
        // Not every filter is trivially everything or nothing.
        const sizes = new Set(filters.map((filter) => documents.filter(Filter.toPredicate(filter)).length))
        assert.isAtLeast(sizes.size, 5)
      })
    )

    it.effect("reads other column names when asked", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE t_items (name TEXT, labels TEXT NOT NULL, changed BIGINT NULL)`
        yield* sql`INSERT INTO t_items (name, labels, changed) VALUES ('a', '["x"]', ${day}), ('b', '[]', NULL)`
        const columns = { sourceId: "name", tags: "labels", updatedAt: "changed" }
        const tagged = yield* sql<{ name: string }>`
          SELECT name FROM t_items WHERE ${Filter.toSql(sql, Filter.anyTag("x"), columns)}`
        assert.deepStrictEqual(
          tagged.map((row) => row.name),
          ["a"]
        )
        const undated = yield* sql<{ name: string }>`
          SELECT name FROM t_items WHERE ${Filter.toSql(sql, Filter.not(Filter.updatedBetween({ from: 0 })), columns)}`
        assert.deepStrictEqual(
          undated.map((row) => row.name),
          ["b"]
        )
      })
    )
  })
})
