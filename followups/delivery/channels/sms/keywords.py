"""The replies that opt a number out of texts, or back in.

Twilio's own defaults (its STOP filtering) are English only: STOP,
STOPALL, UNSUBSCRIBE, END, QUIT, REVOKE, OPTOUT, CANCEL to opt out; START,
YES, UNSTOP to opt back in. French and Spanish speakers reply in their own
words; the same words are to be set in the Messaging Service's Advanced
Opt-Out so that Twilio itself stops sending too (README, "Texts").
A reply is a keyword when it is one, alone: case, accents, spaces and a
final full stop ignored ("Arrêt." is ARRET).
"""

from __future__ import annotations

import enum
import unicodedata

OPT_OUT = {
    # Twilio's defaults
    "STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "REVOKE", "OPTOUT", "CANCEL",
    # French (ARRÊT read without its accent)
    "ARRET", "ARRETER", "DESABONNER",
    # Spanish
    "PARAR", "BAJA", "CANCELAR", "DETENER",
}
OPT_IN = {
    "START", "YES", "UNSTOP",
    # French (DÉMARRER), Spanish
    "DEMARRER", "ALTA", "COMENZAR",
}


class Keyword(enum.Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


def keyword_of(body: str) -> Keyword | None:
    word = unicodedata.normalize("NFKD", body.strip().rstrip(".!").strip())
    word = "".join(char for char in word if not unicodedata.combining(char))
    word = word.upper().replace(" ", "").replace("-", "")
    if word in OPT_OUT:
        return Keyword.OPT_OUT
    if word in OPT_IN:
        return Keyword.OPT_IN
    return None
