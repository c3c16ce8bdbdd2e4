"""Warning signs in a patient's own words: reading a comment as people write it.

Pure: the standard library and two pure libraries (snowballstemmer, rapidfuzz),
no Django, no I/O. ``followups.assessment.rules`` (``COMMENT_CONCERN``) and
``followups.assessment.guidance`` (the emergency line) read every comment with
``comment_warnings``; the lists below are data, reviewed like code and printed
for clinicians in ``docs/escalation-rules.md`` ("Comments: warning signs").

*Policy* (``clinical-reference.md``, "Comments: warning signs", revised):

- every comment is read against the entries of **every** language the patient
  pages are offered in (English, French, Spanish), whatever the patient's own;
- a word is read by its **form**, not its spelling on the list: each entry
  word is reduced to its Snowball stem in its own language (plural, gender and
  verb forms: "gonflées", "hinchados", "se hincha", "swelled"), accents and
  case are ignored, and the listed misspellings and abbreviations are read as
  their entry; a longer word one edit away from an entry word ("swolen",
  "inchazon") is read as it, unless it is an everyday word (``EVERYDAY_WORDS``:
  "plus" is not "pus");
- an entry of several words matches when its words (small words such as "the",
  "de", "el" aside) all appear, in any order, close together in one part of a
  sentence ("my chest feels tight" is "chest tight");
- a temperature of 38 °C / 100.4 °F or more written as a number ("temp 39",
  "38,5", "101F", "39°") is a fever, and so is the emoji 🤒;
- **negation**: a *warning* entry that the patient denies in the same clause
  ("no fever", "pas de pus", "sin fiebre", "the swelling has gone") is
  ``denied``: no flag, the comment goes to the comments to read. An
  *emergency* entry is never discounted. The cues are data
  (``NEGATION_CUES``).

What a comment matched is kept as the patient wrote it ("Fevr", "lips are
swollen", "38,5"), for staff to read on the flag.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA

__all__ = [
    "CONTEXT_GUARDS",
    "EMERGENCY_WORDS",
    "EVERYDAY_WORDS",
    "FEVER_EMOJI",
    "HEALING_ENTRIES",
    "LANGUAGES",
    "LITERAL_WORDS",
    "MISSPELLINGS",
    "NEGATION_CUES",
    "STEMMERS",
    "TEMPERATURE_ENTRIES",
    "WARNING_WORDS",
    "CommentWarnings",
    "Finding",
    "comment_findings",
    "comment_warnings",
]

LANGUAGES = ("en", "fr", "es")

# Snowball's stemmer for each language (snowballstemmer's names).
STEMMERS: Mapping[str, str] = MappingProxyType({"en": "english", "fr": "french",
                                                 "es": "spanish"})

# --------------------------------------------------------------------------- the lists

# Signs the documents name (fever, pus, intense pain, swelling, a spreading
# infection, an allergic reaction) and signs of feeling unwell: review.
WARNING_WORDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "en": (
        "fever", "feverish", "febrile", "temperature", "chills", "shivering", "shivery",
        "hot to the touch", "warm to the touch",
        "pus", "gunk", "discharge", "oozing", "weeping", "seeping", "leaking",
        "crust", "crusty", "crusting", "yellow crust",
        "smell", "smelly", "stinks", "stinky",
        "severe pain", "intense pain", "unbearable pain", "excruciating",
        "spreading", "spread", "red streak", "streaks", "red lines",
        "blister", "blisters",
        "swollen", "swelling", "puffy",
        "hives", "welts",
        "dizzy", "dizziness", "vertigo", "lightheaded", "light headed",
        "faint", "fainted", "passed out", "blacked out",
        "infection", "infected", "allergic reaction",
    ),
    "fr": (
        "fièvre", "fiévreux", "fiévreuse", "fébrile", "température", "frissons",
        "chaud au toucher",
        "pus", "écoulement", "suintement", "suinte", "croûte", "croûtes", "croûte jaune",
        "odeur", "sent mauvais", "pue",
        "douleur intense", "douleur sévère", "douleur insupportable",
        "s'étend", "se propage", "traînée rouge", "traînées rouges",
        "ampoule", "ampoules", "cloque", "cloques",
        "gonflé", "gonflée", "gonflement", "enflé", "enflée", "enflure", "bouffi", "bouffie",
        "urticaire",
        "vertige", "vertiges", "tête qui tourne", "étourdi", "étourdie", "évanoui", "évanouie",
        "fait un malaise",
        "infection", "infecté", "infectée", "réaction allergique",
    ),
    "es": (
        "fiebre", "afiebrado", "afiebrada", "febril", "calentura", "temperatura", "escalofríos",
        "caliente al tacto", "caliente al tocar",
        "pus", "supura", "supuración", "secreción", "costra", "costras", "costra amarilla",
        "olor", "mal olor", "huele mal", "apesta",
        "dolor intenso", "dolor fuerte", "dolor insoportable",
        "se extiende", "se está extendiendo", "línea roja", "líneas rojas", "vetas",
        "ampolla", "ampollas",
        "hinchado", "hinchada", "hinchazón", "inflamado", "inflamada",
        "urticaria", "ronchas",
        "mareo", "mareado", "mareada", "vértigo", "desmayo", "desmayé", "desmayado", "desmayada",
        "infección", "infectado", "infectada", "reacción alérgica",
    ),
})

# Signs of swelling of the airway or of a severe allergic reaction: urgent,
# and never discounted by a negation ("I can't breathe" is an emergency).
EMERGENCY_WORDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "en": (
        "breathing", "breathe", "breath", "breathless", "short of breath", "out of breath",
        "wheezing", "wheeze", "wheezy", "choking",
        "swallowing", "swallow", "throat", "tongue",
        "lips swollen", "swollen lips", "lips swelling", "eyes swollen shut",
        "chest tight", "tight chest", "anaphylaxis", "anaphylactic", "epipen", "epi pen",
    ),
    "fr": (
        "respirer", "respiration", "respire", "souffle", "essoufflé", "essoufflée",
        "étouffe", "étouffer", "sifflement",
        "avaler", "déglutir", "déglutition", "gorge", "langue",
        "lèvres gonflées", "lèvres enflées", "yeux gonflés fermés",
        "poitrine serrée", "oppression", "anaphylaxie", "anaphylactique",
        "stylo d'adrénaline", "injection d'adrénaline", "anapen", "epipen",
    ),
    "es": (
        "respirar", "respiración", "respiro", "me ahogo", "ahogo", "falta el aire",
        "falta de aire", "sibilancias", "silbido",
        "tragar", "deglutir", "garganta", "lengua",
        "labios hinchados", "ojos hinchados cerrados",
        "pecho apretado", "aprieta el pecho", "opresión en el pecho",
        "anafilaxia", "anafiláctico", "pluma de adrenalina", "inyección de adrenalina",
        "autoinyector", "epipen",
    ),
})

# Common misspellings and abbreviations, read as the entry they stand for
# (a longer word one edit away is read without being listed; these are the
# short ones and the ones further off).
MISSPELLINGS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "en": MappingProxyType({
        "puss": "pus", "fevr": "fever", "feaver": "fever", "fevor": "fever", "fver": "fever",
        "feber": "fever", "temp": "temperature", "temps": "temperature",
        "swolen": "swollen", "sweling": "swelling", "blistered": "blister",
    }),
    "fr": MappingProxyType({
        "fievr": "fièvre", "fiebvre": "fièvre", "temp": "température", "croute": "croûte",
        "gonfler": "gonflé",
    }),
    "es": MappingProxyType({
        "ampoyas": "ampollas", "ampoya": "ampolla",
        "desmalle": "desmayé", "desmallé": "desmayé", "desmallo": "desmayo",
        "inchado": "hinchado", "inchada": "hinchada", "inchazon": "hinchazón",
    }),
})

# Entry words read only as written (with the forms listed beside them, and
# their listed misspellings), never by their stem: their stem is also an
# everyday word ("severe" and "several"; "chills" and "chilling out";
# "souffle" and "souffler", to blow; "écoulement" and "le temps écoulé";
# "mareo" and "marée", the tide; "bouffi" and "bouffer", to eat).
LITERAL_WORDS: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "en": MappingProxyType({
        "chills": (), "faint": ("fainting", "faints"), "fainted": (),
        "oozing": ("ooze", "oozes", "oozed", "oozy"),
        "hives": (), "spread": ("spreads",), "severe": ("severely",),
    }),
    "fr": MappingProxyType({
        "gorge": ("gorges",), "pue": ("puent", "puait"), "odeur": ("odeurs",),
        "souffle": (), "bouffi": ("bouffis",), "bouffie": ("bouffies",),
        "écoulement": ("écoulements",),
        "oppression": ("oppressions", "oppressé", "oppressée"),
    }),
    "es": MappingProxyType({
        "mareo": ("mareos", "mareé", "mareando", "marearme", "mareándome", "mareaba"),
        "mareado": ("mareados",), "mareada": ("mareadas",), "olor": ("olores",),
        "vetas": ("veta",), "tocar": ("tocarla", "tocarlo", "tocarme", "toco", "toca"),
    }),
})

# Entries the documents call part of normal healing when they settle: a
# swelling said to be going down is read, not flagged ("swelling going down").
HEALING_ENTRIES: Mapping[str, frozenset[str]] = MappingProxyType({
    "en": frozenset({"swollen", "swelling", "puffy"}),
    "fr": frozenset({"gonflé", "gonflée", "gonflement", "enflé", "enflée", "enflure",
                     "bouffi", "bouffie"}),
    "es": frozenset({"hinchado", "hinchada", "hinchazón", "inflamado", "inflamada"}),
})

# A temperature named with a normal reading is denied ("temperature normal",
# "temp 36.8"); a fever word never is ("fever of 37.5" is a fever).
TEMPERATURE_ENTRIES: Mapping[str, frozenset[str]] = MappingProxyType({
    "en": frozenset({"temperature"}),
    "fr": frozenset({"température"}),
    "es": frozenset({"temperatura"}),
})

# --------------------------------------------------------------------------- negation


@dataclass(frozen=True, slots=True)
class NegationCues:
    """One language's cues, each a word or words (accents and case ignored).

    - ``before``: deny the warning entries that follow in the same clause
      ("no fever", "pas de pus", "sin fiebre"); a list goes on through "or",
      "and" and commas while the next word is itself an entry ("no fever or
      chills");
    - ``after``: deny the entry before them in the same clause ("the swelling
      has gone", "la fièvre est partie", "se fue");
    - ``after_last``: deny it only as the clause's last word ("fever: no");
    - ``hypothetical``: a sign asked about, not reported ("what if I get a
      fever", "en cas de fièvre"): read like a denial;
    - ``not_negation``: phrases in which a cue denies nothing ("not sure if",
      "no better", "de plus en plus", "no para de");
    - ``scope_ends``: words that end a cue's reach ("but", "mais", "pero");
    - ``improving``: for the swelling entries only (``HEALING_ENTRIES``), a
      swelling going down, before or after it ("swelling going down",
      "moins gonflé", "la hinchazón está bajando");
    - ``normal``: for the temperature entries only, a normal reading
      ("temperature normal", "température normale").

    A cue that is itself denied ("hasn't gone", "ne diminue pas", "no baja")
    denies nothing.
    """

    before: tuple[str, ...]
    after: tuple[str, ...]
    after_last: tuple[str, ...]
    hypothetical: tuple[str, ...]
    not_negation: tuple[str, ...]
    scope_ends: tuple[str, ...]
    improving: tuple[str, ...]
    normal: tuple[str, ...]


NEGATION_CUES: Mapping[str, NegationCues] = MappingProxyType({
    "en": NegationCues(
        before=("no", "not", "never", "without", "none", "nor", "neither", "no longer",
                "no more", "free of", "zero", "nothing", "absence of", "dont", "doesnt",
                "didnt", "isnt", "wasnt", "arent", "havent", "hasnt", "hadnt", "wont"),
        after=("gone", "went away", "disappeared", "resolved", "cleared", "cleared up",
               "stopped", "free", "settled", "subsided", "vanished"),
        after_last=("no", "none", "nope", "nothing"),
        hypothetical=("what if", "in case", "if i get", "if i have", "if i develop",
                      "if i notice", "if i see", "if it gets", "if it becomes", "if there is",
                      "if there's", "if there are", "should i get", "look out for",
                      "watch out for"),
        not_negation=("not sure", "not certain", "no idea", "not know", "not tell",
                      "no better", "not better", "not improving", "not improved",
                      "not getting better", "no improvement", "not going down", "not go down",
                      "not gone", "not go", "not stop", "not stopping", "no change",
                      "not normal", "not just", "not only", "not settling", "not settled",
                      "never stops"),
        scope_ends=("but", "however", "although", "though", "yet", "except", "still",
                    "apart"),
        improving=("going down", "gone down", "goes down", "went down", "coming down",
                   "down", "better", "improving", "improved", "less", "reducing", "reduced",
                   "subsiding", "settling", "easing", "eased", "calming", "calmed",
                   "decreasing", "receding", "fading"),
        normal=("normal", "fine", "ok", "okay", "good"),
    ),
    "fr": NegationCues(
        before=("pas", "n'", "ne", "non", "sans", "aucun", "aucune", "jamais", "ni", "rien",
                "plus de", "plus d'", "zéro", "absence de"),
        after=("disparu", "disparue", "disparus", "disparues", "parti", "partie", "partis",
               "parties", "passé", "passée", "fini", "finie", "terminé", "terminée",
               "arrêté", "s'est arrêté", "a cessé", "envolé", "envolée"),
        after_last=("non", "aucun", "aucune", "rien", "néant"),
        hypothetical=("si jamais", "en cas de", "en cas d'", "au cas où", "si j'ai",
                      "s'il y a", "si ça", "si la", "si le", "si les"),
        not_negation=("pas sûr", "pas sûre", "pas certain", "pas certaine", "sais pas",
                      "ne sais", "pas normal", "pas normale", "pas mieux", "arrête pas",
                      "ne cesse", "cesse pas", "plus en plus", "encore plus", "peu plus",
                      "beaucoup plus", "de plus", "ne diminue", "diminue pas", "ne part pas",
                      "part pas", "ne passe pas", "passe pas", "pas parti", "pas partie",
                      "pas disparu", "pas disparue", "pas dégonflé"),
        scope_ends=("mais", "cependant", "pourtant", "sauf", "toutefois", "par contre",
                    "toujours", "quand même"),
        improving=("diminue", "diminué", "diminuée", "baisse", "moins", "mieux",
                   "s'atténue", "se résorbe", "régresse", "redescend", "dégonfle",
                   "désenfle", "part"),
        normal=("normale", "normal", "bonne", "ok"),
    ),
    "es": NegationCues(
        before=("no", "sin", "ni", "nunca", "jamás", "ningún", "ninguna", "ninguno",
                "nada de", "tampoco", "cero", "ausencia de"),
        after=("desapareció", "se fue", "se ha ido", "se quitó", "ya pasó", "se acabó",
               "se curó"),
        after_last=("no", "nada", "tampoco", "ninguna", "ninguno"),
        hypothetical=("en caso de", "por si", "si tengo", "si me da", "si aparece",
                      "si sale", "si hay", "y si", "si llego"),
        not_negation=("no sé si", "no estoy segura", "no estoy seguro", "no sabría",
                      "no mejora", "no baja", "no ha bajado", "no se va", "no se quita",
                      "no se me quita", "no desaparece", "no es normal", "no para",
                      "no deja", "no dejo", "no cede", "no se ha ido"),
        scope_ends=("pero", "aunque", "sino", "excepto", "salvo", "sin embargo",
                    "todavía", "sigue", "aún"),
        improving=("bajando", "baja", "bajado", "bajó", "menos", "mejor", "disminuye",
                   "disminuyendo", "disminuido", "desinflamando", "desinflamado",
                   "desinflama", "cede", "cediendo", "mejorando", "mejora"),
        normal=("normal", "bien", "ok"),
    ),
})

# Cue words whose accent tells them from an everyday word: matched only as
# written with it ("bajó", went down; "bajo", under: "hinchado bajo los ojos").
ACCENTED_CUES = frozenset({"bajó"})

# Words that join a list after a negation ("no fever or chills"): the cue
# reaches past them only while the next word is itself an entry.
_LIST_WORDS = frozenset({"and", "or", "nor", "et", "ou", "ni", "y", "o", "e", "u"})

# --------------------------------------------------------------------------- guards


@dataclass(frozen=True, slots=True)
class Guard:
    """Not the sign: an entry next to these words means something else.

    ``entries`` (as the lists write them) or ``forms`` (words as written, accents
    ignored) name what is guarded; the guard holds when one of ``words`` (or a
    number, with ``numbers``) is within ``before`` words before it or ``after``
    words after it, in the same part of a sentence ("I spread the cream",
    "room temperature", "mother tongue", "de temps en temps", "le 3 févr.").
    """

    words: tuple[str, ...]
    before: int
    after: int
    entries: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    numbers: bool = False       # a number next to it guards too (a date: "3 févr.")


_PRODUCTS = ("cream", "creams", "serum", "balm", "lotion", "gel", "moisturiser",
             "moisturizer", "ointment", "sunscreen", "spf", "vaseline", "oil", "product",
             "mask", "crème", "creme", "sérum", "baume", "pommade", "huile", "écran",
             "masque", "produit", "hydratant", "crema", "bálsamo", "pomada", "aceite",
             "protector", "mascarilla", "producto", "hidratante", "vaselina")

CONTEXT_GUARDS: tuple[Guard, ...] = (
    # Spreading a product, not a spreading redness.
    Guard(entries=("spreading", "spread", "s'étend", "se extiende", "se está extendiendo"),
          words=_PRODUCTS, before=3, after=3),
    # A drink ("un trago"), not swallowing.
    Guard(entries=("tragar",), words=("un", "unos", "otro", "dos"), before=1, after=0),
    # A pleasant smell, or the product's.
    Guard(entries=("smell", "smelly", "odeur", "olor"),
          words=(*_PRODUCTS, "nice", "good", "lovely", "great", "fresh", "pleasant", "sweet",
                 "clean", "amazing", "bon", "bonne", "agréable", "frais", "fraîche", "doux",
                 "douce", "bueno", "buen", "buena", "rico", "rica", "agradable", "fresco", "suave"),
          before=3, after=4),
    # "faint" as slight: a faint red mark.
    Guard(entries=("faint",),
          words=("red", "pink", "pinkish", "reddish", "mark", "marks", "line", "lines",
                 "redness", "scar", "scars", "trace", "traces", "rash", "spot", "spots",
                 "bumps", "tint", "hint", "glow", "outline", "blush", "dots", "sign",
                 "signs", "itch", "tingle", "smell", "scent", "flush", "shadow"),
          before=0, after=1),
    # The room's, the water's or the weather's temperature.
    Guard(entries=("temperature", "température", "temperatura"),
          words=("room", "water", "shower", "bath", "outside", "outdoor", "ambient",
                 "fridge", "weather", "oven", "sauna", "ambiante", "eau", "douche", "bain",
                 "dehors", "extérieure", "frigo", "météo", "ambiente", "agua", "ducha",
                 "baño", "afuera", "fuera", "exterior", "nevera"),
          before=2, after=3),
    # French "temps" (time, weather), not the English abbreviation.
    Guard(forms=("temps",),
          words=("de", "le", "en", "du", "même", "mon", "ton", "son", "quel", "peu", "bon",
                 "beau", "mauvais", "tout", "les", "des", "un", "ce", "au", "longtemps",
                 "que", "pour", "ou", "plus", "moins"),
          before=1, after=1),
    # The swell of the sea.
    Guard(entries=("swelling",), forms=("swell",),
          words=("sea", "ocean", "wave", "waves", "surf", "tide"), before=3, after=3),
    # A language, not the tongue.
    Guard(entries=("tongue", "langue", "lengua"),
          words=("mother", "maternelle", "materna", "anglaise", "française", "espagnole",
                 "étrangère", "inglesa", "francesa", "española", "extranjera", "english",
                 "french", "spanish", "foreign"),
          before=1, after=1),
    Guard(entries=("langue",), words=("dans",), before=2, after=0),
    # The tide ("marée"), not "me mareé".
    Guard(forms=("marée",), words=("la", "basse", "haute", "de", "noire", "montante"),
          before=1, after=1),
    # February ("3 févr."), not "fevr".
    Guard(forms=("févr",), words=(), numbers=True, before=1, after=1),
)

# Everyday words never read by edit distance: each is one or two edits away
# from an entry word but means something else ("plus" is not "pus"; "threat"
# is not "throat"). Words of fewer than six letters are never read that way.
EVERYDAY_WORDS: frozenset[str] = frozenset("""
    anaden anales apollo aposto apuesta apuestas apuesto avaient avalan avalar
    aviles beeping blaster blasters bloquait bloquant bloque bloquee bloquees
    bloquent bloquer bloques bluster borges bouffe bouffee bouffees bouffes breach
    breaches breaching breadth breather brouter castro childs chiles chilli chilly
    choquant choque choquee choquent choquer choques claquant claque claquee
    claquent claquer claques cliquant clique cliquer cliques clouer coking coloque
    colores conchas contra contras cooking coques costar costara costas costco
    costera costeras costero costeros costos costura costuras coutait coutant
    coutent couter crests croate croates croquant croque croquer crotte crottes
    croule croupe crushing desmanes dozing dwelling dwellings eboulement eboulements
    ecroulement eloquent enfant enfiler epanoui epanouie etoffe etoffer etoffes
    febres fibres fieres flores forges gargantua georges gorgee gorgees infectious
    infeste infested inflected inflection injected injectee insecte insectes
    inyectado keeping krusty langer langres largue larguee larguer largues leading
    leaning leanings leaping leasing leaving leguas levers liebre liebres lievre
    lievres lingua lister llores longue longues maints mangue mangues marcaba
    marcada marcadas marcado marcados marcando marcos mareas marees martos mateos
    mostra mostro navales nevers nievre nostra nostros oppress oppressed ostras
    ovales painted painting paints peaking peeping pinchado quinte ravaler respite
    revers ronfle rostro rostros router routes rusting sainte saintes saints scuffle
    secretion secretions seeding seeing seeking seeming selling shallow shallows
    shelling shells shelly shuffle sleeping slinky smalls souffler souffles soufflet
    souffre spelling spellings spells steaks sticks sticky stings stingy stints
    stream streams suites supera superacion supero supuso sutura suturas sweeping
    tainted threat threats touffe touffes trabar tratar trazar trusting trusts
    trusty valaient valais valait valant valent valere vertice vertices vertidas
    vertido vertidos vestige vestiges wallow wallowing weeding welling wheeling
    wreath wreaths
""".split())

# --------------------------------------------------------------------------- numbers

# A bare number is a temperature after one of these (within three words).
TEMPERATURE_WORDS = frozenset({
    "temp", "temps", "temperature", "fever", "fevers", "feverish", "thermometer", "febrile",
    "fievre", "thermometre", "fiebre", "temperatura", "calentura", "termometro", "febril",
})
# ...and never when the clause speaks of the weather or a room.
_WEATHER_WORDS = frozenset({
    "outside", "outdoors", "weather", "sun", "sunny", "beach", "heatwave", "room", "dehors",
    "meteo", "soleil", "canicule", "plage", "exterieur", "afuera", "fuera", "sol", "playa",
    "ambiente", "clima",
})
_CELSIUS = frozenset({"c", "celsius", "centigrade"})
_FAHRENHEIT = frozenset({"f", "fahrenheit"})
_DEGREES = frozenset({"°", "º", "degrees", "degree", "deg", "degres", "degre", "grados", "grado"})
FEVER_CELSIUS = 38.0
FEVER_FAHRENHEIT = 100.4

# Read as fever wherever it appears.
FEVER_EMOJI = ("🤒",)

# --------------------------------------------------------------------------- reading

_OE = str.maketrans({"œ": "oe", "æ": "ae", "’": "'", "ʼ": "'", "`": "'"})
_TOKEN = re.compile(
    r"(?P<number>\d+(?:[.,]\d+)?)"
    r"|(?P<degree>[°º])"
    r"|(?P<word>[^\W\d_]+)"
    r"|(?P<emoji>" + "|".join(FEVER_EMOJI) + r")"
    r"|(?P<stop>[.!?;…\n]+|\s[-–—]+\s)"
    r"|(?P<comma>,)"
)
# Words that an entry of several words does not require ("hot to the touch"
# is "hot" and "touch"; "falta el aire" is "falta" and "aire").
_SMALL_WORDS = frozenset({"to", "the", "a", "an", "of", "de", "la", "le", "el", "al", "du",
                          "des", "en", "au", "l'", "d'", "un", "une", "uno", "una"})
_MIN_STEM = 4
_FUZZY_MIN = 6
_PHRASE_SLACK = 2
_BEFORE_REACH = 6
_AFTER_REACH = 4
_IMPROVING_REACH = 4


def _fold(text: str) -> str:
    """Case and accents ignored: "Fièvre" is "fievre"."""
    if text.isascii():
        return text.lower()
    return _fold_unicode(text)


@lru_cache(maxsize=4096)
def _fold_unicode(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_OE))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


class _Token(NamedTuple):
    kind: str        # word, number, degree, emoji, stop, comma
    form: str        # folded
    raw: str         # as written, lower case
    start: int
    end: int


_ELIDED = frozenset({"s", "d", "l", "j", "qu", "c", "m", "t", "n"})


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    append = tokens.append
    for found in _TOKEN.finditer(text):
        kind = found.lastgroup or "word"
        start, end = found.span()
        raw = found.group().casefold()
        form = _fold(raw)
        if kind == "word" and len(form) <= 2:
            if form == "t" and start and text[start - 1] in "'’":
                form = raw = "not"      # "don't", "can't": read as "not"
            elif form in _ELIDED and text[end:end + 1] in ("'", "’"):
                form, raw = form + "'", raw + "'"   # French elisions: "s'étend", "n'a pas"
        append(_Token(kind, form, raw, start, end))
    return tokens


def _phrase(text: str) -> tuple[str, ...]:
    """A list's word or phrase as folded words, elisions kept ("s'étend": s', etend)."""
    return tuple(token.form for token in _tokens(text) if token.kind in ("word", "emoji"))


# -- the entries, compiled once at import


@dataclass(frozen=True, slots=True)
class _Entry:
    text: str
    language: str
    emergency: bool
    slots: tuple[int, ...]          # the words it requires, as slot numbers
    healing: bool
    temperature: bool


_STEMMER_OBJECTS = {language: snowballstemmer.stemmer(name) for language, name in STEMMERS.items()}
_STEM_LOCK = threading.Lock()   # a Snowball stemmer keeps its word while it works


def _stem(language: str, word: str) -> str:
    with _STEM_LOCK:
        return _STEMMER_OBJECTS[language].stemWord(word)


def _variants(language: str, word: str) -> set[str]:
    """The plural, gender and verb forms Snowball does not bring back to one stem."""
    forms = {word}
    if language == "en":
        if len(word) >= 4 and word.endswith("s") and not word.endswith(("ss", "us")):
            forms.add(word[:-1])            # lips: lip
        elif len(word) >= 3:
            forms.add(word + "s")
        return forms
    if len(word) < 5:
        return forms
    if language == "fr":
        root = next((word[:-len(end)] for end in ("ées", "és", "ée", "é", "er")
                     if word.endswith(end)), "")
        if root:
            forms |= {root + ending for ending in ("é", "ée", "és", "ées", "e", "es", "ent",
                                                   "er", "ez", "ait", "ais", "aient", "ant")}
        elif word.endswith("e"):
            forms |= {word[:-1] + ending for ending in ("e", "es", "ent", "er", "é", "ée", "és",
                                                        "ées", "ait", "aient", "ais", "ant")}
        else:
            forms |= {word + "s", word + "e", word + "es"}
    elif word[-1] in "oa":                  # Spanish gender, number, and the superlative
        root = word[:-1]
        forms |= {root + ending for ending in ("o", "a", "os", "as")}
        if root.endswith(("ad", "id")):
            forms |= {root + ending for ending in ("ísimo", "ísima", "ísimos", "ísimas")}
    else:
        forms |= {word + "s", word + "es"}
    return forms


class _Index:
    """Every entry word as a slot, and what reads as each slot."""

    def __init__(self) -> None:
        self.slot_of: dict[tuple[str, str], int] = {}
        self.forms: dict[str, set[int]] = {}
        self.stems: dict[str, dict[str, set[int]]] = {language: {} for language in LANGUAGES}
        self.prefixes: dict[str, set[str]] = {language: set() for language in LANGUAGES}
        self.fuzzy: dict[str, set[int]] = {}
        self.variants: dict[int, set[str]] = {}
        self.by_slot: dict[int, list[_Entry]] = {}

    def slot(self, language: str, token: _Token) -> int:
        """The slot of one entry word, indexed by its forms and stems on first sight."""
        key = (language, token.form)
        if key in self.slot_of:
            return self.slot_of[key]
        number = self.slot_of[key] = len(self.slot_of)
        literal = _LITERAL[language].get(token.form)
        variants = {token.raw, *literal} if literal is not None else _variants(language,
                                                                               token.raw)
        base = {_fold(_stem(language, token.raw)), _stem(language, token.form)}
        for variant in variants:
            folded = _fold(variant)
            self.forms.setdefault(folded, set()).add(number)
            self.variants.setdefault(number, set()).add(folded)
            if literal is not None:
                continue
            for stem in {_fold(_stem(language, variant)), _stem(language, folded)}:
                # A variant's stem cut shorter than the word's own ("respiras":
                # "resp") would read other words: only longer or equal ones.
                if len(stem) >= _MIN_STEM and any(stem.startswith(own) for own in base):
                    self.stems[language].setdefault(stem, set()).add(number)
                    self.prefixes[language].add(stem[:3])
        return number

    def add(self, language: str, text: str, *, emergency: bool) -> None:
        words = [token for token in _tokens(text) if token.kind in ("word", "emoji")]
        if len(words) > 1:
            words = [token for token in words if token.form not in _SMALL_WORDS]
        entry = _Entry(text=text, language=language, emergency=emergency,
                       slots=tuple(self.slot(language, token) for token in words),
                       healing=text in HEALING_ENTRIES[language],
                       temperature=text in TEMPERATURE_ENTRIES[language])
        for slot in set(entry.slots):
            self.by_slot.setdefault(slot, []).append(entry)
        if len(entry.slots) == 1:
            # A word that is an entry on its own may be misspelt; a phrase's
            # helper words ("red", "touch", "falta") are not read that way.
            for folded in self.variants[entry.slots[0]]:
                if len(folded) >= _FUZZY_MIN:
                    self.fuzzy.setdefault(folded, set()).add(entry.slots[0])

    def misspelling(self, language: str, wrong: str, entry: str) -> None:
        [token] = [token for token in _tokens(entry) if token.kind == "word"]
        self.forms.setdefault(_fold(wrong), set()).add(self.slot(language, token))


_LITERAL = {language: {_fold(word): forms for word, forms in words.items()}
            for language, words in LITERAL_WORDS.items()}


def _build() -> _Index:
    index = _Index()
    for language in LANGUAGES:
        for text in EMERGENCY_WORDS[language]:
            index.add(language, text, emergency=True)
        for text in WARNING_WORDS[language]:
            index.add(language, text, emergency=False)
    # The emoji reads as the English "fever".
    fever = index.slot_of[("en", "fever")]
    for emoji in FEVER_EMOJI:
        index.forms.setdefault(emoji, set()).add(fever)
    for language, table in MISSPELLINGS.items():
        for wrong, entry in table.items():
            index.misspelling(language, wrong, entry)
    return index


_INDEX = _build()
_LIST_ORDER = {(language, text): rank for rank, (language, text) in enumerate(
    (language, text) for lists in (EMERGENCY_WORDS, WARNING_WORDS)
    for language in LANGUAGES for text in lists[language])}
_FORMS = {form: frozenset(slots) for form, slots in _INDEX.forms.items()}
_STEMS = {language: {stem: frozenset(slots) for stem, slots in table.items()}
          for language, table in _INDEX.stems.items()}
_PREFIXES = {language: frozenset(prefixes) for language, prefixes in _INDEX.prefixes.items()}
_FUZZY_TARGETS = tuple(sorted(_INDEX.fuzzy))
_BY_SLOT = {slot: tuple(entries) for slot, entries in _INDEX.by_slot.items()}
# The slots each entry needs, by the entry's identity: a set test per entry.
_NEEDS = {id(entry): frozenset(entry.slots) for entries in _BY_SLOT.values()
          for entry in entries}
_HOW_RANK = {"form": 0, "stem": 1, "fuzzy": 2}
_LANGUAGE_RANK = {language: rank for rank, language in enumerate(LANGUAGES)}
_NOTHING: frozenset[int] = frozenset()


@lru_cache(maxsize=16384)
def _read_word(form: str) -> tuple[frozenset[int], str]:
    """The slots a word reads as, and how: ``form``, ``stem``, ``fuzzy`` (or nothing)."""
    found = _FORMS.get(form)
    if found:
        return found, "form"
    stemmed: set[int] = set()
    for language in LANGUAGES:
        if form[:3] in _PREFIXES[language]:
            stemmed |= _STEMS[language].get(_stem(language, form), _NOTHING)
    if stemmed:
        return frozenset(stemmed), "stem"
    if len(form) >= _FUZZY_MIN and form not in EVERYDAY_WORDS:
        best = process.extractOne(form, _FUZZY_TARGETS, scorer=OSA.distance, score_cutoff=1)
        if best is not None:
            return _FORMS[best[0]], "fuzzy"
    return _NOTHING, ""


# -- the cues, compiled once


def _cue_phrase(text: str) -> tuple[str, ...]:
    if text in ACCENTED_CUES:
        return (text.casefold(),)
    return _phrase(text)


def _cues(attribute: str) -> tuple[tuple[str, ...], ...]:
    phrases = {_cue_phrase(text) for cues in NEGATION_CUES.values()
               for text in getattr(cues, attribute)}
    return tuple(sorted(phrases, key=len, reverse=True))


_CUE_KINDS = ("before", "hypothetical", "after", "after_last", "not_negation", "scope_ends",
              "improving", "normal")
# Every cue by its word (one word) or its first two words: a comment's cues
# are found in one pass, a dictionary look-up or two a word.
_CUE_WORDS: dict[str, list[str]] = {}
_CUE_PAIRS: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {}
for _kind in _CUE_KINDS:
    for _cue in _cues(_kind):
        if len(_cue) == 1:
            _CUE_WORDS.setdefault(_cue[0], []).append(_kind)
        else:
            _CUE_PAIRS.setdefault((_cue[0], _cue[1]), []).append((_kind, _cue))
_NEGATING_WORDS = frozenset(phrase[0] for phrase in _cues("before") if len(phrase) == 1)
_ACCENTED = frozenset(_cue_phrase(text)[0] for text in ACCENTED_CUES)


@dataclass(frozen=True, slots=True)
class _Guard:
    entries: frozenset[str]
    forms: frozenset[str]
    words: frozenset[str]
    before: int
    after: int
    numbers: bool


_GUARDS = tuple(_Guard(frozenset(guard.entries), frozenset(_fold(f) for f in guard.forms),
                       frozenset(_fold(w) for w in guard.words), guard.before, guard.after,
                       guard.numbers)
                for guard in CONTEXT_GUARDS)
_GUARDS_BY_ENTRY: dict[str, list[_Guard]] = {}
_GUARDS_BY_FORM: dict[str, list[_Guard]] = {}
for _guard in _GUARDS:
    for _text in _guard.entries:
        _GUARDS_BY_ENTRY.setdefault(_text, []).append(_guard)
    for _form in _guard.forms:
        _GUARDS_BY_FORM.setdefault(_form, []).append(_guard)


# -- one comment


class Finding(NamedTuple):
    """One sign read in a comment.

    ``written`` is the comment's own text for it ("Fevr", "lips are swollen",
    "38,5"); ``entry`` the list's entry it was read as (``"38 °C or more"``
    for a number); ``how``: ``form`` (as listed, accents and case aside, or a
    listed misspelling), ``stem``, ``fuzzy`` (one edit away), ``number`` or
    ``emoji``. ``denied``: a warning the patient denied, or asked about.
    """

    written: str
    entry: str
    language: str
    emergency: bool
    denied: bool
    how: str
    start: int
    end: int


_UNREAD: tuple[frozenset[int], str] = (frozenset(), "")


class _Comment:
    """A comment's words, clauses and cues, and what its words read as."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokens = _tokens(text)
        self.forms = [token.form for token in tokens]
        self.reads: list[tuple[frozenset[int], str]] = [
            _read_word(token.form) if token.kind in ("word", "emoji") else _UNREAD
            for token in tokens
        ]
        # Anything to read at all? Most comments stop here.
        self.worth_reading = any(slots for slots, _ in self.reads) or any(
            token.kind == "number" for token in tokens)
        if not self.worth_reading:
            return
        self.clause: list[int] = []
        self.segment: list[int] = []
        clause = segment = 0
        for token in tokens:
            if token.kind == "stop":
                clause += 1
                segment += 1
            elif token.kind == "comma":
                segment += 1
            self.clause.append(clause)
            self.segment.append(segment)

    def cues(self) -> dict[str, list[tuple[int, int]]]:
        """(first, last) token of every cue of each kind, each within one clause."""
        found: dict[str, list[tuple[int, int]]] = {kind: [] for kind in _CUE_KINDS}
        forms, tokens, clause = self.forms, self.tokens, self.clause
        count = len(forms)
        for start, form in enumerate(forms):
            # A cue written with its accent is matched as written ("bajó").
            word = tokens[start].raw if tokens[start].raw in _ACCENTED else form
            for kind in _CUE_WORDS.get(word, ()):
                found[kind].append((start, start))
            if start + 1 >= count or clause[start + 1] != clause[start]:
                continue
            for kind, phrase in _CUE_PAIRS.get((form, forms[start + 1]), ()):
                end = start + len(phrase)
                if end <= count and clause[end - 1] == clause[start] and \
                        forms[start + 2:end] == list(phrase[2:]):
                    found[kind].append((start, end - 1))
        return found


def _overlaps(pairs: list[tuple[int, int]], first: int, last: int) -> bool:
    return any(a <= last and first <= b for a, b in pairs)


@dataclass(slots=True)
class _Match:
    entry: _Entry | None
    tokens: tuple[int, ...]
    how: str
    emergency: bool
    number: bool = False
    low: bool = False           # a normal temperature reading


def _entry_matches(comment: _Comment) -> list[_Match]:
    present: dict[int, list[int]] = {}
    how_at: dict[int, str] = {}
    for position, (slots, how) in enumerate(comment.reads):
        for slot in slots:
            present.setdefault(slot, []).append(position)
        if slots:
            how_at[position] = how
    if not present:
        return []
    matches: list[_Match] = []
    seen: set[int] = set()
    found = present.keys()
    for slot in present:
        for entry in _BY_SLOT.get(slot, ()):
            key = id(entry)
            if key in seen:
                continue
            seen.add(key)
            if not _NEEDS[key] <= found:
                continue
            for tokens in _placements(comment, entry, present):
                # How the least sure of its words was read.
                how = max((how_at[t] for t in tokens), key=_HOW_RANK.__getitem__)
                if comment.tokens[tokens[0]].kind == "emoji":
                    how = "emoji"
                matches.append(_Match(entry=entry, tokens=tokens, how=how,
                                      emergency=entry.emergency))
    return matches


def _placements(comment: _Comment, entry: _Entry, present: dict[int, list[int]]):
    """Each place the entry's words stand together in one part of a sentence."""
    if len(entry.slots) == 1:
        for position in present[entry.slots[0]]:
            yield (position,)
        return
    reach = len(entry.slots) + _PHRASE_SLACK
    for anchor in present[entry.slots[0]]:
        chosen = [anchor]
        for slot in entry.slots[1:]:
            near = [p for p in present[slot] if p not in chosen
                    and comment.segment[p] == comment.segment[anchor]
                    and abs(p - anchor) <= reach]
            if not near:
                break
            chosen.append(min(near, key=lambda p: abs(p - anchor)))
        else:
            if max(chosen) - min(chosen) <= reach:
                yield tuple(sorted(chosen))


def _number_matches(comment: _Comment) -> list[_Match]:
    """Temperatures written as numbers: with a unit, after a temperature word, or 38,5."""
    matches = []
    tokens, forms, clause = comment.tokens, comment.forms, comment.clause
    for position, token in enumerate(tokens):
        if token.kind != "number":
            continue
        value = float(token.form.replace(",", "."))
        decimals = len(re.split(r"[.,]", token.form)[1]) if len(token.form) > 3 and \
            re.search(r"[.,]", token.form) else 0
        last, unit = position, ""
        following = position + 1
        if following < len(tokens) and forms[following] in _DEGREES:
            last, unit, following = following, "degree", following + 1
        if following < len(tokens) and tokens[following].kind == "word":
            if forms[following] in _CELSIUS:
                last, unit = following, "c"
            elif forms[following] in _FAHRENHEIT:
                last, unit = following, "f"
        here = clause[position]
        if any(forms[p] in _WEATHER_WORDS for p in range(len(tokens)) if clause[p] == here):
            continue
        context = any(forms[p] in TEMPERATURE_WORDS
                      for p in range(max(0, position - 3), position) if clause[p] == here)
        celsius, fahrenheit = 34 <= value <= 43, 93 <= value <= 110
        if unit == "c":
            reading = "c" if celsius else ""
        elif unit == "f":
            reading = "f" if fahrenheit else ""
        elif unit == "degree" or context:
            reading = "c" if celsius else "f" if fahrenheit else ""
        elif decimals == 1:
            # A bare 38,5 or 100.8, written as a thermometer shows it.
            reading = ("c" if FEVER_CELSIUS <= value <= 43 else
                       "f" if FEVER_FAHRENHEIT <= value <= 108 else "")
        else:
            reading = ""
        if reading:
            fever = value >= (FEVER_CELSIUS if reading == "c" else FEVER_FAHRENHEIT)
            matches.append(_Match(entry=None, tokens=tuple(range(position, last + 1)),
                                  how="number", emergency=False, number=True, low=not fever))
    return matches


def _guarded(comment: _Comment, match: _Match) -> bool:
    if match.entry is None:
        return False
    first, last = match.tokens[0], match.tokens[-1]
    guards = list(_GUARDS_BY_ENTRY.get(match.entry.text, ()))
    for position in match.tokens:
        guards += _GUARDS_BY_FORM.get(comment.forms[position], ())
    for guard in guards:
        around = [p for p in range(max(0, first - guard.before), first)] + \
                 [p for p in range(last + 1, min(len(comment.tokens), last + 1 + guard.after))]
        if any(comment.segment[p] == comment.segment[first] and (
                comment.forms[p] in guard.words
                or (guard.numbers and comment.tokens[p].kind == "number")) for p in around):
            return True
    return False


class _Negation:
    """Where a comment's cues stand."""

    def __init__(self, comment: _Comment, entry_positions: set[int],
                 numbers: list[_Match]) -> None:
        self.comment = comment
        self.entry_positions = entry_positions
        self.numbers = numbers
        cues = comment.cues()
        not_negation = cues["not_negation"]

        def live(kind: str) -> list[tuple[int, int]]:
            return [cue for cue in cues[kind] if not _overlaps(not_negation, *cue)]

        self.before = live("before") + live("hypothetical")
        self.after = live("after")
        self.after_last = cues["after_last"]
        self.scope_ends = {first for first, _ in cues["scope_ends"]}
        self.improving = live("improving")
        self.normal = live("normal")

    def _negated(self, first: int, last: int) -> bool:
        """A cue at first..last is itself denied ("hasn't gone", "ne diminue pas")."""
        forms = self.comment.forms
        around = range(max(0, first - 2), min(len(forms), last + 3))
        return any(forms[p] in _NEGATING_WORDS for p in around if not first <= p <= last)

    def _reaches(self, cue_last: int, target: int) -> bool:
        """A cue before ``target`` reaches it: same clause, no scope end, a list goes on."""
        comment = self.comment
        if target - cue_last > _BEFORE_REACH or comment.clause[cue_last] != comment.clause[target]:
            return False
        for p in range(cue_last + 1, target):
            token = comment.tokens[p]
            if p in self.scope_ends:
                return False
            if token.kind == "comma" or token.form in _LIST_WORDS:
                following = next((q for q in range(p + 1, target + 1)
                                  if comment.tokens[q].kind == "word"), None)
                if following not in self.entry_positions:
                    return False
        return True

    def denies(self, match: _Match) -> bool:
        comment = self.comment
        first, last = match.tokens[0], match.tokens[-1]
        clause = comment.clause[first]
        for _, cue_last in self.before:
            if cue_last < first and self._reaches(cue_last, first):
                return True
        for cue_first, cue_last in self.after:
            if last < cue_first and cue_first - last <= _AFTER_REACH and \
                    comment.clause[cue_first] == clause and \
                    not any(p in self.scope_ends for p in range(last + 1, cue_first)) and \
                    not self._negated(cue_first, cue_last):
                return True
        for cue_first, cue_last in self.after_last:
            if last < cue_first and cue_first - last <= _AFTER_REACH and \
                    comment.clause[cue_first] == clause and \
                    not any(p in self.scope_ends for p in range(last + 1, cue_first)) and \
                    _clause_ends(comment, cue_last):
                return True
        entry = match.entry
        if entry is not None and entry.healing and self._near(self.improving, first, last):
            return True
        if entry is not None and entry.temperature and (
                self._near(self.normal, first, last) or self._low_reading_after(last)):
            return True
        return False

    def _near(self, cues: list[tuple[int, int]], first: int, last: int) -> bool:
        comment = self.comment
        for cue_first, cue_last in cues:
            if cue_last < first:
                distance, between = first - cue_last, range(cue_last + 1, first)
            elif cue_first > last:
                distance, between = cue_first - last, range(last + 1, cue_first)
            else:
                continue
            # "swollen but getting better": a "but" may stand before the cue
            # that follows, never between a cue and the swelling after it.
            crossing = cue_first > last or not any(p in self.scope_ends for p in between)
            if distance <= _IMPROVING_REACH and comment.clause[cue_first] == comment.clause[first] \
                    and crossing and not self._negated(cue_first, cue_last):
                return True
        return False

    def _low_reading_after(self, last: int) -> bool:
        return any(number.low and 0 < number.tokens[0] - last <= _AFTER_REACH
                   and self.comment.clause[number.tokens[0]] == self.comment.clause[last]
                   for number in self.numbers)


def _clause_ends(comment: _Comment, position: int) -> bool:
    following = position + 1
    return following >= len(comment.tokens) or comment.tokens[following].kind in ("stop",
                                                                                    "comma")


def comment_findings(text: str | None, *, language: str = "en") -> tuple[Finding, ...]:
    """Every sign read in a comment, in the order written, each once.

    ``language`` (the patient's) only orders which list names an entry when
    several do; every list is read.
    """
    if not text or not text.strip():
        return ()
    comment = _Comment(text)
    if not comment.worth_reading:
        return ()
    matches = [match for match in _entry_matches(comment) if not _guarded(comment, match)]
    numbers = _number_matches(comment)
    candidates = [*matches, *(number for number in numbers if not number.low)]
    if not candidates:
        return ()
    # The widest reading of the same words wins (an emergency "lips swollen"
    # over the warning "swollen" inside it); the patient's language names it.
    rank = {language: 0} if language in LANGUAGES else {}
    if len(candidates) > 1:
        candidates.sort(key=lambda m: (-m.emergency, -len(m.tokens),
                                       rank.get(m.entry.language, 1) if m.entry else 0,
                                       _LANGUAGE_RANK[m.entry.language] if m.entry else 0))
    kept: list[_Match] = []
    covered: list[set[int]] = []
    for match in candidates:
        tokens = set(match.tokens)
        if any(tokens <= other for other in covered):
            continue
        kept.append(match)
        covered.append(tokens)
    kept.sort(key=lambda m: m.tokens[0])
    negation = None
    findings = []
    for match in kept:
        start = comment.tokens[match.tokens[0]].start
        end = comment.tokens[match.tokens[-1]].end
        denied = False
        if not match.emergency:
            if negation is None:
                negation = _Negation(comment, {t for m in matches for t in m.tokens}, numbers)
            denied = negation.denies(match)
        entry = match.entry
        findings.append(Finding(text[start:end], entry.text if entry else "38 °C or more",
                                entry.language if entry else "", match.emergency, denied,
                                match.how, start, end))
    return tuple(findings)


@dataclass(frozen=True, slots=True)
class CommentWarnings:
    """What a comment named, as the patient wrote it, in the lists' order.

    ``warning`` and ``emergency`` raise ``COMMENT_CONCERN``; ``denied`` holds
    the warnings the patient denied (or asked about), which raise nothing:
    the comment is read by a person instead.
    """

    warning: tuple[str, ...] = ()
    emergency: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()

    @property
    def matched(self) -> tuple[str, ...]:
        """What raises the flag: the emergency words first, then the warnings."""
        return (*self.emergency, *self.warning)

    def __bool__(self) -> bool:
        return bool(self.warning or self.emergency)


def _unique(words: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for word in words:
        seen.setdefault(_fold(word), word)
    return tuple(seen.values())


def comment_warnings(text: str | None, *, language: str = "en") -> CommentWarnings:
    """The warning and emergency signs a comment names (nothing for an empty one)."""
    findings = comment_findings(text, language=language)
    if not findings:
        return CommentWarnings()
    # As the lists order them (fever before pus before smell...), whatever the
    # order written: a flag's words read alike for every patient.
    findings = tuple(sorted(findings, key=lambda f: _LIST_ORDER.get(
        (f.language, f.entry), _LIST_ORDER[("en", "temperature")])))
    return CommentWarnings(
        warning=_unique(f.written for f in findings if not f.emergency and not f.denied),
        emergency=_unique(f.written for f in findings if f.emergency),
        denied=_unique(f.written for f in findings if f.denied),
    )
