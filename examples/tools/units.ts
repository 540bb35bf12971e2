/**
 * A unit converter for the example agents: length, mass, temperature, volume
 * and time, by factor to each kind's base unit (temperatures by offset and
 * scale). `convert` is the plain function; `ConvertUnits` is the effect/ai
 * Tool an agent calls, its units a Schema enum of every spelling the converter
 * knows ("km", "kilometre", "kilometers"), so a model sees what it may send.
 */
import { Effect, Schema } from "effect"
import { Prompt, Tool } from "effect/ai"
import { IncompatibleUnits, ToolError, toolError, UnknownUnit } from "./ToolError.ts"

export type Kind = "length" | "mass" | "temperature" | "volume" | "time"

interface UnitDefinition {
  readonly symbol: string
  readonly kind: Kind
  /** The base unit's amount in one of this unit (metres, kilograms, litres, seconds; kelvin for temperature). */
  readonly factor: number
  /** Added after scaling, for temperatures: kelvin = value × factor + offset. */
  readonly offset?: number
  readonly names: ReadonlyArray<string>
}

// Spellings of one letter ("m", "g", "s", "h", "l") are left out of the names a
// text may use only where they are too often something else ("e.g.", "it's").
const DEFINITIONS: ReadonlyArray<UnitDefinition> = [
  {
    symbol: "mm",
    kind: "length",
    factor: 0.001,
    names: ["millimeter", "millimeters", "millimetre", "millimetres"]
  },
  {
    symbol: "cm",
    kind: "length",
    factor: 0.01,
    names: ["centimeter", "centimeters", "centimetre", "centimetres"]
  },
  { symbol: "m", kind: "length", factor: 1, names: ["meter", "meters", "metre", "metres"] },
  {
    symbol: "km",
    kind: "length",
    factor: 1000,
    names: ["kilometer", "kilometers", "kilometre", "kilometres"]
  },
  { symbol: "in", kind: "length", factor: 0.0254, names: ["inch", "inches"] },
  { symbol: "ft", kind: "length", factor: 0.3048, names: ["foot", "feet"] },
  { symbol: "yd", kind: "length", factor: 0.9144, names: ["yard", "yards"] },
  { symbol: "mi", kind: "length", factor: 1609.344, names: ["mile", "miles"] },
  { symbol: "nmi", kind: "length", factor: 1852, names: ["nautical mile", "nautical miles"] },
  { symbol: "mg", kind: "mass", factor: 1e-6, names: ["milligram", "milligrams"] },
  { symbol: "g", kind: "mass", factor: 0.001, names: ["gram", "grams"] },
  { symbol: "kg", kind: "mass", factor: 1, names: ["kilogram", "kilograms", "kilo", "kilos"] },
  { symbol: "t", kind: "mass", factor: 1000, names: ["tonne", "tonnes", "metric ton", "metric tons"] },
  { symbol: "oz", kind: "mass", factor: 0.028349523125, names: ["ounce", "ounces"] },
  { symbol: "lb", kind: "mass", factor: 0.45359237, names: ["lbs", "pound", "pounds"] },
  { symbol: "st", kind: "mass", factor: 6.35029318, names: ["stone", "stones"] },
  {
    symbol: "°C",
    kind: "temperature",
    factor: 1,
    offset: 273.15,
    names: ["celsius", "centigrade", "degc", "°c"]
  },
  {
    symbol: "°F",
    kind: "temperature",
    factor: 5 / 9,
    offset: 273.15 - (32 * 5) / 9,
    names: ["fahrenheit", "degf", "°f"]
  },
  { symbol: "K", kind: "temperature", factor: 1, offset: 0, names: ["kelvin", "kelvins"] },
  {
    symbol: "ml",
    kind: "volume",
    factor: 0.001,
    names: ["milliliter", "milliliters", "millilitre", "millilitres"]
  },
  { symbol: "l", kind: "volume", factor: 1, names: ["liter", "liters", "litre", "litres"] },
  {
    symbol: "m³",
    kind: "volume",
    factor: 1000,
    names: ["cubic meter", "cubic meters", "cubic metre", "cubic metres"]
  },
  { symbol: "tsp", kind: "volume", factor: 0.00492892159375, names: ["teaspoon", "teaspoons"] },
  { symbol: "tbsp", kind: "volume", factor: 0.01478676478125, names: ["tablespoon", "tablespoons"] },
  { symbol: "fl oz", kind: "volume", factor: 0.0295735295625, names: ["fluid ounce", "fluid ounces"] },
  { symbol: "cup", kind: "volume", factor: 0.2365882365, names: ["cups"] },
  { symbol: "pt", kind: "volume", factor: 0.473176473, names: ["pint", "pints"] },
  { symbol: "qt", kind: "volume", factor: 0.946352946, names: ["quart", "quarts"] },
  { symbol: "gal", kind: "volume", factor: 3.785411784, names: ["gallon", "gallons"] },
  { symbol: "ms", kind: "time", factor: 0.001, names: ["millisecond", "milliseconds"] },
  { symbol: "s", kind: "time", factor: 1, names: ["sec", "secs", "second", "seconds"] },
  { symbol: "min", kind: "time", factor: 60, names: ["mins", "minute", "minutes"] },
  { symbol: "h", kind: "time", factor: 3600, names: ["hr", "hrs", "hour", "hours"] },
  { symbol: "day", kind: "time", factor: 86400, names: ["days"] },
  { symbol: "week", kind: "time", factor: 604800, names: ["weeks", "wk", "wks"] },
  { symbol: "year", kind: "time", factor: 31557600, names: ["years", "yr", "yrs"] }
]

const BY_NAME = new Map<string, UnitDefinition>()
for (const unit of DEFINITIONS) {
  for (const name of [unit.symbol, ...unit.names]) BY_NAME.set(name.toLowerCase(), unit)
}

/** Every spelling the converter accepts (symbols and names), as the tool's enum. */
export const UNIT_NAMES: ReadonlyArray<string> = [
  ...new Set(DEFINITIONS.flatMap((unit) => [unit.symbol, ...unit.names]))
]

/** The unit a spelling names, case-insensitively ("KM", "Kilometres"). */
export const lookupUnit = (name: string): UnitDefinition | undefined =>
  BY_NAME.get(name.trim().toLowerCase().replace(/\s+/g, " ")) ?? BY_NAME.get(name.trim())

export interface Conversion {
  readonly value: number
  readonly from: string
  readonly result: number
  readonly to: string
}

/** A number with at most `digits` significant digits, without trailing zeros: 3.10686, 1000000, 0.000621371. */
export const formatNumber = (n: number, digits = 6): string => {
  if (n === 0) return "0"
  const abs = Math.abs(n)
  if (abs >= 1e15 || abs < 1e-6) return n.toExponential(digits - 1).replace(/\.?0+e/, "e")
  return String(Number(n.toPrecision(digits)))
}

/**
 * Converts `value` from one unit to another. Fails with `UnknownUnit` for a
 * spelling it does not know and `IncompatibleUnits` across kinds of quantity.
 */
export const convert = (value: number, from: string, to: string): Effect.Effect<Conversion, ToolError> => {
  const source = lookupUnit(from)
  if (source === undefined) return Effect.fail(toolError(new UnknownUnit({ unit: from })))
  const target = lookupUnit(to)
  if (target === undefined) return Effect.fail(toolError(new UnknownUnit({ unit: to })))
  if (source.kind !== target.kind) {
    return Effect.fail(
      toolError(
        new IncompatibleUnits({
          from: source.symbol,
          fromKind: source.kind,
          to: target.symbol,
          toKind: target.kind
        })
      )
    )
  }
  const base = value * source.factor + (source.offset ?? 0)
  // 12 significant digits: the factors' floating-point noise (211.99999999999997 °F) goes, precision stays.
  const result = Number(((base - (target.offset ?? 0)) / target.factor).toPrecision(12))
  return Effect.succeed({ value, from: source.symbol, result, to: target.symbol })
}

/** A conversion as a person reads it: `5 km = 3.10686 mi`. */
export const describeConversion = (c: Conversion): string =>
  `${formatNumber(c.value)} ${c.from} = ${formatNumber(c.result)} ${c.to}`

export const Unit = Schema.Literals(UNIT_NAMES as [string, ...Array<string>])

export const Conversion = Schema.Struct({
  value: Schema.Number,
  from: Schema.String,
  result: Schema.Number,
  to: Schema.String
})

export const ConvertUnits = Tool.make("convert_units", {
  description:
    "Convert a quantity from one unit to another: length (mm, cm, m, km, in, ft, yd, mi), mass (mg, g, kg, t, " +
    "oz, lb, st), temperature (°C, °F, K), volume (ml, l, tsp, tbsp, fl oz, cup, pt, qt, gal) or time (ms, s, " +
    "min, h, day, week, year).",
  parameters: Schema.Struct({
    value: Schema.Finite.annotate({ description: "the amount to convert" }),
    from: Unit.annotate({ description: "the unit the amount is in" }),
    to: Unit.annotate({ description: "the unit wanted" })
  }),
  success: Conversion,
  failure: ToolError,
  failureMode: "return",
  toModelOutput: (conversion) => [Prompt.makePart("text", { text: describeConversion(conversion) })]
})

/** The converter's handler, for a toolkit layer. */
export const convertUnits = (params: {
  readonly value: number
  readonly from: string
  readonly to: string
}) => convert(params.value, params.from, params.to)
