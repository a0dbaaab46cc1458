"""Words for titles and for the running text of open pages (English-looking, made up)."""

from __future__ import annotations

import numpy as np

WORDS = (  # for titles
    "The",
    "Silent",
    "Harbour",
    "Winter",
    "Garden",
    "of",
    "Small",
    "Things",
    "Atlas",
    "Light",
    "Stone",
    "River",
    "Night",
    "Letters",
    "Orchard",
    "Machine",
    "Northern",
    "Lines",
    "Paper",
    "Moon",
    "Quiet",
    "Empire",
    "Salt",
    "Glass",
    "House",
    "Field",
    "Notes",
    "Chemistry",
    "Elements",
    "Modern",
    "Cooking",
    "Lost",
    "City",
    "Wild",
    "Birds",
    "Cartography",
)
AUTHORS = ("A. Marlowe", "J. K. Okafor", "M. Lindqvist", "S. Varga", "E. Moreau", "R. Tanaka")
# Short words that make running text look like prose when mixed with the title words.
FILLER = ("the", "and", "of", "to", "in", "a", "was", "that", "it", "on", "as", "with", "by")


def sentence_words(rng: np.random.Generator, count: int) -> list[str]:
    """`count` words of running text: mostly short filler words, some longer ones."""
    words = []
    for _ in range(count):
        if rng.random() < 0.55:
            words.append(FILLER[int(rng.integers(len(FILLER)))])
        else:
            words.append(WORDS[int(rng.integers(len(WORDS)))].lower())
    return words
