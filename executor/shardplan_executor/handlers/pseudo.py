"""`pseudo`: pseudo-localization, so a whole pipeline runs offline and deterministically.

Pseudo-localization is what i18n teams run before real translators: every
Latin letter becomes an accented look-alike (text that escaped translation
stands out), the text is bracketed (truncation shows) and padded by about 30%
(layouts must survive longer languages). Placeholders such as `{name}`, `%s`
and `<b>` pass through untouched, as a translator would keep them.

- translate: a `TranslatedLine` per source line, with the pseudo text;
- edit: a `TranslatedLine` per line, taking the translate text from `inputs`;
- context, pretranslation, qa: one annotation per line;
- ingest: one record per line with its length;
- export: the latest text of each line (edit when it ran, else translate), in
  source order; the executor collects these into `export/<lang>.jsonl`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from pydantic import BaseModel

from shardplan_schemas.source import SourceLine, TranslatedLine
from shardplan_schemas.task import Record, ShardTask

_ACCENTED = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "ÅƁÇĐÉƑĜĤÎĴĶĻṀÑÖÞǪŔŠŦÛṼŴẊÝŽåƀçðéƒĝĥîĵķļɱñöþǫŕšŧûṽŵẋýž",
)
_PLACEHOLDER = re.compile(r"\{[^{}]*\}|%(?:\d+\$)?[sdifx%]|<[^<>]*>")
EXPANSION = 0.3
PADDING = "~"


def pseudolocalize(text: str) -> str:
    """`[Ŧĥé ŧéẋŧ~~]`: accented letters, brackets, ~30% longer; placeholders kept."""
    pieces: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        pieces.append(text[position : match.start()].translate(_ACCENTED))
        pieces.append(match.group())
        position = match.end()
    pieces.append(text[position:].translate(_ACCENTED))
    padding = PADDING * math.ceil(len(text) * EXPANSION)
    return "[" + "".join(pieces) + padding + "]"


def _translated(line: SourceLine, language: str, text: str, phase: str) -> TranslatedLine:
    return TranslatedLine(
        line_id=line.line_id,
        scene_id=line.scene_id,
        route_id=line.route_id,
        speaker=line.speaker,
        language=language,
        source_text=line.text,
        text=text,
        phase=phase,
    )


def _texts_by_line(records: Sequence[Record]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for record in records:
        line_id, text = record.get("line_id"), record.get("text")
        if isinstance(line_id, str) and isinstance(text, str):
            texts[line_id] = text
    return texts


def _annotation(task: ShardTask, line: SourceLine, note: str) -> Record:
    return {
        "line_id": line.line_id,
        "phase": task.phase,
        "language": task.target_language,
        "agents": list(task.agents),
        "note": note,
    }


def pseudo_handler(task: ShardTask) -> list[BaseModel | Record]:
    """Pseudo-localize one unit of work (see the module docstring for each phase)."""
    language = task.target_language
    if task.phase == "ingest":
        return [{"line_id": line.line_id, "characters": len(line.text)} for line in task.lines]
    if task.phase in ("context", "pretranslation"):
        return [
            _annotation(
                task,
                line,
                f"scene {line.scene_id or '-'}, speaker {line.speaker or 'narration'}"
                if task.phase == "context"
                else f"{len(line.text)} characters, no idioms marked (pseudo)",
            )
            for line in task.lines
        ]
    if language is None:
        raise ValueError(f"phase {task.phase} needs a target language")
    if task.phase == "translate":
        return [
            _translated(line, language, pseudolocalize(line.text), "translate")
            for line in task.lines
        ]
    translated = _texts_by_line(task.inputs.get("translate", []))
    if task.phase == "qa":
        return [
            _annotation(
                task,
                line,
                "translated" if line.line_id in translated else "missing translation",
            )
            for line in task.lines
        ]
    if task.phase == "edit":
        return [
            _translated(
                line, language, translated.get(line.line_id, pseudolocalize(line.text)), "edit"
            )
            for line in task.lines
        ]
    # export: the latest text of each line, edit when it ran, else translate
    latest_phase = "edit" if "edit" in task.inputs else "translate"
    latest = _texts_by_line(task.inputs.get(latest_phase, []))
    missing = [line.line_id for line in task.lines if line.line_id not in latest]
    if missing:
        raise LookupError(
            f"no {latest_phase} text in {language} for {len(missing)} line(s), first {missing[0]}"
        )
    return [_translated(line, language, latest[line.line_id], latest_phase) for line in task.lines]
