"""The lead sheet engraved: a MusicXML lead sheet (:mod:`tools.rendering.leadsheet`) laid out by verovio as
SVG pages (melody, lyrics, chord symbols, section marks, title) and drawn as PNG pages with cairosvg.

Verovio lays pages out quickly; cairosvg, drawing in Python, is much slower, so :func:`start_engraving`
writes the SVG pages at once and draws the PNGs in a background thread (the song folder and
``bandmate render`` overlap it with the audio render, see :mod:`tools.song.folder`).
"""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from core.errors import ToolError

PNG_WIDTH = 1240  # pixels across an A4 page: 150 dpi
# Verovio units are tenths of a millimetre: an A4 page, its height cut to the music on the last page.
_PAGE = {"pageWidth": 2100, "pageHeight": 2970, "pageMarginLeft": 80, "pageMarginRight": 80,
         "pageMarginTop": 60, "pageMarginBottom": 60, "adjustPageHeight": True, "scale": 45,
         "spacingLinear": 0.4, "spacingNonLinear": 0.55, "lyricSize": 4.0, "header": "auto", "footer": "none",
         "breaks": "auto", "mnumInterval": 0}
# Music-font characters verovio puts in text (chord-symbol accidentals, the metronome note): cairosvg has no
# music font, so the PNG gets their everyday Unicode twins.
_TEXT_GLYPHS = {"\uea64": "\u266d", "\uea65": "\u266e", "\uea66": "\u266f", "\ueca5": "\u2669", "\ue260": "\u266d",
                "\ue261": "\u266e", "\ue262": "\u266f"}
_TEXT_FONT = "DejaVu Serif Condensed, Liberation Serif, Times, serif"
_GLYPH_TSPAN = re.compile(r'<tspan font-family="Leipzig" font-size="(\d+)px">([^<])</tspan>')
_HIDDEN_DEGREE = re.compile(r'<degree print-object="no">.*?</degree>\s*', re.S)
# Verovio's default resource path (its fonts) is set per thread, only in the thread that imported it: every
# toolkit is given the path itself, since chats and the song folder engrave in worker threads. One at a time:
# toolkits share the loaded fonts.
_VEROVIO_LOCK = threading.Lock()
_KIND_TEXT = re.compile(r'(<kind[^>]* text=")([^"]*)(")')


@dataclass(frozen=True)
class Engraving:
    """The engraved pages: one SVG and one PNG per page, in page order."""

    svgs: tuple[Path, ...]
    pngs: tuple[Path, ...]

    @property
    def pages(self) -> int:
        return len(self.svgs)


def engrave_svg(musicxml: str | Path) -> list[str]:
    """The pages of the lead sheet in the MusicXML file ``musicxml`` as SVG documents. ToolError if verovio
    cannot read the file."""
    from importlib.resources import files

    import verovio

    path = Path(musicxml)
    try:
        text = path.read_text(encoding="utf-8")
        root = ET.fromstring(text.encode("utf-8"))
    except (OSError, UnicodeDecodeError, ET.ParseError) as exc:
        raise ToolError(f"{path.name} could not be engraved ({type(exc).__name__}); give an uncompressed "
                        "MusicXML file.") from exc
    # Verovio lays out anything it is given, an empty page included, so a score without notes stops here.
    if root.tag not in ("score-partwise", "score-timewise") or root.find(".//note") is None:
        raise ToolError(f"{path.name} could not be engraved (it has no notes); give a MusicXML score with notes.")
    with _VEROVIO_LOCK:
        toolkit = verovio.toolkit(False)
        toolkit.setResourcePath(str(files("verovio") / "data"))
        toolkit.setOptions({**_PAGE, "inputFrom": "musicxml"})
        if not toolkit.loadData(_for_verovio(text)) or toolkit.getPageCount() == 0:
            log = " ".join(toolkit.getLog().split())[:200]
            raise ToolError(f"{path.name} could not be engraved ({log or 'verovio read no music'}); "
                            "check that it is a MusicXML score with notes.")
        return [toolkit.renderToSVG(page) for page in range(1, toolkit.getPageCount() + 1)]


def _for_verovio(text: str) -> str:
    """The MusicXML as verovio should draw it: degrees the chord symbol's text already names (G7b9 is kind
    "dominant", text "7b9", plus a hidden flat ninth) left out, since verovio prints hidden degrees too, and
    the alterations in that text written with real sharp and flat signs (G7♭9, A7♯5)."""
    def signs(match: re.Match) -> str:
        shown = re.sub(r"b(?=\d)", "\u266d", match.group(2)).replace("#", "\u266f")
        return match.group(1) + shown + match.group(3)

    return _KIND_TEXT.sub(signs, _HIDDEN_DEGREE.sub("", text))


def svg_to_png(svg: str, path: str | Path, *, width: int = PNG_WIDTH) -> Path:
    """Draw one engraved SVG page as a PNG on white, ``width`` pixels wide."""
    import cairosvg

    def plain(match: re.Match) -> str:
        glyph = _TEXT_GLYPHS.get(match.group(2))
        return f'<tspan font-size="{int(match.group(1)) * 0.56:.0f}px">{glyph}</tspan>' if glyph else match.group(0)

    # Verovio spaces the lyrics by Times' widths; DejaVu Serif Condensed (always there with cairo) is close to them.
    svg = _GLYPH_TSPAN.sub(plain, svg).replace('font-family="Times, serif"', f'font-family="{_TEXT_FONT}"')
    cairosvg.svg2png(bytestring=svg.encode("utf-8"), write_to=str(path),
                     output_width=width, background_color="white")
    return Path(path)


class EngravingJob:
    """PNG pages being drawn in a background thread; :meth:`wait` returns the :class:`Engraving`."""

    def __init__(self, svgs: list[Path], pngs: list[Path], pages: list[str]) -> None:
        self._svgs, self._pngs = tuple(svgs), tuple(pngs)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._draw, args=(pages,), name="lead-sheet-png", daemon=True)
        self._thread.start()

    def _draw(self, pages: list[str]) -> None:
        try:
            for svg, png in zip(pages, self._pngs):
                svg_to_png(svg, png)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            self._error = exc

    def wait(self) -> Engraving:
        """Wait for the PNG pages; re-raises what drawing them raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return Engraving(self._svgs, self._pngs)


def start_engraving(musicxml: str | Path, out_dir: str | Path, stem: str = "lead-sheet") -> EngravingJob:
    """Write ``<stem>-1.svg``, ``<stem>-2.svg``... into ``out_dir`` now and start drawing ``<stem>-1.png``...
    in the background."""
    pages = engrave_svg(musicxml)
    out = Path(out_dir)
    svgs = [out / f"{stem}-{n}.svg" for n in range(1, len(pages) + 1)]
    for svg, path in zip(pages, svgs):
        path.write_text(svg, encoding="utf-8")
    return EngravingJob(svgs, [out / f"{stem}-{n}.png" for n in range(1, len(pages) + 1)], pages)


def engrave(musicxml: str | Path, out_dir: str | Path, stem: str = "lead-sheet") -> Engraving:
    """Engrave the MusicXML lead sheet into SVG and PNG pages in ``out_dir`` and wait for them."""
    return start_engraving(musicxml, out_dir, stem).wait()
