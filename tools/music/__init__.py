"""Shared music vocabulary: pitch classes, keys, chords, Roman numerals, and the score data model."""
