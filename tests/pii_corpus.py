"""An English prose corpus for the false-positive rate of the PII patterns, and the
obfuscated personal data to plant in it (tests/test_pii_obfuscated.py,
benchmarks/bench_pii.py).

Two sources, both free of personal data:

* ``GETTYSBURG``: Lincoln's Gettysburg Address (1863), public domain, one sentence a row.
* ``prose(n, seed)``: sentences from a template grammar written to be hard for the
  obfuscated-PII patterns: "at" and "dot" in ordinary use ("at least", "looked at the
  dot com boom", "visit us at www.example.com", "a dot on the map"), times ("at 10 30",
  "09 30"), amounts ("1 234 EUR", "0.50"), dates in every common form, order and
  reference numbers with leading zeros, postcodes, version numbers, scores and
  coordinates. None of it is a person's e-mail address or phone number.

Imports only the standard library.
"""

from __future__ import annotations

import random

GETTYSBURG = [
    "Four score and seven years ago our fathers brought forth on this continent, a new "
    "nation, conceived in Liberty, and dedicated to the proposition that all men are "
    "created equal.",
    "Now we are engaged in a great civil war, testing whether that nation, or any nation "
    "so conceived and so dedicated, can long endure.",
    "We are met on a great battle-field of that war.",
    "We have come to dedicate a portion of that field, as a final resting place for those "
    "who here gave their lives that that nation might live.",
    "It is altogether fitting and proper that we should do this.",
    "But, in a larger sense, we can not dedicate -- we can not consecrate -- we can not "
    "hallow -- this ground.",
    "The brave men, living and dead, who struggled here, have consecrated it, far above "
    "our poor power to add or detract.",
    "The world will little note, nor long remember what we say here, but it can never "
    "forget what they did here.",
    "It is for us the living, rather, to be dedicated here to the unfinished work which "
    "they who fought here have thus far so nobly advanced.",
    "It is rather for us to be here dedicated to the great task remaining before us -- "
    "that from these honored dead we take increased devotion to that cause for which they "
    "gave the last full measure of devotion -- that we here highly resolve that these dead "
    "shall not have died in vain -- that this nation, under God, shall have a new birth "
    "of freedom -- and that government of the people, by the people, for the people, "
    "shall not perish from the earth.",
]

_SLOTS: dict[str, list[str]] = {
    "name": ["Anna", "the manager", "our driver", "Mr. Patel", "Dr. Okafor", "the courier"],
    "place": ["the office", "the station", "the depot", "home", "the clinic", "the bank"],
    "verb_at": ["arrived", "looked", "stared", "waited", "met us", "stopped", "laughed"],
    "site": ["www.example.com", "python.org", "shop.example.co.uk", "docs.example.org"],
    "spelled_site": ["example dot com", "our site dot com", "the portal dot org"],
    "dot_noun": ["a dot on the map", "the red dot", "polka dot fabric", "the dot matrix printer"],
    "time": ["10 30", "09 30", "10:30", "9.30am", "17 45", "08 15", "noon", "6 pm", "0930"],
    "amount": ["$1,234.56", "£0.99", "1 234 EUR", "12 500 kr", "0.50", "EUR 0 450", "€19.99"],
    "date": ["01/02/2024", "2024-05-01", "1 March 2024", "01.02.2024", "01 02 2024", "3rd May"],
    "ref": [
        "0123 4567 8901",
        "INV-0042",
        "004512 7789",
        "#12345",
        "0412-553",
        "A-0099-17",
        "000 123 456",
        "0042 1234 5678",
        "0711 22",
        "ORD 0035 112 9",
    ],
    "postcode": ["SW1A 1AA", "90210", "75001", "02134-1234", "10115 Berlin", "EC1A 1BB"],
    "version": ["v2.0.1", "0.12.3", "1.4", "3.11.7", "0.9 beta"],
    "scores": ["10 12 14 9", "3 1 4 1 5", "01 02 03", "7 08 09 10", "0 0 1"],
    "coords": ["51.5074, -0.1278", "48.8566 N 2.3522 E", "40 42 46 N"],
    "count": ["3", "12", "two", "a dozen", "0", "1 000", "45"],
}

_TEMPLATES = [
    "{name} {verb_at} at {place} at {time} on {date}.",
    "We looked at the dot com boom and at {spelled_site} in the lecture.",
    "Visit us at {site} or call in at {place} before {time}.",
    "Order {ref} was paid ({amount}) on {date} and shipped at {time}.",
    "The invoice {ref} for {amount} is due at the end of the month.",
    "Deliveries to {postcode} arrive at {place} at {time}.",
    "There was {dot_noun}, and {name} looked at it for a long time.",
    "At least {count} people waited at {place}; the queue moved at {time}.",
    "Update to {version} at your own pace; {version} is still supported at {site}.",
    "The scores were {scores} at the end of the round.",
    "Meet me at {place} at {time}, not at {time}.",
    "Connect the dots: at first the pattern is hard to see.",
    "The price dropped to {amount} at the sale and rose to {amount} at the end of {date}.",
    "Reference {ref}, postcode {postcode}, booked at {time} on {date}.",
    "The station is at {coords}, at the edge of town.",
    "Our records at {site} list {count} parcels for {postcode}.",
    "The dot product of the two vectors is {count} at step {count}.",
    "{name} shopped at {spelled_site} and at the market on {date}.",
    "He was good at maths, bad at spelling, and best at chess.",
    "At {time} the train from platform {count} left at last.",
    "Ticket {ref} was closed at {time}; case {ref} is still open.",
    "Rates at {amount} per hour apply at weekends from {date}.",
    "Look at item {ref} and item {ref} at your desk.",
    "Your balance at {date} was {amount} after a payment of {amount}.",
    "The meeting at {place} runs from {time} to {time}, room {count}.",
    "Temperatures at {place} stayed at {count} degrees; humidity at {count} percent.",
    "She aimed at the target, hit it at {count} metres and smiled at the crowd.",
    "Files are at {site}/downloads; mirror at {site}.",
    "Batch {ref} expires at the end of {date}, lot {ref}.",
    "A dot at the end of a sentence is a full stop; at the start it is odd.",
    "Learn more at {spelled_site} or ask at the desk.",
    "Our CEO spoke at {spelled_site} Summit on {date}.",
    "Rooms from {amount} at {site}; suites from {amount} at {spelled_site}.",
    "Version {version} at {site} fixes it; {version} at {spelled_site} does not.",
    "He interned at {spelled_site} and later taught at {site}.",
    "The report.pdf at {site} and data.csv at {site} were updated at {time}.",
    "Call us on {ref} at {time} about order {ref}.",
    "The 08 15 from {place} and the 09 30 to {place} were cancelled.",
    "Lottery numbers: 04 12 23 34 45, bonus {count}.",
    "Opening hours: 08 00 to 17 30, Sat 09 00 to 12 00.",
    "Flight {ref} departs at {time}; gate {count}, seat 0{count}.",
    "Account {ref}, sort code 20-00-00, statement {date}.",
    "ISBN 978-0-14-143951-8 costs {amount} at {site}.",
    "Kick-off at {time}; the score at half time was {scores}.",
]


# What the two patterns would be without the checks that tell PII from prose: any "at"
# and "dot" around words, any digit groups after a trunk 0. Their rate on the corpus shows
# that it does write the lookalikes.
LOOSE = {
    "email_spelled": None,  # the default regex without its validator
    "phone_national": r"\b0[1-9][0-9]{0,3}[ .-][0-9]{2,8}(?:[ .-][0-9]{2,8}){0,3}\b",
}


def loose_patterns() -> dict:
    """``LOOSE`` as patterns for ``pii_report(patterns=)``."""
    from mlops_testkit import PiiPattern
    from mlops_testkit.data.pii import DEFAULT_PATTERNS

    return {
        kind: PiiPattern(kind, regex or DEFAULT_PATTERNS[kind].regex)
        for kind, regex in LOOSE.items()
    }


def prose(n: int, seed: int = 0) -> list[str]:
    """``n`` rows of generated English prose, one to three sentences each."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        sentences = []
        for _ in range(rng.randint(1, 3)):
            template = rng.choice(_TEMPLATES)
            sentences.append(_fill(template, rng))
        rows.append(" ".join(sentences))
    return rows


def _fill(template: str, rng: random.Random) -> str:
    out = template
    while "{" in out:
        start = out.index("{")
        end = out.index("}", start)
        out = out[:start] + rng.choice(_SLOTS[out[start + 1 : end]]) + out[end + 1 :]
    return out


def corpus(n: int = 5_000, seed: int = 0) -> list[str]:
    """The Gettysburg Address, then ``n`` generated rows."""
    return [*GETTYSBURG, *prose(n, seed)]


# Personal data written to get past filters, one generator per form.
_FIRST = ["john", "jane", "amir", "li", "olga", "sam", "maria", "kofi"]
_LAST = ["doe", "smith", "khan", "wei", "ivanova", "lee", "garcia", "mensah"]
_DOMAINS = ["example.com", "mail.example.org", "example.co.uk", "post.example.de", "example.io"]
_AT = [" at ", " [at] ", " (at) ", " {at} ", "[at]", "(at)", " AT ", " <at> ", " @ "]
_DOTS = [" dot ", " [dot] ", " (dot) ", "[dot]", " DOT ", " {dot} ", "(.)", " [.] "]


def spelled_email(rng: random.Random) -> str:
    """An e-mail address with its "@" and, mostly, its dots spelled out."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    domain = rng.choice(_DOMAINS)
    at = rng.choice(_AT)
    if at.strip().lower() == "at" and rng.random() < 0.3:
        return f"{first}.{last}{at}{domain}"  # john.doe at example.com
    dot = rng.choice(_DOTS)
    local = f"{first}{dot}{last}" if rng.random() < 0.5 else f"{first}.{last}"
    return f"{local}{at}{domain.replace('.', dot)}"


def national_phone(rng: random.Random) -> str:
    """A phone number without a country code, grouped the way its country writes it."""
    d = lambda k: "".join(str(rng.randrange(10)) for _ in range(k))  # noqa: E731
    forms = [
        lambda: f"07{d(3)} {d(3)} {d(3)}",  # UK mobile
        lambda: f"020 {d(4)} {d(4)}",  # London
        lambda: f"0161 {d(3)} {d(4)}",  # Manchester
        lambda: f"(020) {d(4)} {d(4)}",
        lambda: f"01632 {d(3)} {d(3)}",  # UK area
        lambda: f"07{d(3)} {d(6)}",
        lambda: f"0{rng.randint(1, 9)} {d(2)} {d(2)} {d(2)} {d(2)}",  # France
        lambda: f"0{rng.randint(1, 9)}.{d(2)}.{d(2)}.{d(2)}.{d(2)}",
        lambda: f"030 {d(4)} {d(4)}",  # Berlin
        lambda: f"015{rng.randint(1, 9)} {d(8)}",  # German mobile
        lambda: f"06 {d(8)}",  # Dutch mobile
        lambda: f"020 {d(3)} {d(4)}",  # Amsterdam
        lambda: f"04{d(2)} {d(3)} {d(3)}",  # Australian mobile
        lambda: f"(02) {d(4)} {d(4)}",  # Sydney
        lambda: f"03-{d(4)}-{d(4)}",  # Tokyo
        lambda: f"090-{d(4)}-{d(4)}",  # Japanese mobile
        lambda: f"06 {d(4)} {d(4)}",  # Rome
    ]
    return rng.choice(forms)()


def planted(n: int, seed: int, make) -> list[str]:
    """``n`` prose rows, each with one value from ``make(rng)`` put in a sentence."""
    rng = random.Random(seed)
    rows = prose(n, seed + 1)
    lead = ["Contact: {}.", "reach me at {} after 6", "{} (home)", "notes - {} - call back"]
    return [f"{row} {rng.choice(lead).format(make(rng))}" for row in rows]
