/**
 * A small hand-written thesaurus of general English: sets of everyday words
 * that often stand for one another in a question and the text that answers it
 * ("holiday"/"leave", "phone"/"call", "buy"/"purchase").
 *
 * It is written by hand from common English usage — workplace, shopping,
 * travel, health, computing, money and time vocabulary — not from any corpus
 * the model is tested on, and kept small (a few hundred words) so it loads in
 * well under a millisecond. A word may sit in several sets; two words are
 * related when some set holds both. The Local model matches a related word
 * for less than the word itself (`model/internal/extractive.ts`); the Rag
 * workflow expands its BM25 query with them, weighted lower than the
 * question's own terms (`Retriever`'s `expand` option).
 */
import { stem } from "./Stemmer.ts"

export const SYNONYM_SETS: ReadonlyArray<string> = [
  // time and sequence
  "begin start commence",
  "end finish stop terminate cease",
  "final last closing",
  "priority precedence preference",
  "expire lapse",
  "early soon",
  "latest deadline cutoff",
  "often frequently regularly",
  "yearly annual annually",
  "quick fast rapid prompt speedy",
  "wait delay",
  "postpone defer",
  "duration length period",
  "weekday workday",
  "row consecutive successive running",
  // work and people
  "job work employment role position post",
  "employee staff worker personnel",
  "manager boss supervisor",
  "company firm business organisation organization employer",
  "colleague coworker",
  "customer client buyer",
  "supplier vendor seller provider",
  "visitor guest",
  "partner spouse",
  "child kid",
  "baby infant newborn",
  "doctor physician gp",
  "teacher trainer instructor tutor",
  "holiday vacation leave",
  "resign quit leave",
  "hire recruit employ",
  "dismiss fire sack",
  "salary wage wages earnings pay",
  "bonus reward incentive",
  "promotion advancement",
  "meeting meetup",
  "task duty assignment",
  "team group",
  "department division unit",
  // money
  "money cash funds",
  "cost price charge fee",
  "expense expenditure spending",
  "buy purchase",
  "sell vend",
  "refund reimburse reimbursement repay repayment",
  "receipt invoice bill",
  "discount reduction",
  "cheap inexpensive",
  "expensive costly",
  "free complimentary",
  "deduct subtract withhold",
  "debt loan",
  "budget allowance allocation",
  "payment instalment installment",
  "worth value",
  // permission and obligation
  "allow permit let authorise authorize",
  "forbid prohibit ban bar",
  "approve authorise authorize endorse",
  "accept take",
  "refuse decline reject",
  "need require",
  "mandatory compulsory obligatory required",
  "optional voluntary",
  "eligible entitled qualified",
  "entitlement allowance",
  "rule regulation policy",
  "guideline guidance",
  // communication
  "phone call ring telephone",
  "mobile cellphone smartphone phone",
  "email mail",
  "message note",
  "tell inform notify",
  "ask request enquire inquire",
  "answer reply respond response",
  "complain complaint grievance",
  "report notify",
  "anonymous anonymously nameless",
  "hotline helpline",
  "contact reach",
  "talk speak chat",
  "explain clarify",
  // things and places
  "car vehicle automobile",
  "bike bicycle cycle",
  "trip journey travel",
  "flight flying fly",
  "airline carrier",
  "hotel accommodation lodging",
  "home house residence",
  "office workplace premises workspace",
  "shop store",
  "room space",
  "place space spot location",
  "weekend saturday sunday",
  "europe eu european",
  "alcohol alcoholic booze liquor",
  "rent hire lease",
  "borrow lend loan",
  "parcel package",
  "goods items products merchandise",
  "gift present",
  "meal food",
  "dinner supper",
  "drink beverage",
  "laptop computer notebook pc",
  "device gadget",
  "machine appliance",
  "document form paperwork",
  "certificate note",
  "id identification",
  "badge pass",
  "key code",
  "password passcode passphrase",
  "login logon signin",
  "account profile",
  "website site",
  "app application",
  "data information",
  "file record",
  "guarantee warranty",
  "insurance cover",
  "contract agreement",
  "subscription membership",
  "course training class lesson",
  "exam examination test",
  "study learn",
  "degree qualification",
  "illness sickness disease",
  "sick ill unwell",
  "injury harm wound",
  "accident incident",
  "danger hazard risk",
  "safe secure",
  "emergency crisis",
  "fault defect flaw",
  "broken faulty defective damaged",
  "part component",
  "tool equipment",
  "clothes clothing garments",
  // actions
  "get receive obtain",
  "give provide supply grant offer",
  "send dispatch ship post mail",
  "deliver delivery",
  "bring fetch",
  "take carry",
  "keep retain hold store",
  "save store",
  "delete erase remove wipe",
  "fix repair mend",
  "replace substitute swap",
  "swap exchange switch trade",
  "change alter modify amend",
  "increase raise rise grow",
  "reduce decrease lower cut",
  "check verify inspect",
  "choose select pick",
  "find locate",
  "use utilise utilize",
  "help assist support aid",
  "show display",
  "book reserve",
  "cancel revoke",
  "renew extend",
  "join enrol enroll register",
  "leave exit depart",
  "enter access",
  "arrive reach",
  "return",
  "lose lost misplace missing",
  "steal rob",
  "escort accompany",
  "operate run manage",
  "own possess",
  "sign signature",
  "finish complete",
  "submit file lodge",
  "attach enclose",
  "collect gather pick",
  "transfer move",
  "stay remain",
  "work function operate",
  "clean wash",
  "open unlock",
  "close shut lock",
  "train coach",
  "hurt injure",
  "damage harm",
  // qualities and amounts
  "big large huge",
  "small little tiny",
  "many numerous",
  "whole entire complete full",
  "part partial",
  "maximum most max",
  "minimum least min",
  "above over exceeding",
  "below under beneath",
  "extra additional",
  "personal private",
  "used secondhand",
  "old former previous",
  "new unused",
  "correct right accurate",
  "wrong incorrect",
  "main primary principal",
  "same identical",
  "different distinct",
  "late overdue",
  "busy occupied",
  "available open"
]

/**
 * A lookup from a term to the terms its synonyms map to, each word of
 * `SYNONYM_SETS` turned into a term by `termOf` (the caller's analyzer: the
 * Local model's resolves irregular verbs first). Built on first use.
 */
export const relatedTerms = (termOf: (word: string) => string): ((term: string) => ReadonlySet<string>) => {
  let related: Map<string, ReadonlySet<string>> | undefined
  return (term) => {
    if (related === undefined) {
      const table = new Map<string, Set<string>>()
      for (const line of SYNONYM_SETS) {
        const group = [...new Set(line.split(" ").map(termOf))]
        for (const member of group) {
          const set = table.get(member) ?? new Set<string>()
          for (const other of group) if (other !== member) set.add(other)
          table.set(member, set)
        }
      }
      related = table
    }
    return related.get(term) ?? EMPTY
  }
}

const EMPTY: ReadonlySet<string> = new Set()

/**
 * The stemmed terms (BM25's and the Local model's `Stemmer`) a stemmed term's
 * everyday synonyms stem to: `synonymsOf("holiday")` holds "leav" and "vacat".
 */
export const synonymsOf: (term: string) => ReadonlySet<string> = relatedTerms(stem)
