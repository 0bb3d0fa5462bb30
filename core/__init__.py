"""The small core every layer may import: settings and home, errors, typed outputs, atomic files, audio I/O,
and the text-generation interface. It imports nothing else of bandmate's."""
