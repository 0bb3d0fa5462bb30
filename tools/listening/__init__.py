"""Listening: analysis (tempo, beats, key, chords), tags, captions and question answering about audio."""
