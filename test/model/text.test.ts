/**
 * The Local model's text analysis: sentence splitting (markdown openers,
 * abbreviations) and content terms (stop words).
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import {
  CUES,
  cueTexts,
  hasAnswerKind,
  isFamily,
  isLightTerm,
  leadingWords,
  questionCue,
  readingWords,
  readingWordsTryingEveryPhrase,
  sentences,
  stem,
  synonymsOf as synonymsOfTerm,
  words,
  terms
} from "../../src/model/internal/text.ts"

describe("sentences", () => {
  it("ends a sentence before one that opens with inline code, whatever its case", () => {
    assert.deepStrictEqual(
      sentences("A step is a named Effect. `Step.make` runs one step. `effect` is the work it does."),
      ["A step is a named Effect.", "`Step.make` runs one step.", "`effect` is the work it does."]
    )
  })

  it("ends a sentence before an emphasised one, and after one that closes its emphasis", () => {
    assert.deepStrictEqual(sentences("Budgets are checked first. **Note:** a retry counts as a call."), [
      "Budgets are checked first.",
      "**Note:** a retry counts as a call."
    ])
    assert.deepStrictEqual(sentences("Steps retry. _Timeouts_ apply per attempt."), [
      "Steps retry.",
      "_Timeouts_ apply per attempt."
    ])
    assert.deepStrictEqual(sentences("*Never skip the check.* Then call the model."), [
      "*Never skip the check.*",
      "Then call the model."
    ])
  })

  it("keeps abbreviations and initials before code or emphasis inside one sentence", () => {
    assert.deepStrictEqual(sentences("Pass a policy, e.g. `{ retry }`, to the step. Then run it."), [
      "Pass a policy, e.g. `{ retry }`, to the step.",
      "Then run it."
    ])
    assert.deepStrictEqual(sentences("Wrap the effect, i.e. *Step* it. Ask Dr. `Smith` or J. *Doe* first."), [
      "Wrap the effect, i.e. *Step* it.",
      "Ask Dr. `Smith` or J. *Doe* first."
    ])
    assert.deepStrictEqual(sentences("Use a schedule (e.g.) `Schedule.recurs` here."), [
      "Use a schedule (e.g.) `Schedule.recurs` here."
    ])
  })

  it("does not split on a list marker or a lowercase word after a full stop", () => {
    assert.deepStrictEqual(sentences("It costs 2 vs. 3 calls. see the table."), [
      "It costs 2 vs. 3 calls. see the table."
    ])
  })
})

describe("terms", () => {
  it("reads irregular forms, phrasal verbs and one-letter prefixes as the word they stand for", () => {
    assert.deepStrictEqual(terms("children paid"), terms("child pay"))
    assert.deepStrictEqual(terms("get my money back"), terms("get my refund"))
    assert.deepStrictEqual(terms("unused days roll over"), terms("unused days carry"))
    assert.deepStrictEqual(terms("e-books"), ["ebook"])
    // A particle that is not part of a phrasal verb stays a separate word, or none.
    assert.deepStrictEqual(terms("back pain"), [stem("back"), stem("pain")])
  })

  it("keeps the RAG vocabulary users ask about as content terms", () => {
    assert.deepStrictEqual(
      terms("How does Weft check citations against sources?"),
      ["weft", "check", "citations", "sources"].map(stem)
    )
    const asked = new Set(terms("Which answer cites the passage, and what is the question's context?"))
    for (const word of ["answer", "cite", "passage", "question", "context"])
      assert.isTrue(asked.has(stem(word)), word)
  })

  it("still drops function words and the instruction verbs around a question", () => {
    assert.deepStrictEqual(terms("Briefly explain, based on the following, how to use the budget"), [
      "budget"
    ])
  })
})

describe("word families and question cues", () => {
  it("runs a cue's pattern only on text holding a question word it needs, and none matches without one", () => {
    // Every question of the answers bench, and a few of each cue, read as questionCue reads them.
    const root = fileURLToPath(new URL("../../bench/data/answers/", import.meta.url))
    const questions: Array<string> = [
      "Who approves my leave?",
      "Whom should I contact about parking?",
      "Which manager signs off expenses?",
      "What time does the office open?",
      "Until when can I cancel, and when does it end?",
      "What's the latest I can book?",
      "What is the phone number for IT?",
      "Within what timeframe must I report it?",
      "What is the minimum age to join?",
      "What does a parking permit cost?",
      "For how many days is it valid?"
    ]
    const walk = (folder: string) => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        const path = join(folder, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (entry.name.endsWith(".json"))
          for (const item of JSON.parse(readFileSync(path, "utf8")) as Array<{ question: string }>)
            questions.push(item.question)
      }
    }
    walk(root)
    assert.isAbove(questions.length, 900)
    const matched = new Set<number>()
    for (const question of questions) {
      const { text, whole } = cueTexts(question)
      CUES.forEach(({ pattern, whole: readsWhole, needs }, i) => {
        const read = readsWhole === true ? whole : text
        if (pattern.exec(read) === null) return
        matched.add(i)
        assert.isTrue(
          needs.some((word) => read.includes(word)),
          `${pattern.source} matched ${JSON.stringify(read)}`
        )
      })
    }
    // Each cue was seen to match, so each was checked.
    assert.strictEqual(matched.size, CUES.length)
  })

  it("reads negated irregular forms, -ble/-bility and set phrases", () => {
    assert.deepStrictEqual(terms("unpaid"), [`un${stem("pay")}`])
    assert.isTrue(isFamily(stem("eligible"), stem("eligibility")))
    assert.isTrue(isFamily(stem("unused"), stem("used")))
    assert.isFalse(isFamily(stem("unit"), stem("it")))
    assert.deepStrictEqual(terms("bank holidays"), terms("public holidays"))
  })

  it("reads a question asking how to do something as asking for a procedure", () => {
    for (const question of [
      "How can I become a fire warden?",
      "How do I request a career break?",
      "What should I do if I lose my badge?",
      "I am locked out; what should I do?"
    ]) {
      assert.strictEqual(questionCue(question)?.kind, "procedure", question)
    }
    assert.strictEqual(questionCue("How long does a repair take?")?.kind, "duration")
    // A question that sets the scene first is read in the sentence that asks.
    assert.strictEqual(
      questionCue("My grandmother died yesterday. How many days off do I get?")?.kind,
      "quantity"
    )
    assert.strictEqual(questionCue("I have a bad cold. Who do I call?")?.kind, "person")
    assert.isUndefined(questionCue("Is the lunch break paid?"))
  })

  it("finds a step to take in an instruction, a modal and a verb of applying, or a channel", () => {
    assert.isTrue(hasAnswerKind("Apply to your line manager four months ahead.", "procedure"))
    assert.isTrue(hasAnswerKind("Volunteers can sign up with the facilities team.", "procedure"))
    assert.isTrue(hasAnswerKind("If you lose it, report it to security at once.", "procedure"))
    assert.isTrue(hasAnswerKind("Payment is by badge only.", "procedure"))
    assert.isTrue(hasAnswerKind("Requests go through the IT portal.", "procedure"))
    assert.isFalse(hasAnswerKind("Fire wardens check each floor twice a year.", "procedure"))
  })

  it("reads a number as a time only as a clock time, a date or a span after a preposition", () => {
    assert.isTrue(hasAnswerKind("Overtime is paid with the following month's salary.", "time"))
    assert.isTrue(hasAnswerKind("The leave year starts on 1 April.", "time"))
    assert.isTrue(hasAnswerKind("Claims must be sent within 90 days of treatment.", "time"))
    assert.isTrue(hasAnswerKind("Lunch is served until 14:00.", "time"))
    assert.isFalse(hasAnswerKind("Overtime is paid at 1.5 times the normal hourly rate.", "time"))
    assert.isFalse(hasAnswerKind("Up to five unused days may be carried over.", "time"))
    assert.strictEqual(questionCue("How big is the referral bonus?")?.kind, "quantity")
  })

  it("reads the verb of turning to someone as part of a 'who' cue, not as the topic", () => {
    assert.deepStrictEqual(questionCue("Who do I contact to book the Atrium?"), {
      kind: "person",
      cueWords: ["contact"]
    })
    assert.deepStrictEqual(questionCue("Who approves a booking?"), { kind: "person", cueWords: [] })
  })

  it("keeps 'age' as what an age question is about, not a cue word to drop", () => {
    assert.deepStrictEqual(questionCue("What is the age limit for the nursery?"), {
      kind: "quantity",
      cueWords: []
    })
    assert.deepStrictEqual(questionCue("What is the price of a day pass?")?.cueWords, ["price"])
  })

  it("reads 'how much is the fee' as asking for an amount of money, which a share of it is not", () => {
    assert.strictEqual(questionCue("How much is the monthly nursery fee?")?.kind, "money")
    assert.isTrue(hasAnswerKind("The monthly membership costs 39 euros.", "money"))
    assert.isTrue(hasAnswerKind("Check-ups are free of charge.", "money"))
    assert.isFalse(hasAnswerKind("The company pays half of the nursery fee; the rest is deducted.", "money"))
  })

  it("reads a contraction as its two words, so 'don't' meets 'do not'", () => {
    assert.deepStrictEqual(words("I don't want, you can’t go, we'll see, the company's car"), [
      "i",
      "do",
      "not",
      "want",
      "you",
      "can",
      "not",
      "go",
      "we",
      "will",
      "see",
      "the",
      "company",
      "car"
    ])
  })
})

describe("readingWords", () => {
  it("reads a set phrase as the word a text uses instead", () => {
    assert.deepStrictEqual(readingWords("Can I cancel without paying?"), ["can", "i", "cancel", "free"])
    assert.deepStrictEqual(readingWords("Rooms are free of charge"), ["rooms", "are", "free"])
    assert.deepStrictEqual(readingWords("at no extra cost"), ["free"])
    assert.deepStrictEqual(readingWords("Are extra hours paid?"), ["are", "overtime", "paid"])
    assert.deepStrictEqual(readingWords("if I am let go"), ["if", "i", "am", "dismissed"])
    assert.deepStrictEqual(readingWords("when the budget runs out"), ["when", "the", "budget", "exhausted"])
    assert.deepStrictEqual(readingWords("once leave is used up"), ["once", "leave", "is", "exhausted"])
    assert.deepStrictEqual(readingWords("How much can I put aside?"), ["how", "much", "can", "i", "save"])
    // A phrasal verb with its object between its two words.
    assert.deepStrictEqual(readingWords("hand my badge back"), ["return", "my", "badge"])
    assert.deepStrictEqual(readingWords("pay anything back"), ["reimburse", "anything"])
    // "towards" is a preposition, not a topic word.
    assert.deepStrictEqual(terms("money towards washing"), terms("money washing"))
    assert.deepStrictEqual(readingWords("staff laid off"), ["staff", "dismissed"])
    // An age as a compound: the person and the number, not a span of years.
    assert.deepStrictEqual(readingWords("my two-year-old at the pool"), [
      "my",
      "child",
      "two",
      "at",
      "the",
      "pool"
    ])
    assert.deepStrictEqual(readingWords("a 17-year-old son"), ["a", "son", "17"])
    assert.deepStrictEqual(readingWords("when I move house"), ["when", "i", "relocate"])
    assert.deepStrictEqual(readingWords("time off to give blood"), ["leave", "to", "donate", "blood"])
    assert.deepStrictEqual(readingWords("my husband as well"), ["my", "husband", "too"])
    assert.deepStrictEqual(readingWords("staff as well as visitors"), ["staff", "and", "visitors"])
  })

  it("reads an inflection as its base where the stemmer would part them", () => {
    for (const [form, base] of [
      ["died", "die"],
      ["dying", "die"],
      ["tried", "try"],
      ["flies", "fly"],
      ["exceeded", "exceed"],
      ["proceeding", "proceed"]
    ] as const)
      assert.deepStrictEqual(terms(form), terms(base), form)
    // A number written out meets its digits; "one" stays a word ("no one").
    assert.deepStrictEqual(terms("twenty years"), terms("20 years"))
    assert.deepStrictEqual(terms("ten"), ["10"])
    assert.notDeepEqual(terms("no one came"), terms("no 1 came"))
    // "died" meets "death" through the thesaurus, as "die" does.
    assert.isTrue(synonymsOfTerm(terms("died")[0]!).has(terms("death")[0]!))
  })

  it("reads a superlative as saying how much is asked for, not what about", () => {
    for (const word of ["longest", "latest", "cheapest", "earliest"])
      assert.isTrue(isLightTerm(terms(word)[0]!), word)
    assert.isFalse(isLightTerm(terms("secondment")[0]!))
  })

  it("leaves the words alone outside the phrase", () => {
    // "let" without "go" is a verb of permission; "hours" without "extra" is a measure.
    assert.deepStrictEqual(readingWords("Can I let a colleague in?"), [
      "can",
      "i",
      "let",
      "a",
      "colleague",
      "in"
    ])
    assert.deepStrictEqual(readingWords("Opening hours are long"), ["opening", "hours", "are", "long"])
  })

  it("knows which words a phrase can start with, or says it cannot tell", () => {
    assert.deepStrictEqual(leadingWords(String.raw`\bmoney back\b`), ["money"])
    assert.deepStrictEqual(leadingWords(String.raw`\b(pay|paid) back\b`), ["pay", "paid"])
    assert.deepStrictEqual(leadingWords(String.raw`\b(out of stock|sold out)\b`), ["out", "sold"])
    assert.deepStrictEqual(leadingWords(String.raw`\bdays? off\b`), ["day", "days"])
    assert.deepStrictEqual(leadingWords(String.raw`\b(didn['’]t|not) show\b`), ["didn", "not"])
    // An optional group, a quantified word, or something other than words: any text is tried.
    assert.isUndefined(leadingWords(String.raw`\b(very )?late\b`))
    assert.isUndefined(leadingWords(String.raw`\b(pay|paid)? back\b`))
    assert.isUndefined(leadingWords(String.raw`\bre+fund\b`))
    assert.isUndefined(leadingWords(String.raw`\b\w+ back\b`))
  })

  it("reads every text as trying every phrase would, phrases made by earlier ones included", () => {
    const texts = [
      "Can I take time off when my mother-in-law passes away?",
      "If I'm let go, do I get my money back, or must I pay the advance back?",
      "Staff who don't show up for a shift, or WFH without asking, will hear back within a fortnight.",
      "A day off. Days off. DAYS OFF in capitals, and an e-mail about check-in.",
      "Nothing here is a phrase at all.",
      // A phrase's replacement starting another: "rolled over" → "carry", then "carry out".
      "Leave rolled over out of season, and sent without payment of charge.",
      "Hand my uniform back; give them in; carry it forward; log in; sign-up; opt-in."
    ]
    for (const text of texts)
      assert.deepStrictEqual(readingWords(text), readingWordsTryingEveryPhrase(text), text)
  })

  it("reads the answers bench's questions and documents as trying every phrase would", () => {
    const root = fileURLToPath(new URL("../../bench/data/answers/", import.meta.url))
    const texts: Array<string> = []
    const walk = (folder: string) => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        const path = join(folder, entry.name)
        if (entry.isDirectory()) walk(path)
        else texts.push(...readFileSync(path, "utf8").split(/\n|(?<=[.!?])\s+/))
      }
    }
    walk(root)
    assert.isAbove(texts.length, 2_000)
    for (const text of texts)
      assert.deepStrictEqual(readingWords(text), readingWordsTryingEveryPhrase(text), text)
  })
})
