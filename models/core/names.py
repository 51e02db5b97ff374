"""Names as people type them: folded for search, and the keys a search walks.

"LEO GARCÍA", "leo garcia" and "Léo  Garcia" are the same search. A name is folded to lower
case without accents (NFKD, combining marks dropped, a few letters that do not decompose
spelled out: ø → o, ß → ss), apostrophes dropped (O'Brien → obrien) and any other punctuation
turned into a space. Letters of other scripts stay, lower-cased, so they remain searchable.

A person's document keeps two folded keys, each prefixed with the account's role so that one
index serves every role without mixing them: `name_key` ("patient:leo garcia lopez") and
`surname_key` (the name without its first word, then that word: "patient:garcia lopez leo").
A search is a prefix range on each (`prefix_range`): "leo g", "garcia", "garcia lopez" and
"garcia leo" all find Leo García López. Both are plain strings, so a range on them means the
same on the embedded server, MongoDB and mongomock (a range on an array field does not).
Nothing here touches the database.
"""
import unicodedata

SPELLED_OUT = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d",
                             "þ": "th", "ı": "i", "ß": "ss"})
APOSTROPHES = frozenset("'’‘`´ʼ")
PREFIX_END = "\uffff"
"""Above every character a name key holds, so [p, p + PREFIX_END) is "starts with p"."""


def fold(text):
    """Lower case, no accents, no punctuation, single spaces: the form searches compare."""
    decomposed = unicodedata.normalize("NFKD", str(text or "")).casefold()
    kept = []
    for ch in decomposed.translate(SPELLED_OUT):
        if unicodedata.combining(ch) or ch in APOSTROPHES:
            continue
        kept.append(ch if ch.isalnum() else " ")
    return " ".join("".join(kept).split())


def words(text):
    return fold(text).split()


def name_keys(role, name):
    """{"name_key", "surname_key"} of a person of this role (see the module's docstring)."""
    tokens = words(name)
    turned = tokens[1:] + tokens[:1]
    return {"name_key": f"{role}:{' '.join(tokens)}", "surname_key": f"{role}:{' '.join(turned)}"}


def prefix_range(prefix):
    """A range query on an indexed string field: every value that starts with `prefix`."""
    return {"$gte": prefix, "$lt": prefix + PREFIX_END}


def matches(query_words, name):
    """Whether every word typed is the start of some word of the name (in any order)."""
    have = words(name)
    return all(any(word.startswith(typed) for word in have) for typed in query_words)
