"""The forms of a rendered page, read with the standard library's HTML parser: each form's
attributes and the classes of its submit buttons (to check confirmations and danger styling)."""
from html.parser import HTMLParser


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []
        self._open = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._open = {"attrs": attrs, "buttons": []}
            self.forms.append(self._open)
        elif self._open is not None and (
                (tag == "button" and attrs.get("type", "submit") == "submit")
                or (tag == "input" and attrs.get("type") == "submit")):
            self._open["buttons"].append((attrs.get("class") or "").split())

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def forms_of(html):
    parser = _Forms()
    parser.feed(html)
    return parser.forms
