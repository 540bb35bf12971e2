/**
 * A calculator for the example agents that never runs code: a small
 * recursive-descent parser over numbers, `+ - * / ^` (also `×` `÷`),
 * parentheses, unary minus, the constants `pi` and `e`, and the functions
 * `sqrt abs round floor ceil ln log exp sin cos tan min max`. `evaluate` is the
 * plain function; `Calculate` is the effect/ai Tool an agent calls. Bad input
 * is a typed `ToolError` (`InvalidExpression` with the position,
 * `DivisionByZero`, `OutOfDomain`), never a throw and never `eval`.
 *
 * Grammar (`^` binds tighter than a unary minus and to the right: -2^2 = -4, 2^3^2 = 512):
 *
 *   expression := term (("+" | "-") term)*
 *   term       := unary (("*" | "/") unary)*
 *   unary      := ("-" | "+") unary | power
 *   power      := primary ("^" unary)?
 *   primary    := number | name | name "(" expression ("," expression)* ")" | "(" expression ")"
 */
import { Effect, Schema } from "effect"
import { Prompt, Tool } from "effect/ai"
import { DivisionByZero, InvalidExpression, OutOfDomain, ToolError, toolError } from "./ToolError.ts"
import { formatNumber } from "./units.ts"

/** Longer expressions are refused (a bound on the work one call does). */
export const MAX_LENGTH = 1000
/** Deeper nesting is refused (a bound on the parser's recursion). */
export const MAX_DEPTH = 64

type Token =
  | { readonly type: "number"; readonly value: number; readonly at: number }
  | { readonly type: "name"; readonly name: string; readonly at: number }
  | { readonly type: "op"; readonly op: "+" | "-" | "*" | "/" | "^" | "(" | ")" | ","; readonly at: number }
  | { readonly type: "end"; readonly at: number }

const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E }

interface Fn {
  readonly arity: number | "many"
  readonly apply: (args: ReadonlyArray<number>) => number
  /** Why the arguments are outside the function's domain, if they are. */
  readonly domain?: (args: ReadonlyArray<number>) => string | undefined
}

const FUNCTIONS: Record<string, Fn> = {
  sqrt: {
    arity: 1,
    apply: ([x]) => Math.sqrt(x!),
    domain: ([x]) => (x! < 0 ? "the square root of a negative number" : undefined)
  },
  abs: { arity: 1, apply: ([x]) => Math.abs(x!) },
  round: { arity: 1, apply: ([x]) => Math.round(x!) },
  floor: { arity: 1, apply: ([x]) => Math.floor(x!) },
  ceil: { arity: 1, apply: ([x]) => Math.ceil(x!) },
  ln: {
    arity: 1,
    apply: ([x]) => Math.log(x!),
    domain: ([x]) => (x! <= 0 ? "the logarithm of a number ≤ 0" : undefined)
  },
  log: {
    arity: 1,
    apply: ([x]) => Math.log10(x!),
    domain: ([x]) => (x! <= 0 ? "the logarithm of a number ≤ 0" : undefined)
  },
  exp: { arity: 1, apply: ([x]) => Math.exp(x!) },
  sin: { arity: 1, apply: ([x]) => Math.sin(x!) },
  cos: { arity: 1, apply: ([x]) => Math.cos(x!) },
  tan: { arity: 1, apply: ([x]) => Math.tan(x!) },
  min: { arity: "many", apply: (args) => Math.min(...args) },
  max: { arity: "many", apply: (args) => Math.max(...args) }
}

class Failure {
  readonly reason: InvalidExpression | DivisionByZero | OutOfDomain
  constructor(reason: InvalidExpression | DivisionByZero | OutOfDomain) {
    this.reason = reason
  }
}

const tokenize = (expression: string): Array<Token> => {
  const tokens: Array<Token> = []
  const invalid = (at: number, description: string) =>
    new Failure(new InvalidExpression({ expression, position: at, description }))
  let i = 0
  while (i < expression.length) {
    const char = expression[i]!
    if (/\s/.test(char)) {
      i++
      continue
    }
    const number = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(expression.slice(i))
    if (number !== null) {
      tokens.push({ type: "number", value: Number(number[0]), at: i })
      i += number[0].length
      continue
    }
    const name = /^[A-Za-z_][A-Za-z_0-9]*/.exec(expression.slice(i))
    if (name !== null) {
      tokens.push({ type: "name", name: name[0].toLowerCase(), at: i })
      i += name[0].length
      continue
    }
    const op = char === "×" ? "*" : char === "÷" ? "/" : char === "−" ? "-" : char
    if (
      op === "+" ||
      op === "-" ||
      op === "*" ||
      op === "/" ||
      op === "^" ||
      op === "(" ||
      op === ")" ||
      op === ","
    ) {
      tokens.push({ type: "op", op, at: i })
      i++
      continue
    }
    throw invalid(i, `unexpected character "${char}"`)
  }
  tokens.push({ type: "end", at: expression.length })
  return tokens
}

const parse = (expression: string): number => {
  const tokens = tokenize(expression)
  let next = 0
  let depth = 0
  const peek = (): Token => tokens[next]!
  const invalid = (token: Token, description: string) =>
    new Failure(new InvalidExpression({ expression, position: token.at, description }))
  const isOp = (token: Token, op: string): boolean => token.type === "op" && token.op === op
  const finite = (value: number, token: Token): number => {
    if (!Number.isFinite(value))
      throw new Failure(
        new OutOfDomain({
          expression,
          description: `a result too large to represent at position ${token.at + 1}`
        })
      )
    return value
  }
  const describe = (token: Token): string =>
    token.type === "end"
      ? "the expression ends too early"
      : `unexpected "${token.type === "number" ? token.value : token.type === "name" ? token.name : token.op}"`

  const parseExpression = (): number => {
    if (++depth > MAX_DEPTH) throw invalid(peek(), `nesting deeper than ${MAX_DEPTH}`)
    let value = parseTerm()
    for (;;) {
      const token = peek()
      if (isOp(token, "+")) {
        next++
        value = finite(value + parseTerm(), token)
      } else if (isOp(token, "-")) {
        next++
        value = finite(value - parseTerm(), token)
      } else break
    }
    depth--
    return value
  }
  const parseTerm = (): number => {
    let value = parseUnary()
    for (;;) {
      const token = peek()
      if (isOp(token, "*")) {
        next++
        value = finite(value * parseUnary(), token)
      } else if (isOp(token, "/")) {
        next++
        const divisor = parseUnary()
        if (divisor === 0) throw new Failure(new DivisionByZero({ expression }))
        value = finite(value / divisor, token)
      } else break
    }
    return value
  }
  const parseUnary = (): number => {
    const token = peek()
    if (isOp(token, "-") || isOp(token, "+")) {
      if (++depth > MAX_DEPTH) throw invalid(token, `nesting deeper than ${MAX_DEPTH}`)
      next++
      const operand = parseUnary()
      depth--
      return isOp(token, "-") ? -operand : operand
    }
    return parsePower()
  }
  const parsePower = (): number => {
    const base = parsePrimary()
    const token = peek()
    if (!isOp(token, "^")) return base
    next++
    if (++depth > MAX_DEPTH) throw invalid(token, `nesting deeper than ${MAX_DEPTH}`)
    const exponent = parseUnary()
    depth--
    const value = base ** exponent
    if (Number.isNaN(value))
      throw new Failure(
        new OutOfDomain({ expression, description: "a negative number raised to a fractional power" })
      )
    return finite(value, token)
  }
  const parsePrimary = (): number => {
    const token = peek()
    if (token.type === "number") {
      next++
      return token.value
    }
    if (isOp(token, "(")) {
      next++
      const value = parseExpression()
      if (!isOp(peek(), ")")) throw invalid(peek(), `expected ")" (${describe(peek())})`)
      next++
      return value
    }
    if (token.type === "name") {
      next++
      const fn = FUNCTIONS[token.name]
      if (fn === undefined) {
        const constant = CONSTANTS[token.name]
        if (constant === undefined) throw invalid(token, `unknown name "${token.name}"`)
        return constant
      }
      if (!isOp(peek(), "(")) throw invalid(peek(), `expected "(" after ${token.name}`)
      next++
      const args = [parseExpression()]
      while (isOp(peek(), ",")) {
        next++
        args.push(parseExpression())
      }
      if (!isOp(peek(), ")")) throw invalid(peek(), `expected ")" (${describe(peek())})`)
      next++
      if (fn.arity !== "many" && args.length !== fn.arity)
        throw invalid(
          token,
          `${token.name} takes ${fn.arity} argument${fn.arity === 1 ? "" : "s"}, got ${args.length}`
        )
      const outside = fn.domain?.(args)
      if (outside !== undefined) throw new Failure(new OutOfDomain({ expression, description: outside }))
      return finite(fn.apply(args), token)
    }
    throw invalid(token, describe(token))
  }

  if (peek().type === "end") throw invalid(peek(), "the expression is empty")
  const value = parseExpression()
  if (peek().type !== "end") throw invalid(peek(), describe(peek()))
  return value
}

/**
 * The value of an arithmetic expression. Fails with `InvalidExpression` (with
 * the position) for text that does not parse, an unknown name, a wrong number
 * of arguments or an expression over `MAX_LENGTH` characters or `MAX_DEPTH`
 * deep; `DivisionByZero`; `OutOfDomain` for `sqrt(-1)`, `ln(0)` or a result too
 * large for a double.
 */
export const evaluate = (expression: string): Effect.Effect<number, ToolError> =>
  Effect.suspend(() => {
    if (expression.length > MAX_LENGTH) {
      return Effect.fail(
        toolError(
          new InvalidExpression({
            expression: `${expression.slice(0, 40)}…`,
            position: MAX_LENGTH,
            description: `longer than ${MAX_LENGTH} characters`
          })
        )
      )
    }
    try {
      return Effect.succeed(parse(expression))
    } catch (error) {
      // `parse` throws only its own Failure; anything else is a defect.
      if (error instanceof Failure) return Effect.fail(toolError(error.reason))
      return Effect.die(error)
    }
  })

export const Calculation = Schema.Struct({ expression: Schema.String, value: Schema.Number })

export const Calculate = Tool.make("calculate", {
  description:
    "Calculate or evaluate an arithmetic expression exactly as written: numbers, + - * / ^ (power), " +
    "parentheses, the constants pi and e, and the functions sqrt, abs, round, floor, ceil, ln, log, exp, sin, " +
    "cos, tan, min and max.",
  parameters: Schema.Struct({
    expression: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(MAX_LENGTH)).annotate({
      description: "the arithmetic expression, e.g. 2 * (3 + 4) ^ 2"
    })
  }),
  success: Calculation,
  failure: ToolError,
  failureMode: "return",
  toModelOutput: (calculation) => [
    Prompt.makePart("text", { text: `${calculation.expression} = ${formatNumber(calculation.value, 12)}` })
  ]
})

/** The calculator's handler, for a toolkit layer. */
export const calculate = (params: { readonly expression: string }) =>
  Effect.map(evaluate(params.expression), (value) => ({ expression: params.expression, value }))
