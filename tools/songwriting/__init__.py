"""Songwriting: lyrics, genre, chords, melody, arrangement, and the song pipeline that ties them together."""
