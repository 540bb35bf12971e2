/**
 * Plain-text analysis for the Local model: content terms (lowercased, stop
 * words dropped, stemmed), word families, light words, question cues
 * ("how many", "when") and the kinds of expression that answer them, and
 * sentence splitting.
 *
 * Stems with the shared `text/Stemmer` (the one BM25 uses), which strips
 * inflections only: enough to match "budgets"/"budget" and
 * "retrieved"/"retrieve" without a dictionary, deterministically. Irregular
 * verb forms and derived words ("reimbursement"/"reimburse") are matched here,
 * for the Local model only.
 */
import { stem } from "../../text/Stemmer.ts"
import { relatedTerms } from "../../text/Synonyms.ts"

export { stem }

// Function words, question words and the instruction verbs that wrap a
// question ("briefly explain…", "based on the following…"), which say nothing
// about the topic. Nouns such as "answer", "question", "passage", "source" or
// "citation" are content words here: users ask about them ("How does Weft check
// citations against sources?"). Instructions written around a prompt's passages
// are kept out of the question by the `Question:` label, not by this list.
const STOP_WORDS = new Set(
  (
    "a about above after again against all also am an and any are as at be because been before being below " +
    "between both but by can cannot could did do does doing done down during each either else ever every few " +
    "for from further had has have having he her here hers herself him himself his how however i if in into is " +
    "it its itself just let like many may me might more most much must my myself neither no nor not now of off " +
    "on once one only or other ought our ours ourselves out over own per please same shall she should since so " +
    "some such than that the their theirs them themselves then there these they this those though through thus " +
    "to too toward towards under until up upon us very via was we were what whatever when where whether which while who whom " +
    "whose why will with within without would yet you your yours yourself yourselves " +
    "ones non using use based according following provided given tell explain describe say says said briefly"
  ).split(" ")
)

const ASCII_WORD = /^[a-z]+$/
const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu

// A contraction's clipped word: "don't" is "do not", "I'm" "I am", "we'll" "we will".
const CONTRACTION = /^(\p{L}+?)(n['’]t|['’](?:m|ve|ll|re|d))$/u
const CLIPPED: Readonly<Record<string, string>> = {
  "n't": "not",
  "'m": "am",
  "'ve": "have",
  "'ll": "will",
  "'re": "are",
  "'d": "would"
}
// Verbs a "n't" clips: "can't", "won't", "shan't".
const CLIPPED_BASE: Readonly<Record<string, string>> = { ca: "can", wo: "will", sha: "shall" }

/** The words of a text, lowercased, in order; a contraction is read as its two words ("don't" → "do", "not"). */
export const words = (text: string): Array<string> => {
  const out: Array<string> = []
  for (const match of text.toLowerCase().matchAll(WORD)) {
    const contracted = CONTRACTION.exec(match[0])
    if (contracted === null) {
      out.push(match[0].replace(/['’]s$/, ""))
      continue
    }
    const [, base, clip] = contracted as unknown as [string, string, string]
    out.push(CLIPPED_BASE[base] ?? base, CLIPPED[clip.replace("’", "'")] ?? clip)
  }
  return out
}

// Phrasal verbs and set phrases of everyday English, read as the one word a
// text may use instead: "get my money back" asks for a refund, "signs off" approves,
// "carried over" is carried, "time off" is leave.
const PHRASES: ReadonlyArray<readonly [RegExp, string]> = (
  [
    ["money back", "refund"],
    ["(pay|pays|paid|paying) back", "reimburse"],
    ["(carry|carries|carried|carrying|roll|rolls|rolled|rolling) (over|forward)", "carry"],
    ["(sign|signs|signed|signing) off", "approve"],
    ["(hand|hands|handed|give|gives|gave|given) (back|in)", "return"],
    // the same verbs with their object between ("hand my uniform back", "pay the advance back")
    [
      "(hand|hands|handed|give|gives|gave|given) ((?:(?:my|your|his|her|our|their|the|a|an|it|them|this|that) )?[a-z'-]+ )back",
      "return $2"
    ],
    [
      "(pay|pays|paid|paying) ((?:(?:my|your|his|her|our|their|the|a|an|it|them|this|that|me|us|him) )?(?:[a-z'-]+ )?)back",
      "reimburse $2"
    ],
    ["(take|takes|took|taken|taking) away", "remove"],
    ["(throw|throws|threw|thrown) (away|out)", "discard"],
    // a supply used up: "when the budget runs out", "once the allowance is used up"
    ["(run|runs|ran|running) out", "exhausted"],
    ["(use|uses|used|using) up", "exhausted"],
    ["get rid of", "discard"],
    ["(fill|fills|filled) (in|out)", "complete"],
    ["(call|calls|called) off", "cancel"],
    ["(put|puts) off", "postpone"],
    ["(pick|picks|picked) up", "collect"],
    ["(turn|turns|turned) down", "refuse"],
    ["(log|logs|logged|sign|signs|signed) (in|on)", "login"],
    ["time off", "leave"],
    ["bank (holiday|holidays)", "public $1"],
    ["days? off", "leave"],
    // nothing to pay: "without paying", "free of charge", "at no extra cost"
    ["without (paying|payment|charge|cost|a fee)", "free"],
    ["free of (charge|cost)", "free"],
    ["at no (extra |additional )?(cost|charge)", "free"],
    ["no charge", "free"],
    // work beyond one's hours is overtime
    ["(extra|additional) hours", "overtime"],
    // ending someone's employment
    ["(be|been|being|is|am|are|was|were|get|gets|got) let go", "$1 dismissed"],
    ["(laid|lay|lays|laying) off", "dismissed"],
    ["(made|make|makes|making) redundant", "dismissed"],
    // a death, said gently
    ["(pass|passes|passed|passing) away", "died"],
    // an age said as a compound is the person and a number: "my two-year-old" a child of 2 (to meet
    // "children under 3"), "a 17-year-old son" a son of 17, not "two years" of something
    [
      "(\\w+)-years?-old (sons?|daughters?|child|children|kids?|boys?|girls?|babies|baby|grandsons?|granddaughters?|nephews?|nieces?|students?|pupils?|members?|employees?|workers?|m[ae]n|wom[ae]n|persons?|people|dogs?|cats?)",
      "$2 $1"
    ],
    ["(\\w+)-years?-olds?", "child $1"],
    // donating blood, worded as giving it
    ["(give|gives|gave|given|giving) blood", "donate blood"],
    // "as well": also
    ["as well as", "and"],
    ["as well", "too"],
    // changing one's home
    ["(move|moves|moved|moving) (house|home)", "relocate"],
    // everyday phrasal verbs and set phrases, a second pass
    // family by marriage: "mother-in-law", "in-laws"
    ["(mother|father|brother|sister|son|daughter|parent|parents)[- ]in[- ]laws?", "inlaw"],
    ["in-laws?", "inlaw"],
    // where and how one works
    ["(work|works|worked|working) (from|at) home", "$1 remotely"],
    ["wfh", "work remotely"],
    ["face[- ]to[- ]face", "in person"],
    // leaving, coming back and being sent away
    ["(step|steps|stepped|stepping) down", "resign"],
    ["(drop|drops|dropped|dropping) out", "withdraw"],
    ["(kick|kicks|kicked|kicking) out", "expel"],
    ["(come|comes|came|coming|go|goes|went|going|bring|brings|brought|bringing) back", "return"],
    // getting in touch
    ["(get|gets|got|getting) in touch", "contact"],
    ["(reach|reaches|reached|reaching) out", "contact"],
    ["(let|lets) ((?:\\w+ ){1,2})know", "inform $2"],
    // dealing with things
    ["(sort|sorts|sorted|sorting) out", "resolve"],
    ["(look|looks|looked|looking) into", "investigate"],
    ["(look|looks|looked|looking) after", "care for"],
    ["(carry|carries|carried|carrying) out", "perform"],
    ["(make|makes|made|making) sure", "ensure"],
    ["(chip|chips|chipped|chipping) in", "contribute"],
    ["(right|straight) away", "immediately"],
    ["ahead of time", "in advance"],
    // accounts, devices and data
    ["(sign|signs|signed|signing)[- ]?up", "register"],
    ["(log|logs|logged|logging) (out|off)", "logout"],
    ["(sign|signs|signed|signing) out", "logout"],
    ["(turn|turns|turned|turning|switch|switches|switched|switching) on", "activate"],
    ["(turn|turns|turned|turning|switch|switches|switched|switching) off", "deactivate"],
    ["(back|backs|backed|backing) up", "backup"],
    ["(top|tops|topped|topping) up", "recharge"],
    ["wi-fi", "wifi"],
    ["(cell|mobile) (phone|phones)", "mobile"],
    // health
    [
      "(call|calls|called|calling|phone|phones|phoned|phoning|ring|rings|rang|ringing) in sick",
      "report sick"
    ],
    ["(fall|falls|fell|fallen|falling|become|becomes|became|becoming) (ill|unwell)", "sick"],
    ["(throw|throws|threw|thrown|throwing) up", "vomit"],
    ["(pass|passes|passed|passing) out", "faint"],
    ["(health|medical) care", "healthcare"],
    ["(child|day)[- ]care", "childcare"],
    ["electronic cigarettes?", "ecigarette"],
    // shops, services and forms
    ["gift (card|cards|certificate|certificates|token|tokens|voucher|vouchers)", "voucher"],
    ["(out of stock|sold out)", "unavailable"],
    ["lost (and|&) found", "lost property"],
    ["(waiting|wait)[- ]lists?", "waitlist"],
    ["(place|places|placed|placing) an? holds?", "reserve"],
    ["(drop|drops|dropped|dropping) off", "deliver"],
    ["customer (service|services|care)", "customer support"],
    ["front desk", "reception"],
    ["(car|parking) (park|parks|lot|lots)", "carpark"],
    ["air[- ](conditioning|conditioner|con)", "aircon"],
    ["(zip|post|postal) codes?", "postcode"],
    ["(last|family) names?", "surname"],
    ["(first|given) names?", "forename"],
    ["next of kin", "kin"],
    ["pro[- ]?rat(a|ed)", "proportional"],
    ["per diem", "daily allowance"],
    // a third pass: plain verbs and set phrases for the formal words of forms and terms
    [
      "(turn|turns|turned|turning|send|sends|sent|sending) in (an?|my|the|your|our|their|it|them|this|these)",
      "submit $2"
    ],
    [
      "(put|puts|putting) in (an?|my|the|your|our|their) (request|claim|application|complaint|form|notice|order|bid)",
      "submit $2 $3"
    ],
    [
      "(not|never|didn['’]t|don['’]t|doesn['’]t|won['’]t) (show|shows|showed|shown|turn|turns|turned) up",
      "$1 attend"
    ],
    ["(show|shows|showed|shown|showing|turn|turns|turned|turning) up (for|to|at)", "attend $2"],
    ["(turn|turns|turned|turning) up", "arrive"],
    ["no[- ]shows?", "noshow"],
    ["(take|takes|took|taken|taking) part in", "participate in"],
    ["(look|looks|looked|looking) (for|up)", "search"],
    ["(get|gets|got|getting) (in|into)", "enter"],
    [
      "(go|goes|went|gone|going) over (my|the|your|our|their|its|his|her) ((?:\\w+ )?(?:limit|limits|allowance|budget|quota|cap))",
      "exceed $2 $3"
    ],
    ["(pull|pulls|pulled|pulling|back|backs|backed|backing) out", "withdraw"],
    ["(cut|cuts|cutting) (back|down)", "reduce"],
    ["(break|breaks|broke|broken|breaking) down", "breakdown"],
    ["(opt|opts|opted|opting)[- ]in", "consent"],
    ["(fall|falls|fell|fallen|falling) behind (on|with)", "arrears $2"],
    ["(hear|hears|heard|hearing) back", "receive reply"],
    ["(move|moves|moved|moving) out", "vacate"],
    ["(pop|pops|popped|popping) (in|into|by|round)", "visit"],
    ["(pick|picks|picked|picking) out", "choose"],
    ["(hand|hands|handed|handing) out", "distribute"],
    [
      "(log|logs|logged|logging|raise|raises|raised|raising) (an?|the) (fault|issue|complaint|problem|ticket|concern)",
      "report $3"
    ],
    ["(set|sets|setting) off (the |an? )?(fire )?alarms?", "trigger alarm"],
    // check-in and check-out are times and desks, not checks
    ["(check|checks|checked|checking)[- ]in", "checkin"],
    ["(check|checks|checked|checking)[- ]out", "checkout"],
    // amounts and states said in everyday words
    ["(a|one) fortnight", "two weeks"],
    ["half an hour", "30 minutes"],
    ["out[- ]of[- ]date", "expired"],
    ["brand[- ]new", "new"],
    ["proof of (purchase|payment)", "receipt"],
    // consumer services
    ["personal protective equipment", "ppe"],
    ["protective (gear|equipment)", "ppe"],
    ["(guide|service|assistance|hearing) (dog|dogs|animal|animals)", "assistance $2"],
    ["swimming pools?", "pool"],
    ["fitness (centre|centres|center|centers|club|clubs|suite|suites)", "gym"],
    ["late (fee|fees|charge|charges)", "late $1 penalty"],
    ["delivery (driver|drivers|person|people|man|men)", "courier"],
    ["auto[- ]?(renew|renews|renewed|renewal|renewing)", "automatically $1"],
    ["box offices?", "ticket office"],
    // money kept back
    ["(put|puts|putting) (aside|away|by)", "save"]
  ] as const
).map(([phrase, word]) => [new RegExp(`\\b${phrase}\\b`, "gi"), word] as const)

/**
 * The words a phrase's match can start with (lowercase), read from its
 * pattern: the pattern's first word, or each first word of a leading group of
 * alternatives ("(pay|pays|paid) back" → pay, pays, paid). Undefined when the
 * pattern does not start so plainly (then a text is always tried against it).
 */
export const leadingWords = (source: string): ReadonlyArray<string> | undefined => {
  const body = source.replace(/^\\b/, "")
  const group = /^\(([^()|]+(?:\|[^()|]+)*)\)(?![?*+{])/.exec(body)
  const alternatives = group === null ? [body] : group[1]!.split("|")
  const firsts: Array<string> = []
  for (const alternative of alternatives) {
    const first = /^[a-z]+(?![a-z?*+{])/.exec(alternative)
    // A word whose last letter is optional ("days?") starts a match with or without it.
    const optional = first === null ? /^([a-z]+)([a-z])\?(?![a-z?*+{])/.exec(alternative) : null
    if (first !== null) firsts.push(first[0])
    else if (optional !== null) firsts.push(optional[1]!, optional[1]! + optional[2]!)
    else return undefined
  }
  return firsts
}

/**
 * The phrases by the words they can start with, and those that might start
 * with any: a text is tried only against phrases whose first word it holds,
 * so most texts (which hold none) cost one split into words, and a pattern is
 * compiled only when a text might match it (compiling all of them, or one
 * alternation of all, took 20–30 ms at every start).
 */
const PHRASES_BY_WORD = new Map<string, Array<number>>()
const PHRASES_ANYWHERE: Array<number> = []
PHRASES.forEach(([pattern], at) => {
  const firsts = leadingWords(pattern.source)
  if (firsts === undefined) PHRASES_ANYWHERE.push(at)
  else
    for (const first of firsts) {
      const list = PHRASES_BY_WORD.get(first)
      if (list === undefined) PHRASES_BY_WORD.set(first, [at])
      else if (list.at(-1) !== at) list.push(at)
    }
})

/** The lowercase ASCII words of a text, as `\b` bounds them. */
const asciiWords = (text: string): Set<string> => new Set(text.toLowerCase().match(/[a-z]+/g))

/**
 * The words of a text as the Local model reads them: `words`, with a phrasal
 * verb or set phrase ("money back", "signs off") read as the one word it stands for.
 */
export const readingWords = (text: string): Array<string> => {
  // A one-letter prefix makes one word with what it is joined to: "e-book", "e-mail", "x-ray".
  let read = text.replace(/\b(\p{L})-(\p{L})/gu, "$1$2")
  // Phrases apply in order, each to what the ones before it left, so a phrase
  // is tried when the text as it now stands holds a word it can start with.
  let present = asciiWords(read)
  const candidates = new Set(PHRASES_ANYWHERE)
  for (const word of present) for (const at of PHRASES_BY_WORD.get(word) ?? []) candidates.add(at)
  if (candidates.size === 0) return words(read)
  for (let at = 0; at < PHRASES.length; at++) {
    if (!candidates.has(at)) continue
    const [pattern, word] = PHRASES[at]!
    const replaced = read.replace(pattern, word)
    if (replaced === read) continue
    read = replaced
    // The replacement may hold words that start later phrases.
    present = asciiWords(read)
    for (const now of present)
      for (const later of PHRASES_BY_WORD.get(now) ?? []) if (later > at) candidates.add(later)
  }
  return words(read)
}

/** `readingWords` trying every phrase on every text, as it did before `PHRASES_BY_WORD`: for tests. */
export const readingWordsTryingEveryPhrase = (text: string): Array<string> => {
  let read = text.replace(/\b(\p{L})-(\p{L})/gu, "$1$2")
  for (const [pattern, word] of PHRASES) read = read.replace(pattern, word)
  return words(read)
}

// Irregular English verb forms (past tense and participle) and plurals, and the
// base they inflect, so "paid" meets "pay" and "children" meets "child" as
// regular forms do.
const IRREGULAR = new Map<string, string>(
  (
    "paid:pay kept:keep held:hold given:give gave:give taken:take took:take made:make sent:send " +
    "spent:spend bought:buy brought:bring thought:think told:tell sold:sell found:find left:leave " +
    "lost:lose met:meet got:get gotten:get went:go gone:go came:come become:become became:become " +
    "began:begin begun:begin chosen:choose chose:choose written:write wrote:write known:know knew:know " +
    "shown:show grown:grow drawn:draw drew:draw driven:drive drove:drive ridden:ride rode:ride " +
    "broken:break broke:break spoken:speak spoke:speak stolen:steal stole:steal woken:wake woke:wake " +
    "worn:wear wore:wear torn:tear tore:tear borne:bear bore:bear sworn:swear swore:swear " +
    "fallen:fall fell:fall forgotten:forget forgot:forget hidden:hide hid:hide eaten:eat ate:eat " +
    "seen:see saw:see done:do did:do run:run ran:run sat:sit stood:stand understood:understand " +
    "won:win hung:hang fed:feed fled:flee led:lead read:read heard:hear laid:lay lent:lend meant:mean " +
    "dealt:deal felt:feel slept:sleep swept:sweep wept:weep built:build bent:bend bound:bind " +
    "caught:catch taught:teach fought:fight sought:seek struck:strike stuck:stick flew:fly flown:fly " +
    "threw:throw thrown:throw blew:blow blown:blow rose:rise risen:rise froze:freeze frozen:freeze " +
    "shook:shake shaken:shake withdrew:withdraw withdrawn:withdraw forbade:forbid forbidden:forbid " +
    "undertook:undertake undertaken:undertake overtook:overtake overtaken:overtake arose:arise arisen:arise " +
    // "-oes" forms the stemmer leaves as "goe", "doe"
    "goes:go does:do undergoes:undergo " +
    // verbs in -ie the stemmer reads as "di", "ly": "died" meets "die" (and its synonym "death")
    "died:die dies:die dying:die lied:lie lies:lie lying:lie tied:tie ties:tie tying:tie " +
    // irregular plurals
    "children:child men:man women:woman teeth:tooth feet:foot mice:mouse"
  )
    .split(" ")
    .map((pair) => pair.split(":") as [string, string])
)

/**
 * Inflections Porter's stemmer leaves apart from their base, read as the base
 * first: a short verb in -y ("tried" → "tri", "try" → "try") and one in -eed
 * ("exceeded" → "exceed", "exceed" → "exce").
 */
const baseForm = (word: string): string =>
  /^[a-z]{2}ie[sd]$/.test(word)
    ? `${word.slice(0, 2)}y`
    : /eed(?:ed|ing|s)$/.test(word)
      ? word.replace(/(?:ed|ing|s)$/, "")
      : word

// Numbers written out, as the digits a text may use instead ("twenty years" meets "20 years").
// Not "one" ("no one", "each one"), nor "hundred" and "thousand", which need a number before them.
const DIGITS = new Map(
  "two:2 three:3 four:4 five:5 six:6 seven:7 eight:8 nine:9 ten:10 eleven:11 twelve:12 fifteen:15 twenty:20 thirty:30 forty:40 fifty:50 sixty:60 ninety:90"
    .split(" ")
    .map((pair) => pair.split(":") as [string, string])
)

/** A word's content term: its irregular base ("paid" → "pay"), stemmed; a number written out as its digits. */
const termOf = (raw: string): string => {
  const digits = DIGITS.get(raw)
  if (digits !== undefined) return digits
  const word = baseForm(raw)
  const irregular = IRREGULAR.get(word)
  if (irregular !== undefined) return stem(irregular)
  // A negated irregular form keeps its negation: "unpaid" → "un" + "pay".
  const negated = word.startsWith("un") ? IRREGULAR.get(word.slice(2)) : undefined
  return negated !== undefined ? `un${stem(negated)}` : stem(word)
}

/** The stemmed content terms of a text, in order (repeats kept). */
export const terms = (text: string): Array<string> => {
  const out: Array<string> = []
  for (const word of readingWords(text)) {
    if (STOP_WORDS.has(word)) continue
    if (word.length < 2 && !/\d/.test(word)) continue
    out.push(ASCII_WORD.test(word) ? termOf(word) : word)
  }
  return out
}

// General English's most common verbs, adjectives and adverbs, and a few
// all-purpose nouns: words that frame a question more than they name its topic
// ("what happens to…", "who can sign…", "how big is…", "where can I find…").
// A passage that answers often words them differently. They are not stop
// words — they still match — but they weigh less when deciding whether the
// passages cover the question; the topic is carried by its nouns.
const LIGHT_WORDS = new Set(
  // verbs (not those as often nouns of a topic: "support", "pay", "return", "report", "change")
  (
    "be have do say get make go know take see come think look want give use find tell ask seem feel try " +
    "keep need become arrive depart enter stay happen occur offer " +
    "let begin start show hear move like live believe hold bring happen write provide sit stand lose meet " +
    "include continue set learn lead understand follow stop create speak read allow add spend grow open " +
    "win remember consider appear buy wait serve send expect build stay fall reach remain suggest raise " +
    "pass sell require decide pull explain develop carry receive agree hit produce catch draw choose " +
    "realise realize involve reduce apply mean count handle hand sign drive fill finish put turn end " +
    "ensure permit enable manage contain describe exist gain obtain occur own prepare prevent prove refer " +
    "represent seek throw treat wear " +
    // adjectives and adverbs
    "able big small large little long short high low old new young good bad great whole right wrong " +
    "main usual normal general typical certain exact actual real sure clear possible available different " +
    "same similar other another early late easy hard simple common particular specific current recent final " +
    "total major minor basic proper single double public private personal minimum maximum usually normally generally typically " +
    "exactly actually really back away ago already always never often sometimes still soon later again " +
    "less fewer least rather quite very just also only too " +
    // superlatives: how much of something is asked for ("the longest a secondment can run")
    "most longest shortest latest earliest soonest highest lowest biggest smallest largest cheapest dearest " +
    "even instead together ever far ahead quickly fast slowly daily weekly monthly quarterly yearly annually nightly hourly " +
    // all-purpose nouns
    "thing way kind sort type part case person people someone somebody anyone anybody everyone everybody " +
    "nobody something anything everything lot number amount matter fact point situation option rule " +
    "policy detail information question answer problem reason result example " +
    // measures: what a question asks the size of ("the rate", "the limit"), worded many ways in an answer
    "limit cap ceiling length size rate cost price fee charge value level total duration period deadline date time timeframe timescale " +
    "share proportion portion percentage"
  )
    .split(" ")
    .map(termOf)
)

/**
 * Whether a content term is one of general English's light words (see
 * `LIGHT_WORDS`) or a number (a question's "800 euros" is a value to compare,
 * not a topic a passage must name).
 */
export const isLightTerm = (term: string): boolean =>
  LIGHT_WORDS.has(term) || /^\d/.test(term) || NUMBER_WORDS.has(term)

// Numbers written out: a question's "seven hours" is a value to compare, like "7 hours".
const NUMBER_WORDS: ReadonlySet<string> = new Set(
  "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty hundred thousand"
    .split(" ")
    .map(termOf)
)

// A full stop after one of these does not end a sentence.
const ABBREVIATION = /\b(?:e\.g|i\.e|etc|vs|cf|mr|mrs|ms|dr|prof|inc|ltd|jr|sr|st|no|fig|approx|al)\.$/i
const INITIAL = /(?:^|[\s.])\p{Lu}\.$/u
// A sentence ends before an uppercase letter, a digit or a quote, or before a
// markdown opener: inline code (`` `Step.make` runs… ``, whatever its case) or
// emphasis (`*`, `_`, `**`) on a capital, a digit or inline code.
const SENTENCE_END =
  /[.!?]+["'”’)\]*_`]*(?=\s+(?:["'“‘([]?(?:[\p{Lu}\p{N}]|`)|[*_]{1,3}(?:[\p{Lu}\p{N}]|`)))/gu
const LIST_MARKER = /^\s*(?:[-*•+]|\d+[.)])\s+/

/** Whether `at` falls inside a bracket opened since `from` and closed after `at`. */
const insideBrackets = (text: string, from: number, at: number): boolean => {
  let depth = 0
  for (let i = from; i < at; i++) {
    const c = text.charCodeAt(i)
    // 40 is "(", 41 is ")".
    if (c === 40) depth++
    else if (c === 41 && depth > 0) depth--
  }
  return depth > 0 && text.indexOf(")", at) !== -1
}

/**
 * Splits a text into sentences. Paragraphs, list items and markdown headings
 * end a sentence; headings, table rows and fenced code are dropped (they are
 * titles and data, not statements to quote). Lines inside a paragraph are joined.
 */
export const sentences = (text: string): Array<string> => {
  const out: Array<string> = []
  const blocks: Array<string> = []
  let current: Array<string> = []
  const flush = () => {
    if (current.length > 0) blocks.push(current.join(" "))
    current = []
  }
  let inCode = false
  for (const line of text.split("\n")) {
    const trimmed = line.trim()
    // Code blocks and table rows are not sentences to quote; they end the one before them.
    if (trimmed.startsWith("```")) {
      inCode = !inCode
      flush()
      continue
    }
    if (inCode || trimmed.startsWith("|") || trimmed.length === 0 || /^#{1,6}\s/.test(trimmed)) {
      flush()
      continue
    }
    if (LIST_MARKER.test(trimmed)) flush()
    current.push(trimmed.replace(LIST_MARKER, ""))
  }
  flush()
  for (const block of blocks) {
    const flat = block.replace(/\s+/g, " ")
    let start = 0
    // Backticks before `ticked`, counted as the matches move on: an odd count is inside inline code.
    let ticks = 0
    let ticked = 0
    for (const match of flat.matchAll(SENTENCE_END)) {
      for (; ticked < match.index; ticked++) if (flat.charCodeAt(ticked) === 96) ticks++
      // A full stop inside inline code ("replies `No answer.` and…", the span closed later) or inside
      // brackets that close later ("(\"My grandmother died yesterday. How many days…?\")") ends no sentence.
      const inCode = ticks % 2 === 1 && flat.indexOf("`", match.index) !== -1
      if (inCode || insideBrackets(flat, start, match.index)) continue
      const end = match.index + match[0].length
      const candidate = flat.slice(start, end).trim()
      // "e.g." or "(e.g.)" or "*i.e.*": look past closing quotes, brackets and emphasis.
      const stop = candidate.replace(/["'”’)\]*_`]+$/u, "")
      if (ABBREVIATION.test(stop) || INITIAL.test(stop)) continue
      if (candidate.length > 0) out.push(candidate)
      start = end
    }
    const rest = flat.slice(start).trim()
    if (rest.length > 0) out.push(rest)
  }
  return out
}

/**
 * What kind of answer a question asks for, read from its opening words: a
 * quantity ("how many…", "how much…"), a duration ("how long…", "how
 * soon…"), a price ("how much does it cost…"), a frequency ("how often…") or a point in time ("when…", "what
 * time…", "by when…") or a person or body ("who…", "which manager…"). A sentence that answers such a question carries that
 * kind of expression; one that only shares the question's words does not.
 */
export type AnswerKind =
  | "quantity"
  | "money"
  | "duration"
  | "frequency"
  | "time"
  | "person"
  | "code"
  | "procedure"

export interface QuestionCue {
  readonly kind: AnswerKind
  /** The words of the cue that say what is asked ("long", "often"), not what it is about. */
  readonly cueWords: ReadonlyArray<string>
}

// People, roles and bodies that answer "who…": "your line manager", "the security team", "HR".
const ROLE =
  /\b(?:employees?|staff|colleagues?|workers?|managers?|lead|leads|head|heads|directors?|supervisors?|teams?|departments?|committees?|board|hr|it|payroll|finance|legal|officers?|desk|providers?|suppliers?|vendors?|customers?|clients?|company|employer|doctors?|nurses?|person|people|owners?|administrators?|admins?|contractors?|buddy|mentors?|assistants?|reception|receptionists?|chair|ceo|cfo|cto)\b/

export const CUES: ReadonlyArray<{
  readonly pattern: RegExp
  readonly kind: AnswerKind
  /** Read in the whole question, not only its opening words: "how much does a parking permit cost". */
  readonly whole?: boolean
  /**
   * The question words the pattern cannot match without: it is run only on a text holding one.
   * Compiling the patterns is most of a first question's reading (≈ 9 ms), so a "how…"
   * question never compiles those of "who…" or "which…".
   */
  readonly needs: ReadonlyArray<string>
}> = [
  { pattern: /\bhow (often|frequently)\b/, kind: "frequency", needs: ["how"] },
  {
    pattern: /\bhow (long|soon|quickly|fast|far ahead|far in advance|early|late)\b/,
    kind: "duration",
    needs: ["how"]
  },
  { pattern: /\b(?:for|within) how (many|much)\b/, kind: "duration", needs: ["how"] },
  // "Within what timeframe…", "in what period…": a span is asked for.
  {
    pattern: /\b(?:within|in|over) (?:what|which) (timeframe|time frame|period|timescale|time)\b/,
    kind: "duration",
    needs: ["what", "which"]
  },
  // "How much does it cost…", "what does X cost", "what is the price of…": an amount of money.
  {
    pattern:
      /\b(?:how much (?:\w+ ){0,5}(cost|costs|charge|charged|pay)|how much (?:is|are|was|were) (?:\w+ ){0,4}(fee|fees|price|prices|fare|fares|rent|premium|charge|charges)|(?:what|which) (?:\w+ ){1,5}(cost|costs)|(?:what|which) (?:is|are|was) (?:the|a|an) (cost|price|fee|charge))\b/,
    kind: "money",
    whole: true,
    needs: ["how", "what", "which"]
  },
  { pattern: /\bhow (many|much)\b/, kind: "quantity", needs: ["how"] },
  // "How big is the bonus?", "how high is the limit?": a size, asked as an adjective.
  { pattern: /\bhow (big|large|high|low|small|heavy)\b/, kind: "quantity", needs: ["how"] },
  {
    pattern:
      /\b(?:what|which) (?:is|are|was) (?:the|a|an) (cost|price|fee|rate|amount|percentage|minimum|maximum|limit|length|size)\b/,
    kind: "quantity",
    needs: ["what", "which"]
  },
  // "What is the age limit…": the age is asked for, and the answer names it ("children aged…").
  {
    pattern: /\b(?:what|which) (?:is|are|was) (?:the|a|an) (?:minimum |maximum )?age\b/,
    kind: "quantity",
    needs: ["what", "which"]
  },
  // "What is the phone number…", "what number do I call": a number that names something, so
  // the answer must hold one of several digits ("extension 2222"), not a time or a count.
  {
    pattern: /\b(?:(?:what|which) (?:is|are|was) (?:the|a|an|your|our) (?:\w+ )?(number)|what (number))\b/,
    kind: "code",
    needs: ["what", "which"]
  },
  {
    pattern:
      /(?:(?:^|\| )(?:when|by when|until when)|\bwhat (time|date|day|month|year)|\bwhich (day|days|month|months|year))\b/,
    kind: "time",
    needs: ["when", "what", "which"]
  },
  // "What's the latest I can…", "What is the cutoff time for…": a point in time is asked for.
  {
    pattern: /\bwhat(?: is|s)? the (latest|earliest|deadline|cutoff|cut off)\b/,
    kind: "time",
    needs: ["what"]
  },
  // "Who do I contact…", "who should I ask…": the verb of turning to someone is the question's
  // cue, not its topic — what the person is contacted about is.
  {
    pattern:
      /(?:^|\| )(?:who|whom) (?:do|should|can|must|shall|would) (?:i|we|you|staff|employees) (contact|ask|call|phone|email|e-mail|notify|inform|tell|approach|see|speak|talk|write)\b/,
    kind: "person",
    needs: ["who"]
  },
  // "Who approves…", "which manager signs…": a person, a role or a body is asked for.
  {
    pattern: new RegExp(
      `(?:(?:^|\\| )(?:who|whom)|\\b(?:which|what) (?:\\w+ )?${ROLE.source.slice(2, -2)})\\b`
    ),
    kind: "person",
    needs: ["who", "what", "which"]
  }
]

// "How can I become…", "how do I request…", "what should I do if…", "how to…": a way to do
// something is asked for — a step to take, a channel, a person to ask.
const PROCEDURE_CUE =
  /(?:^|\| )(?:how (?:can|could|do|does|should|would|may|must|will) (?:i|we|you|one|employees?|staff|someone|people)|how to|what (?:should|do|must|can|shall) (?:i|we|you) do|what (?:is|are) the (?:procedure|process|steps?) (?:to|for))\b/

/**
 * The sentence of a question that asks: the last one ending in a question mark, when the
 * question sets the scene first ("My dad died last week. How much time off can I take?") —
 * the scene's words say whose case it is, not what is asked. Otherwise the whole question.
 */
export const askedSentence = (question: string): string => {
  const parts = question.split(/(?<=[.!?])\s+(?=\S)/u)
  if (parts.length < 2) return question
  return parts.findLast((part) => /\?\s*$/.test(part)) ?? question
}

/**
 * What the cue patterns read of a question's asking sentence: `text`, its opening words and
 * each clause's ("…, and when does it end?"), so a "when" deep inside ("Who pays when the
 * machine goes in for repair?") is not what is asked; and `whole`, all its words.
 */
export const cueTexts = (wording: string): { readonly text: string; readonly whole: string } => {
  const question = askedSentence(wording)
  const clauses = question
    .toLowerCase()
    .split(/[,;]|\b(?:and|or|but)\b/)
    .map((clause) => words(clause).slice(0, 4).join(" "))
  const text = [words(question).slice(0, 5).join(" "), ...clauses].join(" | ")
  return { text, whole: words(question).join(" ") }
}

/** The answer kind a question's wording asks for, if it asks for one (read in its asking sentence). */
export const questionCue = (wording: string): QuestionCue | undefined => {
  const { text, whole } = cueTexts(wording)
  for (const { pattern, kind, whole: readsWhole, needs } of CUES) {
    const read = readsWhole === true ? whole : text
    if (!needs.some((word) => read.includes(word))) continue
    const match = pattern.exec(read)
    if (match !== null) {
      const cueWords = match.slice(1).flatMap((group) => (group === undefined ? [] : group.split(" ")))
      return { kind, cueWords }
    }
  }
  if (PROCEDURE_CUE.test(text)) return { kind: "procedure", cueWords: [] }
  return undefined
}

const NUMBER_WORD =
  "(?:\\d[\\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|ninety|hundred|thousand|half|a|an|once|twice|several|few)"
const UNIT = "(?:second|minute|hour|day|week|fortnight|month|quarter|year|working day|business day|night)s?"
const ORDINAL =
  "(?:\\d+(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|twentieth|thirtieth)"
// Month and weekday names only when capitalised: "may" is usually a verb.
const CALENDAR =
  /\b(?:January|February|March|April|May|June|July|August|September|October|November|December|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)days?|weekdays?|weekends?)\b/

// Verbs that name a step of a procedure: what one does to get something done.
const PROCEDURE_VERB =
  "(?:apply|ask|book|call|contact|email|e-mail|fill in|fill out|complete|inform|notify|phone|register|enrol|enroll|join|report|request|send|sign up|submit|speak|talk|tell|write|visit|log in|go to|raise|hand|bring|return|take|use|pay|order|arrange|discuss|agree|follow|check|read|attach|download|upload|print|choose|select|nominate|volunteer|put|leave|give|make|keep|store|wait)"

const KIND_PATTERN: Record<AnswerKind, ReadonlyArray<RegExp>> = {
  money: [
    /[€$£¥]|\b(?:eur|usd|gbp|euros?|dollars?|pounds?|cents?|pence)\b/i,
    // …or that nothing is due: an amount too, where "paid by", "deducted" or "reimbursed" is not one.
    /\b(?:free|free of charge|no charge|no cost|nothing|costs? nothing|at cost|(?:covered|paid|reimbursed) in full|fully (?:covered|paid|reimbursed))\b/i
  ],
  quantity: [
    /\d|[%€$£]/,
    /\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundred|thousand|half|twice|once|double|free|no|none|unlimited|all|full)\b/i
  ],
  duration: [
    new RegExp(`\\b${NUMBER_WORD}[- ](?:\\w+ )?${UNIT}\\b`, "i"),
    /\b(?:immediately|same day|next (?:working |business )?day|overnight|instantly)\b/i,
    /\d\s?(?:ms|s|secs?|mins?|h|hrs?|d|wk|wks)\b/i,
    // "How long…" asks for a length too ("at least 14 characters long").
    /\d/
  ],
  frequency: [
    /\b(?:every|each|once|twice|daily|weekly|monthly|quarterly|yearly|annually|hourly|per|times)\b/i,
    /\ba (?:day|week|month|year)\b/i
  ],
  // A number answers "when" as a clock time, a year or a date, or with a unit ("within 30
  // days", "the 25th"); a bare one ("1.5 times the rate", "grade 7") says how much, not when.
  time: [
    /\b\d{1,2}[:.]\d{2}\b|\d\s?(?:am|pm)\b|\b(?:19|20)\d{2}\b|\b\d{1,2}[/-]\d{1,2}\b/i,
    new RegExp(
      `\\b(?:within|after|before|in|from|by|until|for|than|of) (?:the )?(?:first |last )?${NUMBER_WORD}[- ]${UNIT}\\b`,
      "i"
    ),
    /\b(?:with|by|in|from|on|at|during|until|before) the (?:following|next|previous|same) (?:working |business )?(?:day|week|month|quarter|year|morning|evening)\b/i,
    CALENDAR,
    new RegExp(`\\b${ORDINAL}\\b`, "i"),
    /\b(?:before|after|until|till|within|immediately|starts?|start of|end of|as soon as|morning|afternoon|evening|noon|midnight)\b/i
  ],
  code: [/\d{3,}|\d+[-/ ]\d+[-/ ]\d+/],
  // A step to take: an instruction ("Report it to…", "…, apply to your manager"), something one
  // can or must do to ask, apply or tell, or the channel or means it goes through.
  procedure: [
    new RegExp(`(?:^|[,;:] )(?:please |first |then |simply )?${PROCEDURE_VERB}\\b`, "i"),
    new RegExp(
      `\\b(?:can|should|must|may|need to|needs to|have to|has to|are asked to|is asked to|is to|are to) (?:\\w+ )?${PROCEDURE_VERB}\\b`,
      "i"
    ),
    /\b(?:through|via|by (?:\w+ing|(?:\w+ ){0,2}(?:form|portal|app|e-?mail|phone|card|badge|transfer|post|letter|cheque|cash)))\b/i,
    /\b(?:forms?|portal|intranet|app|online|helpdesk|service desk|hotline|care line)\b/i
  ],
  // A role names who; "who pays…" is also answered by who is charged, or that nobody is.
  person: [
    new RegExp(ROLE.source, "i"),
    /\b(?:free of charge|no charge|at no cost|paid by|charged to|covered by)\b/i
  ]
}

const ROLES = new RegExp(ROLE.source, "gi")

/** The role a "which…" question asks to name: "doctor" in "Which doctor should I see?". */
export const roleAsked = (question: string): string | undefined => {
  const opening = words(question).slice(0, 3)
  if (opening[0] !== "which" && opening[0] !== "what") return undefined
  return opening.slice(1).find((word) => new RegExp(`^${ROLE.source}$`).test(word))
}

/**
 * Whether a sentence carries the kind of expression a question cue asks for.
 * A role answers "who…" only when it is not one the question itself names
 * (`asked`, its terms), unless it is the role a "which…" question asks about
 * (`sought`) with a word saying which: "Which doctor…" is not answered by
 * "a fit note from a doctor".
 */
export const hasAnswerKind = (
  sentence: string,
  kind: AnswerKind,
  asked?: ReadonlySet<string>,
  sought?: string
): boolean => {
  if (kind !== "person" || asked === undefined)
    return KIND_PATTERN[kind].some((pattern) => pattern.test(sentence))
  if (KIND_PATTERN.person.slice(1).some((pattern) => pattern.test(sentence))) return true
  for (const match of sentence.matchAll(ROLES)) {
    const roleTerms = terms(match[0])
    if (!roleTerms.some((term) => asked.has(term))) return true
    // The role "which…" asks about, qualified: "part-time staff" answers "Which staff…", "a doctor" does not.
    const before = /([\p{L}'-]+)\s+$/u.exec(sentence.slice(0, match.index))?.[1]?.toLowerCase()
    const isAsked = sought !== undefined && roleTerms.some((term) => terms(sought).includes(term))
    if (
      isAsked &&
      before !== undefined &&
      !DETERMINERS.has(before) &&
      !terms(before).some((t) => asked.has(t))
    ) {
      return true
    }
  }
  // Or a name: a capitalised word past the first that the question does not use ("Maria Lopez").
  return (sentence.replace(/^\W*\S+/, "").match(/\b\p{Lu}\p{Ll}+\b/gu) ?? []).some(
    (name) => !terms(name).some((term) => asked.has(term))
  )
}

// Words before a role that do not say which one: "a doctor", "to your manager".
const DETERMINERS: ReadonlySet<string> = new Set(
  "a an the your our their his her its my any each every some all from to of by with for and or".split(" ")
)

// Derivational endings that keep a word in its family: "sick"/"sickness",
// "day"/"daily" (stemmed "dai"/"daili"), "pay"/"payment", "reimburse"/"reimbursement".
const DERIVATION =
  /^(?:li|ili|ness|ment|al|ion|ation|ition|ity|iti|er|or|ist|ism|ful|less|ship|ance|ence|ant|ent|iv|ive|abl|able)$/

/**
 * Whether `negated` ("un…") negates `term` or its family: a long one of the family
 * ("unresolved"/"resolve"), a short one only exactly ("unus"/"us", "unpai"/"pai") and
 * not when it reads "uni…" ("unit" is not "it").
 */
const isNegationOf = (negated: string, term: string): boolean =>
  negated.length >= 6
    ? isFamily(negated.slice(2), term)
    : negated.length >= 4 && negated[2] !== "i" && negated.slice(2) === term

/**
 * Whether two content terms are of one word family: one extends the other by
 * a derivational ending, or both share a stem of at least five letters and
 * differ only in a short ending ("contribut"/"contribution"). A stem's final
 * "i" may stand for "y" ("pai" for "pay"); a negating "un-" is of the family too.
 */
export const isFamily = (a: string, b: string): boolean => {
  if (a === b) return true
  // A negated form is of its word's family ("unresolved"/"resolved", "unused"/"used").
  if (a.startsWith("un") && isNegationOf(a, b)) return true
  if (b.startsWith("un") && isNegationOf(b, a)) return true
  const [short, long] = a.length <= b.length ? [a, b] : [b, a]
  // "-ble" takes "-bility": "eligibl"/"eligibiliti", "availabl"/"availabiliti".
  if (short.length >= 5 && short.endsWith("bl") && long === `${short.slice(0, -2)}biliti`) return true
  // A compound is of its head's family: "hotline"/"line", "timeframe"/"frame".
  if (short.length >= 4 && long.length - short.length >= 3 && long.endsWith(short)) return true
  // A stem's final "i" may stand for a "y" that a derived form drops: "chariti"/"charitabl".
  const bases = !short.endsWith("i")
    ? [short]
    : short.length >= 6
      ? [short, `${short.slice(0, -1)}y`, short.slice(0, -1)]
      : [short, `${short.slice(0, -1)}y`]
  return bases.some((base) => {
    if (base.length < 3 || !long.startsWith(base)) return false
    const rest = long.slice(base.length)
    // "full"/"fulli" (fully): a stem in -l takes -ly as -i.
    return (
      DERIVATION.test(rest) ||
      // "reimburs"/"reimbursement": the stem lost an "e" the derived form keeps.
      DERIVATION.test(rest.replace(/^e(?=.)/, "")) ||
      // "time"/"timer", "use"/"user": a stem kept its final "e", the derived form shares it.
      (base.endsWith("e") && DERIVATION.test(`e${rest}`)) ||
      (rest === "i" && base.endsWith("l")) ||
      (base.length >= 5 && rest.length <= 4)
    )
  })
}

/**
 * The content terms a term's everyday synonyms stem to ("holiday" → "leav",
 * "vacat"), from the hand-written `text/Synonyms` sets, read with this
 * module's irregular verb forms.
 */
export const synonymsOf = relatedTerms(termOf)
