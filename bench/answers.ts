/**
 * Answer quality of the Local model: does it answer what the corpus answers
 * (the expected fact, citing the right source) and decline what it does not?
 *
 *     node bench/answers.ts [data folder] [--verbose[=<set>]] [--only=<set>]
 *
 * A data folder holds `corpus/` (markdown documents) and one JSON file per
 * question set (`dev.json`, `test.json`, …): an array of
 * `{ question, fact, source }`, where `fact` is a phrase the answer must
 * contain and `source` the document it must cite, or `fact: null` for a
 * question the corpus does not answer. The default folder is
 * bench/data/answers, written for this bench (policy, product and handbook
 * documents; questions phrased differently from the text, and unanswerable
 * questions that share the corpus's vocabulary). Tune on `dev` only.
 *
 * Each question goes the way the Rag workflow sends it: BM25 retrieval of the
 * top 5 passages, the query expanded with everyday synonyms (`text/Synonyms`,
 * at half weight), the workflow's instructions and `Question:` prompt, and
 * `LanguageModel.generateText` against `Local.layer()`. A set in a folder of
 * its own (`dev3/dev3.json`) brings documents of its own (`dev3/corpus/`),
 * retrieved with the shared corpus for its questions only. Prints one line per
 * set, `set=<name> answered=<right>/<answerable> declined=<declined>/<unanswerable>`,
 * and, for the default data only, writes the table to docs/bench/answers.md.
 * `--recall` measures retrieval alone instead: how often the passage holding
 * an answerable question's fact (else its source) is in the top 5 and top 8,
 * with and without the expansion. `--rules` adds, for each set, how many answerable and
 * unanswerable questions each of the model's decline rules declined. `--no-declines` switches
 * the decline rules off (all but "no question word matches"; no table is written): the
 * best-ranked sentence answers, which measures how far choosing sentences alone gets.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { basename, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "effect"
import { LanguageModel, Prompt } from "effect/ai"
import { type DeclineRule, declines } from "../src/model/internal/extractive.ts"
import * as Local from "../src/model/Local.ts"
import { formatPassages, isUnanswered, parseCitations, UNANSWERED } from "../src/model/PassageFormat.ts"
import type { Document } from "../src/retrieval/Chunking.ts"
import { loadFolder } from "../src/retrieval/Ingest.ts"
import { fromDocuments, type Passage } from "../src/retrieval/Retriever.ts"
import { synonymsOf } from "../src/text/Synonyms.ts"
import { writeResults } from "./report.ts"

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..")
const defaultData = join(root, "bench", "data", "answers")
const args = process.argv.slice(2)
// `--verbose=dev` lists the failures of the dev set (tune on dev only; leave the test set unread).
const verboseArg = args.find((arg) => arg.startsWith("--verbose"))
const verbose = verboseArg === undefined ? undefined : (verboseArg.split("=")[1] ?? "")
// `--only=dev` runs one set (and writes no table): tuning need not read the test set's totals.
const only = args.find((arg) => arg.startsWith("--only="))?.split("=")[1]
const data = resolve(args.find((arg) => !arg.startsWith("--")) ?? defaultData)
const noDeclines = args.includes("--no-declines")
if (noDeclines) declines.off = true
const isDefaultData = data === defaultData && !noDeclines
const TOP_K = 5
// The prompt the Rag workflow writes (src/rag/Rag.ts: `defaultInstructions` and its
// `assemble` step), kept here so the bench needs only the model and retrieval layers.
const instructions =
  "Answer the question using only the numbered passages. Cite the passage each statement comes from as [n]. " +
  `If the passages do not answer the question, reply exactly: ${UNANSWERED}`

interface Case {
  readonly question: string
  /** A phrase the answer must contain; `null` when the corpus does not answer the question. */
  readonly fact: string | null
  /** The document the answer must cite. */
  readonly source?: string
}

interface Tally {
  readonly name: string
  answerable: number
  right: number
  unanswerable: number
  declined: number
  /** Cited sentences over all replies that answered, to see whether answers stay short. */
  sentences: number
  replies: number
  /** How many answerable and unanswerable questions each rule declined. */
  rules: Partial<Record<DeclineRule, { answerable: number; unanswerable: number }>>
}

const normalise = (text: string): string => text.toLowerCase().replace(/[’‘]/g, "'").replace(/\s+/g, " ")

const corpusDir = join(data, "corpus")
if (!existsSync(corpusDir)) {
  console.error(
    `No corpus/ folder in ${data}; a data folder holds corpus/ and one JSON file per question set.`
  )
  process.exit(1)
}
// Documents are read as the CLI and `npm start` read a folder (`Ingest.loadFolder`): a
// markdown file is titled by its first heading, and passages carry that title into the prompt.
const documentsIn = (dir: string): Promise<ReadonlyArray<Document>> =>
  Effect.runPromise(loadFolder(dir).pipe(Effect.provide(NodeServices.layer)))
const documents = await documentsIn(corpusDir)

interface QuestionSet {
  readonly name: string
  readonly cases: Array<Case>
  /** Documents of the set's own, retrieved together with the shared corpus (`<set>/corpus/`). */
  readonly extra: ReadonlyArray<Document>
}

// A set is `<name>.json` beside the shared corpus, or `<name>/<name>.json` with documents of
// its own in `<name>/corpus/`: those join the shared corpus for that set's questions only, so
// a set written later adds documents without changing what the other sets are asked against.
const sets: Array<QuestionSet> = (
  await Promise.all(
    readdirSync(data, { withFileTypes: true }).map(async (entry): Promise<Array<QuestionSet>> => {
      if (entry.isFile() && entry.name.endsWith(".json")) {
        const name = basename(entry.name, ".json")
        return [{ name, cases: JSON.parse(readFileSync(join(data, entry.name), "utf8")), extra: [] }]
      }
      const own = join(data, entry.name, `${entry.name}.json`)
      if (entry.isDirectory() && existsSync(own)) {
        const extraDir = join(data, entry.name, "corpus")
        return [
          {
            name: entry.name,
            cases: JSON.parse(readFileSync(own, "utf8")),
            extra: existsSync(extraDir) ? await documentsIn(extraDir) : []
          }
        ]
      }
      return []
    })
  )
)
  .flat()
  .filter((set) => only === undefined || set.name === only)
  .sort((a, b) =>
    a.name === "dev" ? -1 : b.name === "dev" ? 1 : a.name.localeCompare(b.name, "en", { numeric: true })
  )

// `--recall` measures retrieval alone: for each answerable question, whether the passage
// holding its fact (else any passage of its source) is among the top k (k = 5 and 8),
// plain and with synonym expansion. Use it with `--only=<set>` to leave the test set unread.
const percent = (part: number, whole: number): string =>
  whole === 0 ? "—" : `${((100 * part) / whole).toFixed(1)}%`

const recall = args.includes("--recall")

const recallProgram = Effect.gen(function* () {
  for (const set of sets) {
    const retriever = yield* fromDocuments([...documents, ...set.extra])
    const answerable = set.cases.filter((item) => item.fact !== null)
    const hits = { plain: [0, 0], expanded: [0, 0] }
    for (const item of answerable) {
      for (const mode of ["plain", "expanded"] as const) {
        const passages = yield* retriever.retrieve(item.question, {
          topK: 8,
          ...(mode === "expanded" ? { expand: synonymsOf } : {})
        })
        // The passage that holds the fact, from the expected source (the whole document when no one passage does).
        const holds = (passage: Passage) =>
          passage.sourceId === item.source && normalise(passage.text).includes(normalise(item.fact ?? ""))
        const all = yield* retriever.retrieve(item.question, { topK: 10_000 })
        const rank = all.some(holds)
          ? passages.findIndex(holds)
          : passages.findIndex((passage) => passage.sourceId === item.source)
        if (rank >= 0 && rank < 5) hits[mode][0]!++
        if (rank >= 0) hits[mode][1]!++
        if (
          verbose !== undefined &&
          (verbose === "" || verbose === set.name) &&
          mode === "expanded" &&
          (rank < 0 || rank >= 5)
        ) {
          console.log(
            `✗ [${set.name}] ${item.question} (${item.source}) rank ${rank}: ${passages
              .slice(0, 5)
              .map((p) => p.sourceId)
              .join(", ")}`
          )
        }
      }
    }
    const n = answerable.length
    for (const mode of ["plain", "expanded"] as const) {
      console.log(
        `set=${set.name} ${mode} recall@5=${hits[mode][0]}/${n} (${percent(hits[mode][0]!, n)}) recall@8=${hits[mode][1]}/${n} (${percent(hits[mode][1]!, n)})`
      )
    }
  }
})

/** Every set's tally; `quiet` prints nothing (a second pass for the table). */
const evaluate = (quiet = false) =>
  Effect.gen(function* () {
    const tallies: Array<Tally> = []
    for (const set of sets) {
      const retriever = yield* fromDocuments([...documents, ...set.extra])
      const tally: Tally = {
        name: set.name,
        answerable: 0,
        right: 0,
        unanswerable: 0,
        declined: 0,
        sentences: 0,
        replies: 0,
        rules: {}
      }
      for (const item of set.cases) {
        const passages = yield* retriever.retrieve(item.question, { topK: TOP_K, expand: synonymsOf })
        const prompt = Prompt.make([
          { role: "system", content: instructions },
          { role: "user", content: `Passages:\n\n${formatPassages(passages)}\n\nQuestion: ${item.question}` }
        ])
        let rule: DeclineRule | undefined
        declines.onDecline = (found) => {
          rule = found
        }
        const response = yield* LanguageModel.generateText({ prompt })
        declines.onDecline = undefined
        const text = response.text
        const cited = parseCitations(text).flatMap((n) => {
          const passage = passages[n - 1]
          return passage === undefined ? [] : [passage.sourceId]
        })
        const declined = passages.length === 0 || isUnanswered(text)
        if (!declined) {
          tally.replies++
          tally.sentences += text.match(/\[\d+(?:, \d+)*\][.!?]/g)?.length ?? 0
        }
        let ok: boolean
        if (item.fact === null) {
          tally.unanswerable++
          ok = declined
          if (ok) tally.declined++
        } else {
          tally.answerable++
          ok =
            !declined && normalise(text).includes(normalise(item.fact)) && cited.includes(item.source ?? "")
          if (ok) tally.right++
        }
        if (rule !== undefined) {
          const kind = item.fact === null ? "unanswerable" : "answerable"
          const counts = tally.rules[rule] ?? { answerable: 0, unanswerable: 0 }
          counts[kind]++
          tally.rules[rule] = counts
        }
        if (!quiet && verbose !== undefined && (verbose === "" || verbose === set.name) && !ok) {
          const expected = item.fact === null ? "decline" : `"${item.fact}" from ${item.source}`
          const why = rule === undefined ? "" : ` (declined by the ${rule} rule)`
          console.log(`✗ [${set.name}] ${item.question}\n    expected ${expected}\n    got ${text}${why}`)
        }
      }
      tallies.push(tally)
      if (quiet) continue
      console.log(
        `set=${tally.name} answered=${tally.right}/${tally.answerable} declined=${tally.declined}/${tally.unanswerable} ` +
          `sentences/answer=${(tally.sentences / Math.max(1, tally.replies)).toFixed(2)}`
      )
      // `--rules` says which rule declined how many questions of each kind: a rule that declines
      // more answerable questions than unanswerable ones costs more than it brings.
      if (args.includes("--rules")) {
        const rows = Object.entries(tally.rules).map(
          ([rule, counts]) => `${rule} ${counts.answerable}/${counts.unanswerable}`
        )
        console.log(`  declined by rule (answerable/unanswerable): ${rows.join(", ")}`)
      }
    }
    return tallies
  })

if (recall) {
  await Effect.runPromise(recallProgram)
  process.exit(0)
}

const tallies = await Effect.runPromise(evaluate().pipe(Effect.provide(Local.layer())))

if (isDefaultData && only === undefined) {
  // How far choosing sentences alone gets on each set: the same questions with every decline
  // rule off (`--no-declines`), so the best-ranked sentence answers.
  declines.off = true
  const ceilings = await Effect.runPromise(evaluate(true).pipe(Effect.provide(Local.layer())))
  declines.off = undefined
  const ceilingOf = new Map(ceilings.map((t) => [t.name, t.right]))
  const rows = tallies.map(
    (t) =>
      `| ${t.name} | ${t.right} / ${t.answerable} | ${percent(t.right, t.answerable)} | ` +
      `${t.declined} / ${t.unanswerable} | ${percent(t.declined, t.unanswerable)} | ` +
      `${(t.sentences / Math.max(1, t.replies)).toFixed(2)} | ${ceilingOf.get(t.name) ?? 0} / ${t.answerable} |`
  )
  const markdown = `# Answer quality of the Local model

Generated by \`node bench/answers.ts\`; do not edit by hand.

The corpus is ${documents.length} short policy, product and handbook documents written for this bench
(\`bench/data/answers/corpus\`). Answerable questions are phrased differently from the text
(paraphrases, synonyms, another word order); unanswerable ones share the corpus's vocabulary
but ask for something it does not say. Each question is retrieved with BM25 (top ${TOP_K} passages,
the query expanded with everyday synonyms at half weight, as the Rag workflow does)
and asked with the Rag workflow's prompt (passages written by \`PassageFormat.formatPassages\`,
each titled with its document's and its section's headings; documents are read as the CLI reads a
folder, \`Ingest.loadFolder\`). An answer is **right** when it contains the expected fact and
cites the expected document; a question is **declined** when the reply is the "unanswered"
sentence. "Sentences" is the mean number of cited sentences in the replies that answered. "Right
with no decline" is how many answerable questions the model gets right with every decline rule
off (\`--no-declines\`), the best-ranked sentence answering: how far choosing sentences alone gets.

The method is tuned on \`dev\`. \`dev2\` (and the three documents it asks about: company
phones, volunteering, parking) was written afterwards, before the model was run on it, as a
check on text the method had not been tuned on; a few changes were then measured on both. The
\`test\` set's failures were listed for the model before the first rework (and once, by
mistake, for an intermediate version); no rule was written for a test question, and otherwise
only the test totals were read: once after the first rework, and in the second at its start,
once by mistake after its first change, and at its end; in the third, the fourth, the fifth and the sixth, only at
its end; in the seventh, three times, each after a round of changes, and unchanged by the last; in the
eighth and the ninth, at each round's end (this table).

\`dev3\`, \`dev4\` and \`dev5\` each bring documents of their own (\`dev3/corpus\`, \`dev4/corpus\`: working
hours, meeting rooms, visitors, a gym, car rental, a library, a pension plan, a hotel, grievances,
recycling; building access, house rules, a dental plan, software requests, internships, bike
share, fire safety, company events), retrieved together with the shared corpus for their own
questions only, so the older sets are asked against the same documents as before. Both were
written in the fourth rework before the model was run on them, as fresh checks on questions
worded apart from their text; dev3 first (baseline 47 / 71 answered, 13 / 20 declined), dev4
after most of the rework's changes (baseline 28 / 47 and 13 / 16). \`dev5\` (\`dev5/corpus\`: a
staff canteen, sabbaticals, mentoring, laptop repairs, childcare) was written at the start of the
fifth rework, before the model was run on it, with more yes/no and "how do I…" questions and
unanswerable ones built from the documents' words (baseline 24 / 40 and 7 / 11; after the first
run three questions written as unanswerable were relabelled answerable, as the text does answer
them: "Monday to Friday" answers "Is the canteen open on Saturdays?"). \`dev6\` (\`dev6/corpus\`: relocation
support, overtime, a print room, lost property, employee referrals) was written at the start of the
sixth rework, before the model was run on it (baseline 23 / 42 and 12 / 14). Two of its questions
("How long is found property held?", "What should I do with a wallet I found in the office?") are
also answered, differently, by the shared corpus's office facilities page, which the model quotes;
they are left as written.

\`dev7\`, \`dev8\` and \`dev9\` were written at the start of the seventh rework by separate writers
(helpers that saw neither the model's code nor any other question set), six documents each
(\`dev7/corpus\`: bereavement leave, jury duty, blood donation, uniforms, a savings scheme, desk
booking; \`dev8/corpus\`: secondments, long-service awards, employee assistance, flu vaccinations, a
tennis club, a swimming pool; \`dev9/corpus\`: a phone contract, a coworking space, a dental practice,
residents' rules, a staff shuttle, a sports scheme), with more scene-setting questions ("My
grandmother passed away yesterday. How many days off am I allowed?") and everyday wording. They are
the honest measure of how the method generalises: at the sixth rework's end (commit be2370b) it
answered 14 / 39, 12 / 38 and 10 / 38 of them (declining 11 / 12, 9 / 12 and 11 / 12), far below the
tuned sets. dev7's failures were then read and used for tuning; dev8's were read in the eighth
rework; dev9's never were, only its totals, so it remains a check on text the method was not tuned on.

\`dev10\` and \`dev11\` were written at the start of the eighth rework by another writer who saw neither
the model's code nor any other set (\`dev10/corpus\`: library borrowing, a car club, gym membership,
school trips, parking permits, hotel cancellations; \`dev11/corpus\`: a cycle-to-work scheme, allotment
rules, repeat prescriptions, cinema refunds, pets in rented homes, music lessons). Their failures
have never been read. At the rework's start the model answered 19 / 38 and 17 / 38 of them and
declined 8 / 12 and 9 / 12: with dev8 and dev9, four fresh sets by three writers agree that on
questions worded apart from their documents the method answers about half and declines about
three in four.

\`dev12\` and \`dev13\` were written at the start of the ninth rework by two more writers who saw neither
the model's code nor any other set, asked for the plain questions a help search box gets rather than
scene-setting ones (\`dev12/corpus\`: home contents insurance, broadband terms, hospital visiting,
waste and recycling in a block of flats, airline baggage, a bank overdraft; \`dev13/corpus\`: car
rental, exam resits, a museum membership, a freelance platform's payments, a nursery, a bug bounty).
At the rework's start the model answered 26 / 38 and 24 / 38 of them and declined 10 / 12 of each.
dev12's failures were then read; dev13's never were. Plain wording closes part of the gap, not all of
it: on our own \`test\` set, written in the first rework, the same model answers 37 / 44.

How far choosing sentences alone gets is the table's last column: at the ninth rework's end, with
every decline rule off, dev12 and dev13 are right for 29 / 38 and 28 / 38, dev9–dev11 for 22 to 25
/ 38, while retrieval brings the passage holding the fact into the top 5 for 36 / 38 and 35 / 38 of
dev12 and dev13 (\`--recall\`). On fresh questions, even an answer for every question would be right
for at most three in four: the sentence that answers uses other words ("cabin bag" for hand
luggage, "escape of water" for a leaking pipe, "bulky waste" for an old sofa), which a lexical match
cannot see. The decline rules cost little on top of that (dev12 29 → 26, dev13 28 → 24).

| set | answered right | answer accuracy | declined | refusal accuracy | sentences | right with no decline |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join("\n")}

History. Before the first rework (commit 5f1094b, 21 documents) the Local model answered every
question with up to three sentences: dev 114 / 134 right and 0 / 51 declined, test 39 / 44 and
2 / 22. After it (commit 5f2c225): dev 101 / 134 and 38 / 51, test 30 / 44 and 19 / 22. The
second rework (commit 6646d34: dev 113 / 134 and 42 / 51, dev2 15 / 26 and 13 / 14, test 29 / 44
and 21 / 22; the corpus grew by three documents, which also act as distractors
for the older questions) added, measured on dev: section titles in the prompt (+1 answered),
a hand-written thesaurus of everyday English (+11 answered, −1 declined), the best sentence's
neighbour when it continues it or carries the asked-for number (+2 answered), and declining
when the question's last topic word is never named (+3 declined, −2 answered, partly won
back with two synonym sets) or when the best sentence's passage misses a topic phrase of the
question (+3 declined, −4 answered), and reading "within what timeframe…" and "what's the
latest…" as asking for a span and a time (+2 answered).

The third rework first measured retrieval alone (\`node bench/answers.ts --recall
--only=dev\`): the passage holding the answer was in BM25's top 5 for 132 / 134 dev and 23 / 26
dev2 questions, so most misses were the model's. It added, measured on dev and dev2 (answered,
declined): query expansion in retrieval with the thesaurus, each synonym at half the weight of
the question's own words, as the Rag workflow now retrieves (with the final thesaurus, recall@5
dev 132 → 133, dev2 23 → 26; +1 and +1 answered, −1 dev2 declined; more passages, top 6 to 8, lowered declines and were not taken); a
dozen more everyday synonym sets (+3, +2); "how much does it cost" asking for a price, which
another number does not give (dev2 +1 declined); "when" read as a time cue only where it opens
a clause ("What do I do when my card goes missing?" asks what to do); a question's closing verb
("…does the lease run?", "…does the office offer?") and a participle ending it ("…purchases
refunded?") not taken for what it asks about (+1, +2); and a topic phrase counted as named when
a passage of the best sentence's document names it whole (+1 dev).

The fourth rework (ending at commit 862f5e3: test 35 / 44 and 22 / 22; measured on dev, dev2, dev3 and dev4, answered and declined) added, in order:
declining when the best sentence's document never names what the question is about (its first
or last topic noun, not a verb: "Can a grievance be raised anonymously?" answered from a code
of conduct) while another retrieved document is about it (dev −1 answered, dev3 +5 declined);
a written-out number read as a value, not a topic ("seven hours"), "how many X" read up to X's
verb ("hours make up…"), and "items" counting things of any kind (dev3 +5); about 80 more
everyday synonym sets (dev3 +3); answering from 35% of the question's weight rather than 40%,
the topic rules catching what the lower bar lets through (dev +2); a verb's "-ing" form after a
preposition ("without paying") not taken for the topic (dev3 +1); phrasal verbs and set phrases
read as the word a text uses ("money back" refund, "signs off" approve, "roll over" carry,
"time off" leave: dev +3, dev3 +1); "e-books" read as one word and the question's focus taken
as its first topic word that is not a verb (dev3 +1 answered, +1 declined); a close second
sentence answering when the top one lacks only the number asked for, and "what number…" asking
for a number that names something, not a time (dev4 +3); a dozen more synonym sets (dev4 +3);
irregular plurals ("children") read as their singular. Tried and not taken: trying lower-ranked
sentences when the top one is about another topic (declines fell), weighing a question's verbs
as light words, other weights of a sentence's own words against its passage's, and other
credits for synonyms and context (no change). The answer is computed in steps that yield to
the Effect scheduler every 10 ms, so an interrupt lands while a thousand passages are read;
the answers are the same.

The fifth rework (test 35 / 44 → 36 / 44 answered, 22 / 22 declined, read once at its end;
measured on dev, dev2, dev3, dev4 and dev5, answered, with declines unchanged on
every set) added, in order: a section heading's words counted as each of its sentences' own when
ranking, so the sentence that says what is asked of the topic ranks above one that repeats it
("Can I bring my kids to the summer party?" gets "children are not", not the party's date), with
the negated forms of irregular verbs ("unpaid") and "-ble"/"-bility" in a word's family (dev +3,
dev3 −1, dev4 +1); "how can I become…", "how do I…", "what should I do if…" read as asking for a
step to take, so a sentence with an instruction, a modal and a verb of applying or asking, or a
channel ranks higher, and a sentence holding none of the question's words answers only under a
heading that holds its topic words (dev4 +2); a negated word ("unused") matched as fully as the
word, a verb closing a "how long"/"how often" question ("…last?") read as part of what is asked,
"is there a…" counting a thing only when it opens the question, the last word after "does
<subject>" read as a verb, "share"/"proportion" as measure words, and three synonym sets
(bank holiday, spare, warm: dev3 +1, dev4 +1, dev5 +6); a number right before the thing a "how
many" question counts (dev5 +1). Tried and not taken: rarity counted over documents or passages
instead of sentences, closeness of the question's words within a sentence, a softer
"another topic" rule that demotes rather than declines, trying a second sentence after the
"who does it" rule (it answered "Who pays for a fit note?" from a sentence on paying salary),
preferring sentences with a modal or a negation for yes/no questions (no change), and "a number
right before the thing counted" as a rule rather than a preference (one decline won, one answer lost).

The sixth rework (commit be2370b; the test totals read once, at its end, with BM25 stemming with Porter)
was measured on dev to dev6 (answered, declined; before → after: dev 127 → 128 / 134, 47 / 51;
dev2 21 / 26, 13 / 14; dev3 59 → 61 / 71, 19 / 20; dev4 39 → 41 / 47, 13 / 16; dev5 31 → 32 / 40,
7 → 8 / 11; dev6 23 → 26 / 42, 12 / 14). It added, in order: a number read as a time only as a clock
time, a date, a year or a span after a preposition ("1.5 times the rate" does not say when; "with
the following month's salary" does), and "how big/large/high…" read as asking for a quantity (dev6
+1); asked how much or how big something is, a sentence with a number right after that thing
ranked higher ("a bonus of 1,500 euros": dev3 +1, dev6 +1); when the top sentence's document is not
about what is asked, a close sentence (70% of its score) from a document whose title or headings are,
carrying the kind of answer asked for, answering instead of a decline, and a further sentence from
another passage never from a document about another topic (dev +1, dev4 +1; fewer filler
sentences); "how often" declined when no sentence says how often; "who do I contact / ask / tell…"
reading the verb as the cue, not the topic (dev3 +1); "what is the age…" keeping "age" as a word to
match (dev5 +1); a verb and its object not taken for a topic phrase ("throw away confidential
papers": dev6 +1); "how much is the fee / price / rent…" asking for money, which "paid by",
"deducted" or "reimbursed" does not give (dev5 +1 declined); a contraction read as its two words
("don't" → "do not": dev4 +1). \`--rules\` counts, per set, the answerable and unanswerable questions
each decline rule declined. Tried and not taken: a light word no passage holds left out of the
absent weight, and "rather", "around", "alone" as light words (no change); an absent word's
weight capped at the heaviest present one (dev6 +1 answered, −3 declined on dev and dev2); two of a
yes/no question's words side by side ranking higher (dev5 +1, −3 elsewhere, as in the fifth
rework); a passive with its agent ("booked by the travel desk") answering "who…" whatever the verb,
"how long does it take to <verb>" asking for that verb, a "how many" answer whose numbers all
measure a time, a modifier missing from the answer's passage declining only when a title names it,
and switching documents after the phrase rule too (each lost as much as it won, or more); another
document's sentences, not only its titles, counting for the another-topic rule (dev −3 and more).

The seventh rework (test 36 → 37 / 44 answered, 22 / 22 declined) started from the fresh
sets' baselines above and added, in order (answered, summed over dev to dev9 unless named): a question
that sets the scene before it asks read by its asking sentence for what it is about, for its topic
phrases, for the kind of answer it wants, and for which words missing from the passages count against
them (dev7 14 → 20, dev6 +1, dev8 +1); a thesaurus more than twice as large, written in two rounds
by a separate writer who saw no question set — family and kin (a kind and its general word, one pair a
set, so a mother is a parent but not a father), death and courts, clothing, health, offices and IT,
money, travel, British and American words, consumer services (gyms, clubs, shops, repairs,
subscriptions), plain verbs for formal ones, and some 90 phrases ("passed away", "sign up", "turn
in", "put aside") read as the word a text uses (the first round: dev8 12 → 15, nothing lost elsewhere;
the second: −3 over all sets, +1 on dev9, kept for the words it brings to documents unlike these); a
verb's "-ing" form after a verb ("if I keep forgetting…") read as a verb (dev7 +1); a phrasal verb
with its object between its words ("hand my uniform back" → return) and "is there any money…"
answered by an amount of money (dev7 +2); a sentence saying what a thing is ranked higher for
"what is a…" (no set changed; on Weft's docs, "What is a step?" now gets its definition); and each passage
titled with its document's heading as well as its section's (\`# Bereavement leave › How much leave\`),
with the bench reading documents as the CLI does, so their titles exist (361 → 368 of 475 answered,
143 → 141 of 162 declined; dev9 11 → 15). Tried and not taken: indexing the document's title with each
chunk for retrieval (recall@5 446 → 452 of 475, but 4 fewer declines for 3 more answers), dropping
question words ("who", "how", "can", "I") from the retrieval query (recall −2), weighting a sentence
by its passage's retrieval rank, more sentences from the best passage, the scene's words weighing less
in ranking, and each part of the "unnamed" rule on its own (without its first-topic-word part: +2
answered, −7 declined). Without any decline rule, sentence choice alone gets 21 / 39, 22 / 38 and 20 / 38
of the fresh sets right (retrieval recall@5 on them: 90%, 87%, 71%): on text worded apart from its
documents, the lexical method itself, not only its decline rules, is what falls short.

How the Local model decides (src/model/internal/extractive.ts): each content word of the
question is weighted by its rarity among the passages' sentences, light words of general
English ("get", "happen", "big") weigh less, and it matches itself, its word family or an
everyday synonym; a word no passage holds counts against the answer. It answers with the best
sentence (ranked by what it holds with its section's heading; for "how do I…", one with a step
to take first) only when that sentence, read with its passage and title, holds enough of the
question's weight, carries the kind of expression the question asks for (a number for "how
many", a span for "how long"), the question's first and last topic words are named by the
passages (and by the sentence's own document, when another one is about them: else a close
sentence from that other document that carries the kind of answer asked for answers), and the
sentence's passage holds each of the question's topic phrases ("sick days", "parking
policy") whole; when the top sentence lacks only the number asked for, a close second that
has it answers instead. A further sentence joins only when it answers a part of the
question the chosen ones leave open, nearly ties with the best one in its passage, or is the
best one's next sentence and continues it.

The eighth rework (this table; test unchanged at 37 / 44 and 22 / 22; its totals, and those of dev9,
dev10 and dev11, were printed by each full run of the bench, their failures never) read dev8's
failures. Of its 22, 8 were declined because the question's first or last topic word was not among
the passages' words; most of those words were not topics at all ("longest", "remotely", "as well", a
verb after "can", "17-year-old"), and the rest were paraphrases the thesaurus lacks ("game" for
"play", "goggles" for "items left behind"). It added, in order: a word after a modal, or a
participle after "be" or "get", read as a verb; superlatives as light words; "give blood" read as
donating it and "as well" as "too" (no set moved: each of those questions also fails another rule,
or gets the wrong sentence); "died" and "dying" read as "die", so they meet "death", and short -y
verbs ("tried") and -eed verbs ("exceeded") as their base, which the stemmer parts from them (dev7
+1); "how far ahead / in advance…" preferring a sentence that says how long before (dev7 +1; a
search of the question files for "ahead", made while writing it, also showed one such question in
dev10 and one in dev11, whose answers and results were not looked at); a number written out meeting
its digits ("twenty years", "20 years": dev8 +1); an age said as a compound read as the person and a
number ("my two-year-old" → child 2, to meet "children under 3": dev8 +1). dev9, dev10, dev11 and
the test set did not move with any of them. The Rag workflow's synonym expansion of the retrieval
query was checked again at weights 0, 0.25 and 0.5: 0.5, as it is, is best on the tuned sets (350,
355 and 359 answered). Tried and not taken: WordNet 3.1's direct hypernyms of common nouns as
broader words a question's word may meet (a grandmother is a grandparent, booze is alcohol, a judge
an official; 435 to 6,127 pairs, by how common the words are): at best no set moved, with more pairs
−3 answered and −5 declined on the tuned sets; a background rarity for each question word (its count
in WordNet's sense-tagged corpus, so "year" and "company" weigh less than "secondment"): −2 to −8
answered on the tuned sets and −2 on the test set; and GloVe word vectors (100 dimensions, the
40,000 commonest words) giving a sentence partial credit, in ranking only, for a word close to one
the question asks about (cosine ≥ 0.6): +3 answered on the tuned sets, −1 answered and −1 declined
on dev11, no change on dev9, dev10 or the test set. Closeness in such vectors is relatedness, not
sameness ("mother" is close to "father"), so it cannot serve the decline rules, and for choosing a
sentence it changed little. A thesaurus of categories, 434 pairs written blind by a separate writer
(a specific thing and the word policies use for its kind: goggles → item, son → dependant, bike →
vehicle), for the Local model only: +4 answered and −7 declined on the tuned sets, the test set's
declines 22 → 21, dev9, dev10 and dev11 unchanged. Last, for questions a newcomer asks of Weft's own
docs (no set changed with any of these): "who wrote / built / created / approved…" checks that the
sentence names that deed, as other "who" questions do ("Who wrote Weft?" was answered with two
sentences about its audience; now declined); "what is a workflow?" also finds "A Weft workflow is…"
(a word or two may name its kind), and a sentence that only introduces a list ("What
\`Workflow.run\` does, in order:") ranks lower (it had answered that question); and a full stop
inside inline code or inside brackets that close later no longer ends a sentence (the docs' "replies
exactly \`The provided passages do not answer this question.\` (…)" was quoted from its second
half).

What it misses: it is lexical. A paraphrase whose words the passages and the thesaurus do not
share ("priority" for "allocated first", "without giving my name" for "anonymously") is
declined, more so when retrieval, expanded only with the same thesaurus, does not bring the
right passage; an unanswerable question whose every word
the passages use ("Which doctor should I see for a fit note?", "When are salaries paid each
month?") is answered from the nearest sentence; a compound the passage shortens ("corporate
credit card" against "corporate card") is declined. A yes/no question is answered with the
sentence that best matches its words, which is not always the one that says yes or no ("Can
I bring my kids to the summer party?" was answered with the party's date before the fifth rework;
"Is a sabbatical paid?" still gets "Paid work … is not permitted while on sabbatical"). \`--verbose\` names the rule
that declined each missed answerable question.
`
  writeResults(join(root, "docs", "bench", "answers.md"), markdown)
}
