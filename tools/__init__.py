"""Capabilities as plain typed Python: no langchain, no assistant imports.

Each module is one capability (lyrics, genre, chords, compose, render, analyze,
caption, audio_qa). Results are dataclasses that list the files they wrote as
:class:`core.outputs.OutputFile` objects.
"""

from pathlib import Path

PROMPTS_DIR = Path(__file__).parent / "prompts"   # prompt templates and small vocabularies (data files)
DATA_DIR = Path(__file__).parent / "data"         # the shipped checkpoints
