"""Capabilities as plain typed Python: no langchain, no assistant imports.

Each module is one capability (lyrics, genre, chords, compose, render, analyze,
caption, audio_qa). Results are dataclasses that list the files they wrote as
:class:`tools.types.OutputFile` objects.
"""
