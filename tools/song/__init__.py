"""A whole song: the pipeline from a request to a song folder (lyrics, chords, melody, arrangement, audio,
lead sheet, piano roll), read back as a typed :class:`Song`."""
