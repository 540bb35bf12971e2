/**
 * `grouped` prints whole numbers as `toLocaleString("en-US")` does, without
 * setting up ICU: the same text for every integer, rounded when it is not one.
 */
import { assert, describe, it } from "@effect/vitest"
import { grouped } from "../../src/core/Grouped.ts"

describe("grouped", () => {
  it("groups digits in threes exactly as en-US does, for whole numbers of every length and sign", () => {
    const values = [0, 1, 9, 10, 99, 100, 999, 1_000, 1_051, 9_999, 10_000, 123_456, 1_000_000, 1_234_567]
    for (let n = 1; n < 1e16; n *= 7) values.push(n, n + 1, n - 1)
    values.push(Number.MAX_SAFE_INTEGER, 1e20)
    for (const n of values) {
      assert.strictEqual(grouped(n), n.toLocaleString("en-US"), String(n))
      assert.strictEqual(grouped(-n), (-n).toLocaleString("en-US").replace(/^-0$/, "0"), String(-n))
    }
  })

  it("rounds what is not a whole number, and prints what is not finite as it is", () => {
    assert.strictEqual(grouped(1234.5), "1,235")
    assert.strictEqual(grouped(999.4), "999")
    assert.strictEqual(grouped(-0.2), "0")
    assert.strictEqual(grouped(Number.NaN), "NaN")
    assert.strictEqual(grouped(Number.POSITIVE_INFINITY), "Infinity")
  })
})
