"""Where each key and array element of a TOML file starts: line numbers for script errors.

``tomllib`` returns plain dicts and lists with no positions, so a demo script that parses
but says something wrong (an unknown op on line 12) could only be blamed as a whole. This
module scans the raw text once, after ``tomllib`` has accepted it, and records the line of
every key and every array element by its path, e.g. ``("scene", 2, "actions", 0, "step")``
for the ``step`` key of the first action of the third scene.

The scanner understands just enough TOML to walk a valid document: comments, the four
string forms (so a ``#``, ``[`` or ``{`` inside a caption is not mistaken for syntax),
table and array-of-tables headers, dotted keys, arrays and inline tables. Scalars are
skipped. It is never used on text ``tomllib`` refused, so it need not report errors.
"""

from __future__ import annotations

import bisect

Path = tuple[str | int, ...]
"""A key path: table keys (str) and array positions (int)."""


def line_of(lines: dict[Path, int], path: Path) -> int:
    """The line of ``path``, or of its nearest recorded parent (1 if none is known)."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return 1


def key_lines(text: str) -> dict[Path, int]:
    """Map every key and array element of the TOML ``text`` to its 1-based line."""
    return _Scanner(text).scan()


class _Scanner:
    """One pass over a TOML document, recording where each path starts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.lines: dict[Path, int] = {}
        self._newlines = [k for k, ch in enumerate(text) if ch == "\n"]
        self._arrays: dict[Path, int] = {}  # array-of-tables path -> index of its last table

    # --------------------------------------------------------------- plumbing

    def _line(self, at: int) -> int:
        return bisect.bisect_left(self._newlines, at) + 1

    def _peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.text[j] if j < len(self.text) else ""

    def _record(self, path: Path, at: int) -> None:
        self.lines.setdefault(path, self._line(at))

    def _skip_space(self, newlines: bool) -> None:
        """Skip blanks and comments (and newlines, where the grammar allows them)."""
        while self.i < len(self.text):
            ch = self.text[self.i]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.i += 1
            elif ch == "#":
                while self.i < len(self.text) and self.text[self.i] != "\n":
                    self.i += 1
            else:
                return

    def _skip_string(self) -> str:
        """Skip a string starting at ``self.i`` and return its (unescaped enough) content."""
        quote = self.text[self.i]
        if self.text.startswith(quote * 3, self.i):
            end = self.text.find(quote * 3, self.i + 3)
            end = len(self.text) if end < 0 else end
            # A multi-line string may end with up to two extra quotes: """a"""""
            while self.text.startswith(quote * 4, end):
                end += 1
            content = self.text[self.i + 3 : end]
            self.i = end + 3
            return content
        j = self.i + 1
        out: list[str] = []
        while j < len(self.text) and self.text[j] != quote:
            if quote == '"' and self.text[j] == "\\":
                out.append(self.text[j : j + 2])
                j += 2
                continue
            out.append(self.text[j])
            j += 1
        self.i = j + 1
        return "".join(out)

    def _read_key(self) -> list[str]:
        """A (dotted) key: bare parts and quoted parts separated by dots."""
        parts: list[str] = []
        while True:
            self._skip_space(newlines=False)
            ch = self._peek()
            if ch in ('"', "'"):
                parts.append(self._skip_string())
            else:
                start = self.i
                while self.i < len(self.text) and (
                    self.text[self.i].isalnum() or self.text[self.i] in "_-"
                ):
                    self.i += 1
                parts.append(self.text[start : self.i])
            self._skip_space(newlines=False)
            if self._peek() == ".":
                self.i += 1
                continue
            return parts

    # ---------------------------------------------------------------- grammar

    def scan(self) -> dict[Path, int]:
        table: Path = ()
        while True:
            self._skip_space(newlines=True)
            if self.i >= len(self.text):
                return self.lines
            at = self.i
            if self._peek() == "[":
                table = self._header(at)
            else:
                self._key_value(table)

    def _resolve(self, names: list[str]) -> Path:
        """A header's names as a path, with the current index of each array of tables."""
        path: Path = ()
        for name in names:
            path += (name,)
            if path in self._arrays:
                path += (self._arrays[path],)
        return path

    def _header(self, at: int) -> Path:
        double = self._peek(1) == "["
        self.i += 2 if double else 1
        names = self._read_key()
        self.i += 2 if double else 1  # the closing bracket(s)
        if double:
            key = self._resolve(names[:-1]) + (names[-1],)
            self._arrays[key] = self._arrays.get(key, -1) + 1
            path = key + (self._arrays[key],)
            self._record(key, at)
        else:
            path = self._resolve(names)
        self._record(path, at)
        return path

    def _key_value(self, table: Path) -> None:
        at = self.i
        keys = self._read_key()
        for k in range(1, len(keys) + 1):
            self._record(table + tuple(keys[:k]), at)
        self._skip_space(newlines=False)
        if self._peek() == "=":
            self.i += 1
        self._value(table + tuple(keys))

    def _value(self, path: Path) -> None:
        self._skip_space(newlines=False)
        ch = self._peek()
        if ch in ('"', "'"):
            self._skip_string()
        elif ch == "[":
            self.i += 1
            index = 0
            while True:
                self._skip_space(newlines=True)
                ch = self._peek()
                if ch in ("]", ""):
                    self.i += 1
                    return
                if ch == ",":
                    self.i += 1
                    index += 1
                    continue
                self._record(path + (index,), self.i)
                self._value(path + (index,))
        elif ch == "{":
            self.i += 1
            while True:
                self._skip_space(newlines=True)
                ch = self._peek()
                if ch in ("}", ""):
                    self.i += 1
                    return
                if ch == ",":
                    self.i += 1
                    continue
                at = self.i
                keys = self._read_key()
                for k in range(1, len(keys) + 1):
                    self._record(path + tuple(keys[:k]), at)
                self._skip_space(newlines=False)
                if self._peek() == "=":
                    self.i += 1
                self._value(path + tuple(keys))
        else:  # a number, boolean or date: up to the next delimiter
            while self.i < len(self.text) and self.text[self.i] not in ",]}\n#":
                self.i += 1
