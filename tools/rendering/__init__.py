"""Rendering: scores to MIDI, WAV/OGG (fluidsynth), an engraved lead sheet, and piano-roll pictures."""
