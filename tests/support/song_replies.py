"""What a small model replies, call by call, when the crafted lyrics method writes a whole song: the plan,
the chorus, verse 1, verse 2 (whose last line misses the rhyme and runs long), the candidates for that
line, and the bridge. Shared by the lyrics tests and the compose tests."""

PLAN = "Title: Porch Light\nHook: Leave the porch light on for me\nImages: suitcase, porch light, train, mother"

CHORUS = ("[Chorus]\nLeave the porch light on for me\nI'll find my way back home, you'll see\n"
          "The road is long, the night is cold\nI'm carrying the things you told\n")

# Chatter around it, and the hook again: a looping line the verse must not keep.
VERSE_1 = ("Sure! Here is the verse:\n[Verse 1]\nLeave the porch light on for me\nMy mother waves from the door\n"
           "The kitchen smells of bread and rain\nI won't be coming back no more\nThe whistle of a leaving plane\n")

VERSE_2 = ("[Verse 2]\nThe fields go by in gold and brown\nI count the houses one by one\nThe city waits to pull me down\n"
           "I miss the river and the trees and the sound of the evening bells\n")

FIX_CANDIDATES = "I'm running through the empty fields of gold tonight\nI miss the river and the sun\nThe night is long\n"

BRIDGE = "[Bridge]\nAnd if I ever find my way\nI'll be back home another day\n"

WHOLE_SONG = [PLAN, CHORUS, VERSE_1, VERSE_2, FIX_CANDIDATES, BRIDGE]
