/**
 * The Local model's text mode: find the question and the passages in a
 * prompt, and answer with the passage sentences that answer it, each cited —
 * or decline with `UNANSWERED` when the passages do not cover what it asks.
 *
 * Each question content term is weighted by its rarity among the passages'
 * sentences (idf; light words of general English weigh less) and matched as
 * itself, a word of its family or an everyday synonym (`text/Synonyms`), each
 * counting less in turn. A sentence is scored by the weighted share of the
 * question it holds (terms in its section's heading count as its own, the
 * rest of its passage less), lowered when the question asks for a kind of
 * answer — a number, a span, a date, a step to take — the sentence lacks. The passages are
 * taken to answer only when the best sentence holds enough of the whole
 * question's weight (terms no passage holds count against it), the
 * question's topic words are ones they name, and the best sentence's passage
 * holds each of the question's topic phrases ("sick days") whole. The
 * answer is the best sentence, the sentences that answer what it leaves open,
 * and its neighbour when that continues it. Everything here is a pure
 * function of the prompt.
 */
import { Effect } from "effect"
import type { Prompt } from "effect/ai"
import {
  cite,
  type ParsedPassage,
  parsePassages,
  UNANSWERED,
  withoutCitations,
  withoutPassages
} from "../PassageFormat.ts"
import { countText, cutToTokens, messageText } from "../../text/Tokens.ts"
import {
  askedSentence,
  hasAnswerKind,
  isFamily,
  isLightTerm,
  type QuestionCue,
  questionCue,
  readingWords,
  roleAsked,
  sentences,
  stem,
  synonymsOf,
  terms
} from "./text.ts"

/** The reply when the passages do not cover what the question asks for. */
export const NO_ANSWER = UNANSWERED

/** The reply when the prompt carries no passages at all. */
export const NO_PASSAGES = "No passages were provided, so this question cannot be answered."

/** At most this many sentences make an answer. */
const MAX_SENTENCES = 3
/** At most this many of the top-ranked sentences are tried as the answer, in rank order… */
const MAX_TRIED = 2
/** …each scoring at least this share of the top one. */
const MIN_TRIED_SCORE = 0.7
/** A sentence from another document replaces a top one about another topic when it scores this share of it. */
const MIN_SWITCH_SCORE = 0.7
/** A further sentence must score at least this share of the best one. */
const MIN_RELATIVE_SCORE = 0.5

/**
 * A computation in steps: it pauses (`yield`) between slices of work, so a
 * caller can let other work run — an interrupt, say — while a prompt of a
 * thousand passages is read (see `answerInSlices`). `run` takes it to its end at once.
 */
type Steps<A> = Generator<void, A, void>

/** Runs a computation in steps to its end, without pausing. */
const run = <A>(steps: Steps<A>): A => {
  for (;;) {
    const next = steps.next()
    if (next.done === true) return next.value
  }
}

/** Vocabulary terms compared with a question term between two pauses. */
const VOCABULARY_SLICE = 2048
/** Sentences scored between two pauses. */
const SENTENCE_SLICE = 512

export interface Request {
  readonly passages: ReadonlyArray<ParsedPassage>
  readonly question: string
}

const QUESTION_LABEL = /(?:^|\n)[ \t]*(?:\*\*)?question(?:\*\*)?[ \t]*:[ \t]*/gi

/** The text after the last `Question:` label, up to a blank line or an `Answer:` label. */
const labelledQuestion = (text: string): string | undefined => {
  let last: RegExpExecArray | undefined
  for (const match of text.matchAll(QUESTION_LABEL)) last = match
  if (last === undefined) return undefined
  const rest = text.slice(last.index + last[0].length)
  const end = rest.search(/\n\s*\n|\n[ \t]*(?:\*\*)?answer(?:\*\*)?[ \t]*:/i)
  return (end >= 0 ? rest.slice(0, end) : rest).trim()
}

/**
 * Reads the passages and the question out of a prompt.
 *
 * Passages come from the latest user message that has any (else from the
 * system messages). The question is the latest `Question:` label, or the
 * passage message's own text; user messages after it without either are
 * feedback on an earlier answer (a repair turn), so the original question
 * still stands.
 */
export const readRequest = (prompt: Prompt.Prompt): Request => {
  const messages = prompt.content
  let passages: ReadonlyArray<ParsedPassage> = []
  let passageIndex = -1
  let lastUser = -1
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!
    if (message.role !== "user") continue
    if (lastUser < 0) lastUser = i
    const found = parsePassages(messageText(message))
    if (found.length > 0) {
      passages = found
      passageIndex = i
      break
    }
  }
  if (passages.length === 0) {
    for (let i = messages.length - 1; i >= 0 && passages.length === 0; i--) {
      const message = messages[i]!
      if (message.role === "system") passages = parsePassages(message.content)
    }
  }
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!
    if (message.role !== "user") continue
    const text = messageText(message)
    // A `Question:` line inside a passage (a FAQ, say) is not the user's question.
    const labelled = labelledQuestion(withoutPassages(text)) ?? labelledQuestion(text)
    if (labelled !== undefined) return { passages, question: labelled }
    if (i === passageIndex) return { passages, question: withoutPassages(text) }
  }
  const fallback = lastUser >= 0 ? messageText(messages[lastUser]!) : ""
  return { passages, question: fallback.trim() }
}

interface Candidate {
  readonly passage: number
  readonly passageOrder: number
  readonly position: number
  readonly text: string
  readonly terms: ReadonlySet<string>
  /** The content terms of the sentence's passage, its title and its source's name. */
  readonly context: ReadonlySet<string>
  /** The content terms of the passage's title and headings: what its sentences are about. */
  readonly topic: ReadonlySet<string>
  /** The content terms of the passage's title and headings alone. */
  readonly heading: ReadonlySet<string>
  /** The content terms of each passage from the sentence's document. */
  readonly document: ReadonlyArray<ReadonlySet<string>>
  /** Whether the sentence carries the kind of expression the question asks for (a number for "how many"…). */
  readonly hasKind: boolean
  /** The share of the question's weight the sentence holds by itself. */
  own: number
  /** The share of the weight of the question terms the passages hold that the sentence and its passage hold. */
  coverage: number
  score: number
}

/** The question's weighted terms and the passage sentences ranked against them. */
interface Ranking {
  readonly candidates: Array<Candidate>
  /** The share of the question's weight on terms no passage holds. */
  readonly absent: number
  /** Every content term the passages hold. */
  readonly held: ReadonlySet<string>
  /** Each question term's weight, in the order of the question's terms. */
  readonly weights: ReadonlyArray<number>
  /** Each question term's credit against sets of the passages' terms (see `creditWithin`). */
  readonly known: ReadonlyMap<string, (terms: ReadonlySet<string>) => number>
}

/** How much a question term found elsewhere in the sentence's passage counts, against one in the sentence. */
const CONTEXT_CREDIT = 0.5
/** How much a question term found in the title of the sentence's passage counts. */
const TITLE_CREDIT = 0.7
/** How much a term counts when only a word of the same family is present ("approve"/"approval"). */
const FAMILY_CREDIT = 0.7
/** How much a term counts when only an everyday synonym is present ("holiday"/"leave"). */
const SYNONYM_CREDIT = 0.7
/** A light word of general English ("get", "happen", "big") weighs this share of its idf. */
const LIGHT_WEIGHT = 0.3
/** How much each content term of a sentence lowers its score (a tie-breaker between equal coverage). */
const LENGTH_PENALTY = 0.01
/** A sentence without the kind of expression the question asks for keeps this share of its score. */
const WRONG_KIND = 0.6
/** A sentence introducing a list (ending in a colon) keeps this share of its score. */
const LIST_INTRO = 0.6
/** A sentence without a step to take, asked how to do something, keeps this share of its score. */
const NO_PROCEDURE = 0.8

/** The share of its score a sentence keeps for carrying, or lacking, the kind of answer asked for. */
const kindFactor = (hasKind: boolean, cue: QuestionCue | undefined): number =>
  hasKind ? 1 : cue?.kind === "procedure" ? NO_PROCEDURE : WRONG_KIND

/**
 * The passages answer only if some sentence, read with its passage, holds this
 * share of the question's weight (terms no passage holds count against it).
 * Lower than the other rules' bars: a question worded apart from its answer
 * holds little, and what the passages do not say is caught by the rules on
 * topic words and phrases.
 */
const MIN_COVERAGE = 0.35
/** A further sentence must cover this share of the question by itself, and add a term the others lack… */
const MIN_EXTRA_COVERAGE = 0.25
/** …and hold this share of the weight of the question terms the chosen sentences lack… */
const MIN_SHARE_OF_OPEN = 0.3
/** …or, from a passage no chosen sentence is from, this share of the question by itself. */
const MIN_OTHER_PASSAGE_COVERAGE = 0.45
/** The sentence after the best one joins when it holds a topic word of the question and this share of it. */
const MIN_NEIGHBOUR_COVERAGE = 0.35
/** A sentence of the best one's passage scoring this share of it joins as a close rival. */
const RIVAL_SCORE = 0.6

/**
 * Whether two terms may be of one family at all: they start alike, one ends
 * with the other (a compound) or one is negated ("un-"). A cheap test before `isFamily`.
 */
const mayBeFamily = (a: string, b: string): boolean =>
  a[0] === b[0] || a.startsWith("un") || b.startsWith("un") || a.endsWith(b) || b.endsWith(a)

/** Whether `other` is an everyday synonym of `term`, or of that synonym's family. */
const isSynonym = (term: string, other: string): boolean => {
  for (const synonym of synonymsOf(term)) {
    if (synonym === other || (mayBeFamily(synonym, other) && isFamily(synonym, other))) return true
  }
  return false
}

/**
 * `credit` for one question term against many sets, with the term's family
 * and synonyms among the passages' words found once rather than for every set.
 */
function* creditOf(
  term: string,
  vocabulary: ReadonlySet<string>
): Steps<(terms: ReadonlySet<string>) => number> {
  const same: Array<string> = []
  const family: Array<string> = []
  const synonyms: Array<string> = []
  let seen = 0
  for (const other of vocabulary) {
    if (++seen % VOCABULARY_SLICE === 0) yield
    if (other === term) continue
    // A negated form ("unpaid" for "paid", "unused" for "used") speaks of the very thing asked:
    // whether it holds is what a yes/no question wants to know.
    if (other === `un${term}` || term === `un${other}`) same.push(other)
    else if (mayBeFamily(term, other) && isFamily(term, other)) family.push(other)
    else if (isSynonym(term, other)) synonyms.push(other)
  }
  return (terms: ReadonlySet<string>): number =>
    terms.has(term) || same.some((other) => terms.has(other))
      ? 1
      : family.some((other) => terms.has(other))
        ? FAMILY_CREDIT
        : synonyms.some((other) => terms.has(other))
          ? SYNONYM_CREDIT
          : 0
}

/** How well a set of terms holds a question term: 1 for the term, less for its family or a synonym, else 0. */
type Credit = (term: string, terms: ReadonlySet<string>) => number

/**
 * `Credit` against sets drawn from one vocabulary (the passages' terms), each
 * term's family and synonyms in it found once and remembered (`known`: those
 * already found, for the question's terms).
 */
const creditWithin = (
  vocabulary: ReadonlySet<string>,
  known: ReadonlyMap<string, (terms: ReadonlySet<string>) => number>
): Credit => {
  const cache = new Map(known)
  return (term, terms) => {
    let creditIn = cache.get(term)
    if (creditIn === undefined) {
      creditIn = run(creditOf(term, vocabulary))
      cache.set(term, creditIn)
    }
    return creditIn(terms)
  }
}

/** The question's content terms, without the words of its cue ("long" in "how long"). */
const questionTerms = (question: string, cue: QuestionCue | undefined): Array<string> => {
  const cueTerms = new Set((cue?.cueWords ?? []).map((word) => stem(word)))
  // "How long does the sabbatical last?", "how often does the rule apply?": a verb closing a
  // question about a span or a frequency is part of what is asked, not of its topic.
  const closing = readingWords(question).at(-1)
  if ((cue?.kind === "duration" || cue?.kind === "frequency") && closing !== undefined) {
    const term = terms(closing)[0]
    if (term !== undefined && CLOSING_VERBS.has(term)) cueTerms.add(term)
  }
  return [...new Set(terms(question))].filter((term) => !cueTerms.has(term))
}

/** The words of a source id's file name: "docs/annual-leave.md#2" → "annual leave". */
const sourceName = (sourceId: string): string =>
  (sourceId.split("#")[0]!.split(/[\\/]/).pop() ?? "").replace(/\.[a-z0-9]+$/i, "").replace(/[-_.]+/g, " ")

/**
 * Scores every passage sentence against the question.
 *
 * Each question term is weighted by its rarity among the passages' sentences
 * (BM25's idf; a term no passage holds weighs most, since the passages
 * cannot speak to it). A sentence's coverage is the weighted share of the
 * question's terms it holds, a term found only elsewhere in its passage
 * (or in its headings or source name) counting for less; its score is that
 * coverage (the shorter sentence first among equals), lowered when the question
 * asks for a kind of answer (a number, a duration, a date, a step to take) the
 * sentence does not carry. It is ranked by its coverage and by the share it
 * holds with its section's heading: a section's sentences are all about its
 * heading, so the one that says what is asked of it ranks first.
 */
function* rank(
  passages: ReadonlyArray<ParsedPassage>,
  question: string,
  wanted: ReadonlyArray<string>,
  cue: QuestionCue | undefined
): Steps<Ranking> {
  const candidates: Array<Candidate> = []
  // A sentence that quotes the whole question (`it asks "How does…?"`) restates it: the
  // quotation does not count as answering it. A bare keyword ("Step.forEachSettled") is
  // not a question, so a sentence naming it keeps every word.
  const asked = question.replace(/\s+/g, " ").trim().toLowerCase()
  const quotable = asked.endsWith("?") || asked.split(" ").length >= 4
  const questionWords = new Set(terms(question))
  const sought = roleAsked(question)
  const passageTerms: Array<Set<string>> = []
  const documentTerms = new Map<string, Array<Set<string>>>()
  for (let passageOrder = 0; passageOrder < passages.length; passageOrder++) {
    // A pause between passages: each is split, stemmed and matched against the question's cue.
    if (passageOrder > 0) yield
    const passage = passages[passageOrder]!
    const all = new Set<string>()
    const documentId = passage.sourceId.split("#")[0]!
    const document = documentTerms.get(documentId) ?? []
    document.push(all)
    documentTerms.set(documentId, document)
    const topic = new Set<string>()
    const heading = new Set<string>()
    passageTerms.push(all)
    sentences(passage.text).forEach((sentence, position) => {
      const text = withoutCitations(sentence).trim()
      const flat = text.replace(/\s+/g, " ").toLowerCase()
      const quoted = quotable && flat.includes(asked)
      const sentenceTerms = new Set(terms(quoted ? flat.replace(asked, " ") : text))
      for (const term of sentenceTerms) all.add(term)
      // A question (a FAQ's, or the user's own run into the last passage) does not answer one.
      if (text.length > 0 && !/\?["'”’)\]*_`]*$/u.test(text)) {
        candidates.push({
          passage: passage.n,
          passageOrder,
          position,
          text,
          terms: sentenceTerms,
          context: all,
          topic,
          heading,
          document,
          hasKind: cue === undefined || hasAnswerKind(text, cue.kind, questionWords, sought),
          own: 0,
          coverage: 0,
          score: 0
        })
      }
    })
    // A passage's headings and its source's name ("policies/annual-leave.md#2") are not
    // quoted, but they say what its sentences are about.
    const headings = [...passage.text.matchAll(/^[ \t]*#{1,6}[ \t]+(.+)$/gm)].map((heading) => heading[1]!)
    for (const term of terms([passage.title ?? "", ...headings].join("\n"))) {
      topic.add(term)
      heading.add(term)
    }
    for (const term of terms(sourceName(passage.sourceId))) topic.add(term)
    for (const term of topic) all.add(term)
    for (const term of terms(sourceName(passage.sourceId))) all.add(term)
  }
  const count = candidates.length
  const everywhere = new Set<string>()
  for (const set of passageTerms) for (const term of set) everywhere.add(term)
  const known = new Map<string, (terms: ReadonlySet<string>) => number>()
  const credits: Array<(terms: ReadonlySet<string>) => number> = []
  for (const term of wanted) {
    const creditIn = known.get(term) ?? (yield* creditOf(term, everywhere))
    known.set(term, creditIn)
    credits.push(creditIn)
  }
  const present = credits.map((creditIn) => creditIn(everywhere) > 0)
  const weights: Array<number> = []
  for (let i = 0; i < wanted.length; i++) {
    yield
    let df = 0
    for (const candidate of candidates) if (credits[i]!(candidate.terms) > 0) df++
    const idf = Math.log(1 + (count - df + 0.5) / (df + 0.5))
    weights.push(isLightTerm(wanted[i]!) ? LIGHT_WEIGHT * idf : idf)
  }
  const total = weights.reduce((sum, w) => sum + w, 0)
  const presentTotal = weights.reduce((sum, w, i) => (present[i] ? sum + w : sum), 0)
  // A light word no passage holds ("something", "rather") says nothing of the topic: only a
  // topic word the passages lack counts against them.
  // Nor does a word only the scene holds ("My grandmother died yesterday. How many days…?").
  const askedTerms = new Set(terms(askedSentence(question)))
  const absentTopic = weights.reduce(
    (sum, w, i) => (present[i] || isLightTerm(wanted[i]!) || !askedTerms.has(wanted[i]!) ? sum : sum + w),
    0
  )
  const absent = total === 0 ? 1 : absentTopic / (presentTotal + absentTopic)
  if (presentTotal === 0) return { candidates, absent, held: everywhere, weights, known }
  for (let c = 0; c < candidates.length; c++) {
    if (c % SENTENCE_SLICE === SENTENCE_SLICE - 1) yield
    const candidate = candidates[c]!
    const context = passageTerms[candidate.passageOrder]!
    let own = 0
    let titled = 0
    let covered = 0
    credits.forEach((creditIn, i) => {
      const inSentence = creditIn(candidate.terms)
      own += weights[i]! * inSentence
      // A section's sentences are about its heading: a term there counts as the sentence's own
      // when ranking, so the sentence that says what the question asks of the topic ranks
      // above one that only repeats the topic ("children are not" under "Summer party").
      titled += weights[i]! * Math.max(inSentence, creditIn(candidate.heading))
      covered +=
        weights[i]! *
        Math.max(inSentence, CONTEXT_CREDIT * creditIn(context), TITLE_CREDIT * creditIn(candidate.topic))
    })
    candidate.own = own / presentTotal
    candidate.coverage = covered / presentTotal
    // Among sentences that cover the question alike, the shorter says it more directly.
    const brevity = 1 / (1 + LENGTH_PENALTY * candidate.terms.size)
    // A sentence that introduces a list ("What `Workflow.run` does, in order:") says what follows, not what is asked.
    const intro = candidate.text.endsWith(":") ? LIST_INTRO : 1
    candidate.score =
      ((titled / presentTotal + candidate.coverage) / 2) *
      kindFactor(candidate.hasKind, cue) *
      brevity *
      intro
  }
  return { candidates, absent, held: everywhere, weights, known }
}

/**
 * Verbs that close a question about how something goes ("…does the lease run?", "…does
 * the offer last?", "…does the rule apply?"): the question is about its subject, which
 * the passages must name, not about the verb, which they may word otherwise ("over 36 months").
 */
const CLOSING_VERBS: ReadonlySet<string> = new Set(["run", "last", "work", "apply"].map((word) => stem(word)))

/** A number, as a content term ("3", "three"). */
const NUMBER = /^(?:\d|one$|two$|three$|four$|five$|six$|seven$|eight$|nine$|ten$|twelve$)/

/**
 * Whether the question asks for something the passages never name: its
 * first topic word, what it is about ("What colour…", "Are dogs…"), its last
 * ("…for team outings?", "…does the travel desk prefer?"), or a
 * kind of a topic they hold, qualified by a word they never use ("Enterprise plan" when
 * they speak of the Team plan, "bereavement leave" when they speak of annual
 * leave). Only topic words count — not light words or numbers — so a
 * paraphrased verb or adjective does not trigger it.
 */
const asksForUnnamedKind = (
  question: string,
  held: ReadonlySet<string>,
  cue: QuestionCue | undefined,
  credit: Credit
): boolean => {
  // The cue's own words ("frequently" in "how frequently") say what is asked, not about what.
  const cueWords = new Set(cue?.cueWords ?? [])
  // A question that sets the scene first ("My grandmother died last week. How many days off…?")
  // is about what its asking sentence names: the scene's words say whose case it is.
  const raw = readingWords(askedSentence(question))
  const sequence = raw.map((word) => (cueWords.has(word) ? undefined : terms(word)[0]))
  // The question's first topic word is what it is about: "What colour…", "Are dogs…"; a verb
  // ("Can I borrow e-books…") says what is done with it.
  const focus = sequence.find((term, i) => term !== undefined && !isLightTerm(term) && !isVerbAt(raw, i))
  if (focus !== undefined && credit(focus, held) === 0) return true
  // Its last topic word is most often what it asks about too: "…the budget for team outings?",
  // "…policy for contractors?", "Which airline does the travel desk prefer?".
  const last = sequence.findLast(
    (term) => term !== undefined && !isLightTerm(term) && !NUMBER.test(term) && !CLOSING_VERBS.has(term)
  )
  if (last !== undefined && credit(last, held) === 0) return true
  for (let i = 0; i + 1 < sequence.length; i++) {
    const modifier = sequence[i]
    const head = sequence[i + 1]
    if (modifier === undefined || head === undefined) continue
    if (isLightTerm(modifier) || isLightTerm(head) || modifier === head) continue
    // A measure after a number ("a three-hour flight") is not a kind of what follows.
    if (i > 0 && NUMBER.test(sequence[i - 1] ?? "")) continue
    if (credit(modifier, held) === 0 && credit(head, held) > 0) return true
  }
  return false
}

// Words after which a verb comes: "who pays", "can I take", "to book", "be displayed".
const BEFORE_VERB = /^(?:who|i|you|we|they|he|she|to|be|been|being)$/
const MODAL = /^(?:can|could|will|would|shall|should|must|may|might)$/

/** Whether the question's word at `i` is most likely a verb: "who pays", "do I contact", "…covered?". */
const isVerbAt = (raw: ReadonlyArray<string>, i: number): boolean =>
  BEFORE_VERB.test(raw[i - 1] ?? "") ||
  // "…anyone I can talk to", "…will they accept": a modal's verb.
  MODAL.test(raw[i - 1] ?? "") ||
  // "…if I am dismissed": a participle after a form of "be" or "get".
  (/ed$/.test(raw[i] ?? "") && /^(?:am|is|are|was|were|get|gets|got)$/.test(raw[i - 1] ?? "")) ||
  (i === raw.length - 1 && /ed$/.test(raw[i] ?? "")) ||
  // "What share… does the company cover?": right after "does" and its subject (a word or three,
  // not ending in an article or a preposition), the last word is the verb.
  (i === raw.length - 1 &&
    !/^(?:a|an|the|my|your|our|their|this|that|some|any|of|for|in|on|at|to|with|by|from)$/.test(
      raw[i - 1] ?? ""
    ) &&
    raw.slice(Math.max(1, i - 4), i - 1).some((word) => /^(?:do|does|did)$/.test(word))) ||
  // "…without paying", "…before booking": a verb's -ing form after a preposition.
  (/ing$/.test(raw[i] ?? "") && /^(?:without|by|before|after|while|when)$/.test(raw[i - 1] ?? "")) ||
  // "…if I keep forgetting…", "…stop using…": a verb's -ing form right after a verb.
  (/ing$/.test(raw[i] ?? "") && i > 0 && isVerbAt(raw, i - 1))

/**
 * Whether the best sentence's document never names what the question is
 * about — its first or its last topic word — though another passage does:
 * "Can a grievance be raised anonymously?" is not answered by a code of
 * conduct that lets fraud be reported anonymously, when a grievance procedure
 * says nothing of it. The sentence, its passage, its title and the other
 * passages of its document are read. Gives the words it never names that
 * another document does (none when it answers its own topic).
 */
const topicsOfAnother = (
  question: string,
  best: Candidate,
  ranked: ReadonlyArray<Candidate>,
  cue: QuestionCue | undefined,
  credit: Credit
): Array<string> => {
  const otherTopics = new Set<string>()
  for (const candidate of ranked) {
    if (candidate.document !== best.document) for (const term of candidate.topic) otherTopics.add(term)
  }
  const cueWords = new Set(cue?.cueWords ?? [])
  const raw = readingWords(question)
  // A verb says what is done, worded many ways; what the question is about is a noun.
  const sequence = raw.map((word, i) => (cueWords.has(word) || isVerbAt(raw, i) ? undefined : terms(word)[0]))
  const named = (term: string) =>
    credit(term, best.terms) > 0 ||
    credit(term, best.context) > 0 ||
    credit(term, best.topic) > 0 ||
    best.document.some((passageTerms) => credit(term, passageTerms) > 0)
  const focus = sequence.find((term) => term !== undefined && !isLightTerm(term) && !NUMBER.test(term))
  const last = sequence.findLast(
    (term) => term !== undefined && !isLightTerm(term) && !NUMBER.test(term) && !CLOSING_VERBS.has(term)
  )
  return [focus, last].filter(
    (term): term is string => term !== undefined && !named(term) && credit(term, otherTopics) > 0
  )
}

/**
 * The terms of the phrase after a cue ("how many", "is there a") up to its verb or a preposition:
 * ["meeting", "room"] in "How many meeting rooms does the office have?".
 */
const phraseTermsAfter = (raw: ReadonlyArray<string>, at: number): Array<string> => {
  const phrase: Array<string> = []
  for (let i = at + 1; i < raw.length; i++) {
    const word = raw[i]!
    if (AUXILIARY.test(word) || /^(?:for|of|on|in|to|when|if|with|by)$/.test(word)) break
    // A word followed by a particle or an article is the verb: "hours make up a…", "people fit in…".
    if (
      i > at + 1 &&
      /^(?:up|in|into|out|on|off|over|at|to|a|an|the|my|your|our|their)$/.test(raw[i + 1] ?? "")
    )
      break
    const term = terms(word)[0]
    if (term !== undefined) phrase.push(term)
  }
  return phrase
}

/**
 * Whether "how many <things>…" is asked of a sentence that counts something
 * else: the number in "The office has 40 parking spaces" does not count
 * meeting rooms; "Is there a fee…" is not answered by a sentence without one.
 * The things asked about are the words after "how many" or "is there a" up to the verb or a preposition;
 * the sentence (or the one continuing it) must hold them all ("meeting rooms", not only "rooms").
 */
const missesTheCounted = (
  question: string,
  best: Candidate,
  next: Candidate | undefined,
  credit: Credit
): boolean => {
  const raw = readingWords(question)
  const at = raw.findIndex(
    (word, i) =>
      (word === "many" && raw[i - 1] === "how") ||
      (/^(?:a|an|any)$/.test(word) && raw[i - 1] === "there" && i === 2 && /^(?:is|are)$/.test(raw[0] ?? ""))
  )
  if (at < 0) return false
  const counted = phraseTermsAfter(raw, at)
  const thing = counted[counted.length - 1]
  // "Is there a fee…" asks about that very thing, however common the word.
  const asksWhetherThereIs = raw[at] !== "many"
  if (thing === undefined || (!asksWhetherThereIs && isLightTerm(thing))) return false
  // "15 items" counts books, DVDs or anything else lent: a general word for things counts them all.
  // "Is there any money towards…" is answered by an amount of money ("8 euros a month").
  const holds = (sentence: Candidate) =>
    counted.every((term) => credit(term, sentence.terms) > 0) ||
    (!asksWhetherThereIs && [...sentence.terms].some((term) => GENERAL_THINGS.has(term))) ||
    (MONEY_THINGS.has(thing) && hasAnswerKind(sentence.text, "money"))
  return !holds(best) && !(next !== undefined && CONTINUES.test(next.text) && holds(next))
}

/** Words for money in general, which any amount of money names. */
const MONEY_THINGS = new Set(terms("money cash funds funding"))

/** How much a sentence's score grows when it says what the thing a "what is…" question names is. */
const DEFINITION_BONUS = 1.5
/** A sentence saying how long before something, asked "how far ahead…", counts this much more. */
const BEFOREHAND_BONUS = 1.3
const BEFOREHAND = /\b(?:ahead|in advance|beforehand|notice|before)\b/i

/**
 * For a question asking what something is ("What is a step?", "what are budgets?"), a pattern
 * matching a sentence that opens by saying what it is: "A Step is…", "Budgets are…",
 * "`Step.make` is…". Undefined for any other question.
 */
const definitionOf = (question: string): RegExp | undefined => {
  const asked =
    /^\s*what(?:'s|\s+is|\s+are)\s+(?:an?\s+|the\s+)?([^\s?]+(?:\s+[^\s?]+){0,2})\s*\??\s*$/i.exec(question)
  if (asked === null) return undefined
  const thing = asked[1]!.replace(/`/g, "").replace(/s$/i, "")
  if (thing.length < 2) return undefined
  const escaped = thing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  // "A step is…", and with a word or two naming its kind: "A Weft workflow is…", "An offline model is…".
  return new RegExp(
    `^(?:an?\\s+|the\\s+)?(?:[\\p{L}\\d-]+\\s+){0,2}?\`?${escaped}(?:s|es)?\`?\\s+(?:is|are|means)\\b`,
    "iu"
  )
}

/** How much a sentence's score grows when it counts the thing a "how many" question asks about. */
const COUNT_BONUS = 1.15
/** How many words may stand between a number and the thing it counts: "two trained first aiders". */
const COUNT_GAP = 3
const COUNTING =
  /^(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundred)$/

/** The thing a "how many…" question counts: the last word after "how many", up to its verb. */
const countedThing = (question: string): string | undefined => {
  const raw = readingWords(question)
  const at = raw.findIndex((word, i) => word === "many" && raw[i - 1] === "how")
  return at < 0 ? undefined : phraseTermsAfter(raw, at).at(-1)
}

// Words that end the thing a "how much…" question measures: a preposition or its verb.
const MEASURE_END =
  /^(?:for|of|on|in|to|at|per|when|if|with|by|from|cost|costs|charge|charged|pay|paid|get|take|earn|receive|spend|need|have|be)$/

/**
 * The thing a "how much/big/large/high…" question measures: "membership" in "How much is a
 * monthly gym membership?", "bonus" in "How big is the referral bonus?", "space" in "How much
 * does a parking space cost?" — the last word of the phrase after the cue and its auxiliary.
 */
const measuredThing = (question: string): string | undefined => {
  const raw = readingWords(question)
  const at = raw.findIndex((word, i) => /^(?:much|big|large|high)$/.test(word) && raw[i - 1] === "how")
  if (at < 0) return undefined
  let i = at + 1
  while (i < raw.length && (AUXILIARY.test(raw[i]!) || /^(?:a|an|the|my|your|our|their)$/.test(raw[i]!))) i++
  let thing: string | undefined
  for (; i < raw.length; i++) {
    const word = raw[i]!
    if (MEASURE_END.test(word) || AUXILIARY.test(word) || /^(?:i|we|you|they|it)$/.test(word)) break
    thing = terms(word)[0] ?? thing
  }
  return thing
}

/**
 * Whether a sentence puts a number close before the thing counted ("up to two guests", "40
 * parking spaces") or, when `after` is set, close after the thing measured ("a bonus of
 * 1,500 euros", "the monthly membership costs 39 euros").
 */
const countsNear = (text: string, thing: string, credit: Credit, after = false): boolean => {
  const sequence = readingWords(text)
  const isThing = (word: string) => {
    const term = terms(word)[0]
    return term !== undefined && credit(thing, new Set([term])) > 0
  }
  return sequence.some(
    (word, i) =>
      (COUNTING.test(word) && sequence.slice(i + 1, i + 2 + COUNT_GAP).some(isThing)) ||
      (after && isThing(word) && sequence.slice(i + 1, i + 2 + COUNT_GAP).some((next) => /^\d/.test(next)))
  )
}

/** Words that count things of any kind: "up to 15 items". */
const GENERAL_THINGS: ReadonlySet<string> = new Set(
  ["item", "thing", "piece", "unit", "article"].map((word) => stem(word))
)

// What may stand between "who" and what the person does: "who can sign off…", "who has to approve…".
const WHO_AUXILIARY =
  /^(?:do|does|did|can|could|will|would|shall|should|may|might|must|is|are|was|were|has|have|had|to|need|needs|usually|actually)$/

const COPULA = /^(?:is|are|was|were)$/
const NAME = /\b\p{Lu}\p{Ll}+\b/gu
const PAYING: ReadonlySet<string> = new Set(["pay", "cover", "fund"].map((word) => stem(word)))
/** Words that say who bears a cost: "charged to the employee", "at the company's cost", "free of charge". */
const PAYMENT = /\b(?:charged?|costs?|free|paid|pays|reimbursed|deducted|covered|covers|expense)\b/i

/**
 * Whether the best sentence (with the one continuing it) names a role but not
 * what the question asks the person does: "Who pays for the note?" is not
 * answered by "Send the note to HR", which names someone who receives it. The
 * deed is the first word after "who" and its auxiliaries; a light one ("gets",
 * "is") says too little to ask for.
 */
const missesTheDeed = (
  question: string,
  best: Candidate,
  next: Candidate | undefined,
  credit: Credit
): boolean => {
  const raw = readingWords(question)
  // "Which doctor…" asks which of them: a sentence that names someone else does not say.
  // "Who is the head of HR?" asks for someone by name: a sentence naming only a role does not say.
  if (raw[0] === "who" && COPULA.test(raw[1] ?? "") && raw[2] === "the") {
    const asked = new Set(raw)
    // A capitalised word past the first that the question does not use: "…led by Maria Lopez".
    const named = (sentence: Candidate) =>
      (sentence.text.replace(/^\W*\S+/, "").match(NAME) ?? []).some((name) => !asked.has(name.toLowerCase()))
    return !named(best) && !(next !== undefined && CONTINUES.test(next.text) && named(next))
  }
  // "Who is eligible…", "who are responsible…": what the person is, worded many ways, is no deed to find.
  if (raw[0] === "who" && COPULA.test(raw[1] ?? "")) return false
  const verb = raw[0] === "who" ? raw.slice(1).find((word) => !WHO_AUXILIARY.test(word)) : roleAsked(question)
  const deed = verb === undefined ? undefined : terms(verb)[0]
  // "Who gets…", "who has…", "who makes…": a vague verb, worded many ways in an answer, is no
  // deed to find; "who wrote…", "who built…", "who approves…" are.
  if (deed === undefined || (isLightTerm(deed) && !DEEDS.has(deed))) return false
  // Who pays is answered by who is charged, or that it is free: a sentence about money.
  const does = (sentence: Candidate) =>
    credit(deed, sentence.terms) > 0 || (PAYING.has(deed) && PAYMENT.test(sentence.text))
  return !does(best) && !(next !== undefined && CONTINUES.test(next.text) && does(next))
}

// Light verbs that still name a deed a "who" question asks about (see `missesTheDeed`).
const DEEDS: ReadonlySet<string> = new Set(
  [
    "write",
    "build",
    "create",
    "develop",
    "produce",
    "sell",
    "buy",
    "drive",
    "lead",
    "win",
    "approve",
    "sign",
    "manage",
    "own",
    "found",
    "invent",
    "design",
    "maintain"
  ].map((word) => terms(word)[0] ?? word)
)

// A word before a question's subject: "does Weft check…", "can staff book…".
const AUXILIARY =
  /^(?:do|does|did|can|could|will|would|shall|should|may|might|must|is|are|was|were|has|have|had)$/

/**
 * The question's two-word phrases ("sick days", "courier company",
 * "parking policy"): adjacent content words, the first a topic word (not a
 * light word), neither a number. A pair after an auxiliary is a subject and its verb ("does Weft
 * check"), not a phrase.
 */
const topicPhrases = (question: string, cue: QuestionCue | undefined): Array<readonly [string, string]> => {
  const cueWords = new Set(cue?.cueWords ?? [])
  const raw = readingWords(askedSentence(question))
  const sequence = raw.map((word) => (cueWords.has(word) ? undefined : terms(word)[0]))
  const phrases: Array<readonly [string, string]> = []
  for (let i = 0; i + 1 < sequence.length; i++) {
    const modifier = sequence[i]
    const head = sequence[i + 1]
    if (modifier === undefined || head === undefined || modifier === head) continue
    // The modifier must be a topic word; the head may be a light one ("parking policy").
    if (isLightTerm(modifier) || NUMBER.test(modifier) || NUMBER.test(head)) continue
    if (AUXILIARY.test(raw[i - 1] ?? "")) continue
    // A verb and its object are no phrase: "…should I throw away confidential papers?".
    if (isVerbAt(raw, i)) continue
    // A participle ending the question is its verb, not a noun's head: "How are gift card purchases refunded?".
    if (i + 2 === raw.length && /ed$/.test(raw[i + 1] ?? "")) continue
    phrases.push([modifier, head])
  }
  return phrases
}

/**
 * Whether the best sentence, read with its passage, misses one of the
 * question's topic phrases that the passages hold: it names the head but not
 * the word that qualifies it ("unused sick days" asked of a rule about unused
 * leave days), or neither word while another passage holds both ("How much
 * does a parking space cost?" answered from a price list). What the question
 * asks about is then something else than what the sentence says.
 */
const missesAPhrase = (
  best: Candidate,
  phrases: ReadonlyArray<readonly [string, string]>,
  held: ReadonlySet<string>,
  topics: ReadonlySet<string>,
  credit: Credit
): boolean => {
  const matched = new Set<readonly [string, string]>()
  for (const chain of phraseChains(phrases)) {
    if (holdsPartly(best, chain, topics, credit)) for (const phrase of chain) matched.add(phrase)
  }
  return phrases.some((phrase) => {
    if (matched.has(phrase)) return false
    const [modifier, head] = phrase
    // A passage of the same document naming the whole phrase counts too: the document is about
    // the "espresso machine" its section on claims calls "the machine".
    const hasModifier =
      credit(modifier, best.terms) > 0 ||
      credit(modifier, best.context) > 0 ||
      best.document.some((terms) => credit(modifier, terms) > 0 && credit(head, terms) > 0)
    const hasHead = credit(head, best.terms) > 0 || credit(head, best.context) > 0
    if (!hasModifier && hasHead) return true
    return !hasModifier && !hasHead && credit(modifier, held) > 0 && credit(head, held) > 0
  })
}

/**
 * The question's phrases of three words or more, as runs of its two-word
 * phrases ("corporate credit" + "credit card").
 */
const phraseChains = (
  phrases: ReadonlyArray<readonly [string, string]>
): Array<Array<readonly [string, string]>> => {
  const chains: Array<Array<readonly [string, string]>> = []
  let run: Array<readonly [string, string]> = []
  for (const phrase of phrases) {
    if (run.length > 0 && run[run.length - 1]![1] !== phrase[0]) {
      if (run.length > 1) chains.push(run)
      run = []
    }
    run.push(phrase)
  }
  if (run.length > 1) chains.push(run)
  return chains
}

/** How many words may stand between a phrase's head and its modifier in a sentence ("corporate card"). */
const PHRASE_GAP = 2

/**
 * Whether a sentence holds a long phrase in part: its head with at least one
 * of its modifiers close before or after it ("a corporate card" for
 * "corporate credit card", "cards for corporate use"). The shorter wording
 * names the same thing — unless a word it drops is what a passage is about
 * (its title or source name).
 */
const holdsPartly = (
  best: Candidate,
  chain: ReadonlyArray<readonly [string, string]>,
  topics: ReadonlySet<string>,
  credit: Credit
): boolean => {
  const head = chain[chain.length - 1]![1]
  const modifiers = chain.map(([modifier]) => modifier)
  // A modifier the sentence lacks that some passage is about ("sick" when a passage is on sick
  // leave) names another kind of the thing: "unused sick days" are not the "unused days" of leave.
  const lacking = modifiers.filter((modifier) => credit(modifier, best.terms) === 0)
  if (lacking.some((modifier) => credit(modifier, topics) > 0)) return false
  const sequence = readingWords(best.text).map((word) => new Set(terms(word)))
  return sequence.some(
    (atHead, i) =>
      credit(head, atHead) > 0 &&
      sequence.some(
        (atModifier, j) =>
          j !== i &&
          Math.abs(i - j) <= PHRASE_GAP + 1 &&
          modifiers.some((modifier) => credit(modifier, atModifier) > 0)
      )
  )
}

const inReadingOrder = (a: Candidate, b: Candidate): number =>
  a.passageOrder - b.passageOrder || a.position - b.position

const byScore = (a: Candidate, b: Candidate): number => b.score - a.score || inReadingOrder(a, b)

const render = (chosen: ReadonlyArray<Candidate>): string =>
  [...chosen]
    .sort(inReadingOrder)
    .map((candidate) => cite(candidate.text, candidate.passage))
    .join(" ")

/**
 * The extractive answer to a request, or `NO_ANSWER` when the passages do not
 * cover what the question asks for: the best sentence, read with its passage,
 * holds too little of the question's weighted content terms (sharing one
 * common word is not enough, and a question word no passage holds counts
 * against it), lacks the number or span a "how many"/"how long" question
 * asks for (and the next sentence, continuing it, does not carry it), the
 * question is about something the passages never name, the best sentence's
 * document never names what the question is about while another one does, or
 * the best sentence's passage misses one of the question's topic phrases.
 * When the top-ranked sentence lacks only the number (or the thing counted)
 * asked for, a close second that has it is the best one; when its document is
 * not about what is asked, a close sentence from one that is, carrying the kind
 * of answer asked for, is.
 *
 * The best sentence comes first in rank; a further one (up to three) joins
 * only if it answers the question too — it covers a share of the question
 * by itself, holds much of what the chosen ones leave open (more than a
 * light word), and comes from their passage unless it covers a good share
 * alone — or is the best one's neighbour and belongs with it (see
 * `neighbours`), and the whole fits `maxOutputTokens` (the best one is always
 * kept; the caller truncates it if it alone is too long). Sentences are
 * shown in reading order.
 */
export const answer = (request: Request, maxOutputTokens: number): string =>
  run(answerSteps(request, maxOutputTokens))

/** Longest stretch of the answer's work between two yields to the Effect scheduler. */
const SLICE_MS = 10

/**
 * `answer` as an Effect that yields to the scheduler every `SLICE_MS` of
 * work, so an interrupt (Ctrl-C) lands within a slice even when the prompt
 * holds a thousand passages. A prompt answered within one slice (the
 * common case) never yields; the answer is the same either way.
 */
export const answerInSlices = (request: Request, maxOutputTokens: number): Effect.Effect<string> =>
  Effect.suspend(() => {
    const steps = answerSteps(request, maxOutputTokens)
    return Effect.gen(function* () {
      let until = performance.now() + SLICE_MS
      for (;;) {
        const next = steps.next()
        if (next.done === true) return next.value
        if (performance.now() >= until) {
          yield* Effect.yieldNow
          until = performance.now() + SLICE_MS
        }
      }
    })
  })

/**
 * Why the Local model declined, for tuning it (the answers bench's `--verbose`
 * sets `onDecline`): the rule that found the passages do not answer. Unset, nothing is recorded.
 * `off` (the bench's `--no-declines`) switches off every rule but `no-terms` and `no-match`, so
 * the best-ranked sentence answers whenever one shares a word with the question: how far
 * choosing sentences alone gets.
 */
export const declines: {
  onDecline?: ((rule: DeclineRule) => void) | undefined
  off?: boolean | undefined
} = {}

export type DeclineRule =
  | "no-terms"
  | "no-match"
  | "kind"
  | "counted"
  | "deed"
  | "support"
  | "another-topic"
  | "unnamed"
  | "phrase"

const decline = (rule: DeclineRule): string => {
  declines.onDecline?.(rule)
  return NO_ANSWER
}

function* answerSteps(request: Request, maxOutputTokens: number): Steps<string> {
  if (request.passages.length === 0) return summarise(request.question, maxOutputTokens) ?? NO_PASSAGES
  const cue = questionCue(request.question)
  const wanted = questionTerms(request.question, cue)
  if (wanted.length === 0) return decline("no-terms")
  const { candidates, absent, held, weights, known } = yield* rank(
    request.passages,
    request.question,
    wanted,
    cue
  )
  const ranked = candidates.sort(byScore)
  yield
  // No sentence holds a word of the question (one under a heading that does may rank first).
  if (ranked[0] === undefined || !ranked.some((candidate) => candidate.own > 0)) return decline("no-match")
  const credit = creditWithin(held, known)
  if (declines.off !== true && asksForUnnamedKind(request.question, held, cue, credit))
    return decline("unnamed")
  const topics = new Set<string>()
  for (const candidate of ranked) for (const term of candidate.topic) topics.add(term)
  const phrases = topicPhrases(request.question, cue)
  // The rules a sentence must pass to answer (see `answer`), or the first it fails.
  const judge = (candidate: Candidate): DeclineRule | undefined => {
    if (declines.off === true) return undefined
    // The kind of answer asked for may come in the next sentence, when it continues this
    // one ("…extends the warranty. This adds one more year.").
    const next = ranked.find(
      (c) => c.passageOrder === candidate.passageOrder && c.position === candidate.position + 1
    )
    const hasKind = candidate.hasKind || (next?.hasKind === true && CONTINUES.test(next.text))
    // "How many…", "how much does it cost" or "how long…" wants a number, a price or a span;
    // "when…" is answered in more ways.
    if (
      !hasKind &&
      (cue?.kind === "quantity" ||
        cue?.kind === "money" ||
        cue?.kind === "duration" ||
        cue?.kind === "person" ||
        cue?.kind === "code" ||
        cue?.kind === "frequency")
    ) {
      return "kind"
    }
    if (missesTheCounted(request.question, candidate, next, credit)) return "counted"
    if (cue?.kind === "person" && missesTheDeed(request.question, candidate, next, credit)) return "deed"
    const support =
      candidate.coverage * (1 - absent) * (hasKind || cue?.kind === "procedure" ? 1 : WRONG_KIND)
    if (support < MIN_COVERAGE) return "support"
    if (topicsOfAnother(request.question, candidate, ranked, cue, credit).length > 0) return "another-topic"
    if (missesAPhrase(candidate, phrases, held, topics, credit)) return "phrase"
    return undefined
  }
  // Sentences of the form the question asks for are the likelier answer, each preference
  // multiplying a sentence's score; the ranking is sorted again once, after all of them.
  const preferences: Array<readonly [prefers: (candidate: Candidate) => boolean, bonus: number]> = []
  // "How many guests…": a sentence putting a number right before the thing counted ("up to two
  // guests") is the likelier answer than one that holds both apart.
  const counted = countedThing(request.question)
  const measured = counted === undefined ? measuredThing(request.question) : undefined
  const thing = counted ?? measured
  if (thing !== undefined) {
    preferences.push([(c) => countsNear(c.text, thing, credit, measured !== undefined), COUNT_BONUS])
  }
  // "How far ahead / in advance…" asks how long before: a sentence saying so ("two weeks
  // ahead", "five days in advance", "notice") is the likelier answer than one naming another time.
  if (cue?.kind === "duration" && cue.cueWords.some((word) => word === "ahead" || word === "advance")) {
    preferences.push([(c) => BEFOREHAND.test(c.text), BEFOREHAND_BONUS])
  }
  // "What is a step?" asks for a definition: a sentence saying what one is ("A Step is a named
  // Effect…") is the likelier answer than one that only uses the word.
  const defines = definitionOf(request.question)
  if (defines !== undefined) preferences.push([(c) => defines.test(c.text), DEFINITION_BONUS])
  if (preferences.length > 0) {
    for (const candidate of ranked)
      for (const [prefers, bonus] of preferences) if (prefers(candidate)) candidate.score *= bonus
    ranked.sort(byScore)
  }
  // A sentence holding none of the question's words answers only under a heading that holds
  // all of its topic words ("Volunteers can sign up…" under "Fire wardens"); others, ranked
  // high for their heading alone, are passed over.
  const eligible = ranked.filter(
    (candidate) =>
      candidate.own > 0 ||
      wanted.every(
        (term) => isLightTerm(term) || credit(term, held) === 0 || credit(term, candidate.heading) > 0
      )
  )
  const top = eligible[0]
  if (top === undefined) return decline("no-match")
  // The best-ranked sentence that passes them answers: when the top one lacks the number or
  // the thing counted that the question asks for, a close second that has it does.
  let best: Candidate | undefined
  let rule: DeclineRule | undefined
  for (const candidate of eligible.slice(0, MAX_TRIED)) {
    if (candidate.score < top.score * MIN_TRIED_SCORE) break
    const failed = judge(candidate)
    if (failed === undefined) {
      best = candidate
      break
    }
    rule ??= failed
    // Only the form of the answer is tried again; a sentence that misses what the question is
    // about says the passages do not cover it.
    if (failed !== "kind" && failed !== "counted") break
  }
  // The top sentence's document is not about what the question asks of ("a dental claim"
  // answered from the expense policy): a close sentence from a document that is about it, and
  // carries the kind of answer asked for (a time, a span, a number), answers instead if it passes
  // the rules. A yes/no question asks what is said of the topic ("Can a grievance be raised
  // anonymously?"), which the other document does not say; a step to take is in too many
  // sentences to tell.
  if (best === undefined && rule === "another-topic" && cue !== undefined && cue.kind !== "procedure") {
    const elsewhere = topicsOfAnother(request.question, top, ranked, cue, credit)
    for (const candidate of eligible) {
      if (candidate.score < top.score * MIN_SWITCH_SCORE) break
      if (
        candidate.document !== top.document &&
        // …a document whose title or headings name it, not one that mentions it in passing.
        elsewhere.some((term) => credit(term, candidate.topic) > 0) &&
        candidate.own > 0 &&
        candidate.hasKind &&
        judge(candidate) === undefined
      ) {
        best = candidate
        break
      }
    }
  }
  if (best === undefined) return decline(rule ?? "support")
  const chosen: Array<Candidate> = [best]
  const covered = new Set(wanted.filter((term) => credit(term, best.terms) > 0))
  const elsewhere = aboutAnotherCode(request.question)
  for (const candidate of ranked) {
    if (chosen.length >= MAX_SENTENCES || candidate.score < best.score * MIN_RELATIVE_SCORE) break
    if (chosen.some((c) => c === candidate || c.text === candidate.text)) continue
    if (elsewhere(candidate.text)) continue
    // From another passage, a sentence must answer much of the question by itself.
    const isNearby = chosen.some((c) => c.passage === candidate.passage)
    if (candidate.own < (isNearby ? MIN_EXTRA_COVERAGE : MIN_OTHER_PASSAGE_COVERAGE)) continue
    // It must answer what the chosen sentences leave open: a good share of the weight of the
    // question terms they lack, and more than a light word ("keeps", "gets"), which only
    // repeats the topic.
    let open = 0
    let answered = 0
    const adds: Array<string> = []
    wanted.forEach((term, i) => {
      if (covered.has(term)) return
      open += weights[i]!
      if (credit(term, candidate.terms) > 0) {
        answered += weights[i]!
        adds.push(term)
      }
    })
    // …unless it is the best one's close rival from its own passage: when two sentences of a
    // section answer nearly as well, both are given rather than a guess between them.
    const isRival = isNearby && chosen.length === 1 && candidate.score >= RIVAL_SCORE * best.score
    if (!isRival && (!adds.some((term) => !isLightTerm(term)) || answered < MIN_SHARE_OF_OPEN * open))
      continue
    // Nor from a document that never names what the question is about, when another one does.
    if (!isNearby && topicsOfAnother(request.question, candidate, ranked, cue, credit).length > 0) continue
    if (countText(render([...chosen, candidate])) <= maxOutputTokens) {
      chosen.push(candidate)
      for (const term of adds) covered.add(term)
    }
  }
  for (const neighbour of neighbours(best, ranked, wanted, cue, credit)) {
    if (chosen.length >= MAX_SENTENCES || chosen.includes(neighbour)) continue
    if (elsewhere(neighbour.text) && !CONTINUES.test(neighbour.text)) continue
    if (countText(render([...chosen, neighbour])) <= maxOutputTokens) chosen.push(neighbour)
  }
  return render(chosen)
}

/**
 * A code that names one thing of many: letters, then digits ("E12", "ORD-1042", "v2"). A number
 * with its unit after it ("6am", "23kg") is a value, not a code.
 */
const CODE = /\b[a-z]+-?\d[a-z\d]*(?:-[a-z\d]+)*\b/gi
/** A code's shape, which the other codes of its list share: "E12" and "E07" are both "a9". */
const shapeOf = (code: string): string =>
  code
    .toLowerCase()
    .replace(/\d+/g, "9")
    .replace(/[a-z]+/g, "a")

/**
 * For a question that names codes ("What does error code E12 mean?"), whether a sentence is
 * about another code of the same shape and none of the question's ("Error code E07 means…"):
 * such a sentence only sits beside the answer, so it never joins it.
 */
const aboutAnotherCode = (question: string): ((text: string) => boolean) => {
  const asked = new Set((question.match(CODE) ?? []).map((code) => code.toLowerCase()))
  if (asked.size === 0) return () => false
  const shapes = new Set([...asked].map(shapeOf))
  return (text) => {
    const codes = (text.match(CODE) ?? []).map((code) => code.toLowerCase())
    return !codes.some((code) => asked.has(code)) && codes.some((code) => shapes.has(shapeOf(code)))
  }
}

// A sentence opening this way leans on the one before it ("It does not cover…",
// "After that, pay drops…", "The device is then wiped…").
const CONTINUES =
  /^(?:it|its|this|that|these|those|they|them|their|such|he|she|his|her|then|after that|afterwards|otherwise|however|but|also|in that case|if so|if not|both|either|neither|each|any|anything|everything|the rest|the same|the (?:\w+ ){0,2}is then|thereafter)\b/i

/** New topic words a sentence must bring, beyond the question's and the best sentence's. */
const MIN_NEW_TERMS = 2

/** Whether a sentence says something the best one and the question do not ("See budget.md" does not). */
const tellsMore = (sentence: Candidate, best: Candidate, wanted: ReadonlyArray<string>): boolean => {
  let fresh = 0
  for (const term of sentence.terms) {
    if (!isLightTerm(term) && !best.terms.has(term) && !wanted.includes(term)) fresh++
  }
  return fresh >= MIN_NEW_TERMS
}

/**
 * The best sentence's neighbours in its passage that belong with it: the one
 * before, when the best one opens by leaning on it ("It does not cover…"); the
 * one after, when it continues the best one (opens with a pronoun or a
 * connective), speaks to the question too (holds a topic word of it and a
 * good share of its weight, and tells more than it), or carries the kind of answer asked for (a
 * number, a span, a date) that the best one lacks.
 */
const neighbours = (
  best: Candidate,
  candidates: ReadonlyArray<Candidate>,
  wanted: ReadonlyArray<string>,
  cue: QuestionCue | undefined,
  credit: Credit
): Array<Candidate> => {
  const at = (position: number) =>
    candidates.find((c) => c.passageOrder === best.passageOrder && c.position === position)
  const out: Array<Candidate> = []
  const before = at(best.position - 1)
  if (before !== undefined && CONTINUES.test(best.text)) out.push(before)
  const after = at(best.position + 1)
  if (after !== undefined) {
    const speaksToIt =
      after.own >= MIN_NEIGHBOUR_COVERAGE &&
      wanted.some((term) => !isLightTerm(term) && credit(term, after.terms) > 0) &&
      tellsMore(after, best, wanted)
    const bringsKind = cue !== undefined && !best.hasKind && after.hasKind
    if (CONTINUES.test(after.text) || speaksToIt || bringsKind) out.push(after)
  }
  return out
}

/**
 * An extractive summary of the material in a request without passages: the
 * message's first paragraph is taken as the instruction ("Summarise this:")
 * and the rest as the material. The material's most central sentences — those
 * whose terms recur most across it — are kept, up to three and within
 * `maxOutputTokens`, in reading order. `undefined` when there is no material
 * (a single paragraph is a question, not something to summarise).
 */
export const summarise = (text: string, maxOutputTokens: number): string | undefined => {
  const paragraphs = text.split(/\n\s*\n/).filter((p) => p.trim().length > 0)
  if (paragraphs.length < 2) return undefined
  const material = sentences(paragraphs.slice(1).join("\n\n"))
    .map((sentence, position) => ({ sentence, position, terms: terms(sentence) }))
    .filter((s) => s.terms.length > 0)
  if (material.length === 0) return undefined
  const frequency = new Map<string, number>()
  for (const s of material) for (const term of s.terms) frequency.set(term, (frequency.get(term) ?? 0) + 1)
  const scored = material
    .map((s) => ({
      ...s,
      score:
        [...new Set(s.terms)].reduce((sum, term) => sum + (frequency.get(term) ?? 0), 0) /
        Math.sqrt(s.terms.length)
    }))
    .sort((a, b) => b.score - a.score || a.position - b.position)
  const chosen: Array<(typeof scored)[number]> = []
  for (const s of scored) {
    if (chosen.length >= MAX_SENTENCES) break
    const next = [...chosen, s].sort((a, b) => a.position - b.position)
    if (chosen.length === 0 || countText(next.map((c) => c.sentence).join(" ")) <= maxOutputTokens)
      chosen.push(s)
  }
  return chosen
    .sort((a, b) => a.position - b.position)
    .map((c) => c.sentence.trim())
    .join(" ")
}

/**
 * Cuts a text to at most `maxTokens` tokens, at a word boundary; says whether
 * it had to cut.
 */
export const truncate = (
  text: string,
  maxTokens: number
): { readonly text: string; readonly truncated: boolean } => {
  const cut = cutToTokens(text, maxTokens)
  return { text: cut, truncated: cut !== text }
}
