"""Write DTRSansLatin*.ttf: the DejaVu Sans fonts cut down to what nearly every statement prints (Latin
letters with the accents of European names, punctuation), without hinting.

WeasyPrint subsets each font it embeds, on every render; done by fontTools on the whole DejaVu Sans
(6,253 glyphs, large kerning and substitution tables) this took about half of a DTR's render time.
These fonts are small enough to embed whole, with no subsetting at all (statements.pdf does so when
every character of a statement is in them). A statement names the cut-down font first and the whole
DejaVu Sans after it, so any other character still prints, from the whole font (then subset as before).

Renamed as the Bitstream Vera licence asks of a modified font (statements/fonts/LICENSE).
Run from the repository's root after changing the fonts: `python statements/fonts/make_latin.py`.
"""

from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

FOLDER = Path(__file__).resolve().parent
FAMILY = "DTR Sans Latin"
RANGES = [
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x017F),  # Latin-1 and Latin Extended-A: the accented letters of European names
    (0x2000, 0x206F),  # general punctuation: dashes, quotes, bullets, ellipsis
    (0x20AC, 0x20AC),  # euro sign
    (0x2122, 0x2122),  # trade mark sign
    (0x2212, 0x2212),  # minus sign
]
FONTS = {"DejaVuSans.ttf": ("DTRSansLatin.ttf", "Book"), "DejaVuSans-Bold.ttf": ("DTRSansLatin-Bold.ttf", "Bold")}


def make(source: Path, target: Path, style: str) -> None:
    options = subset.Options()
    options.hinting = False  # a PDF is not hinted: WeasyPrint drops hinting from what it embeds
    # Names and the copyright notice, as WeasyPrint keeps them in what it embeds; the licence is LICENSE here.
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
    options.name_legacy = False  # Windows names only (the Mac records repeat them)
    # Kerning kept as the legacy 'kern' table (HarfBuzz applies it when there is no GPOS). The OpenType
    # layout tables are left out: fontTools, which WeasyPrint subsets with, decompiles them whole on
    # every render even though it drops them from what it embeds.
    options.legacy_kern = True
    options.drop_tables += ["GPOS", "GSUB", "GDEF", "MATH", "FFTM"]
    options.notdef_outline = True
    font = TTFont(source)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[code for first, last in RANGES for code in range(first, last + 1)])
    subsetter.subset(font)
    names = font["name"]
    postscript = f"{FAMILY.replace(' ', '')}-{style}"
    for record in names.names:
        if record.nameID in (1, 16):
            record.string = FAMILY
        elif record.nameID in (3, 4):
            record.string = f"{FAMILY} {style}" if record.nameID == 4 else f"{postscript} (subset of DejaVu Sans)"
        elif record.nameID == 6:
            record.string = postscript
    font.save(target)


if __name__ == "__main__":
    for source, (target, style) in FONTS.items():
        make(FOLDER / source, FOLDER / target, style)
        print(f"{target}: {(FOLDER / target).stat().st_size:,} bytes")
