"""A project (and a consultation opinion) as JSON: the one serialisation the API's
responses and the CLI's ``--format json`` share, so that they say the same of the same
project (the CLI's lacked the key-project status and the preliminary opinions)."""

from __future__ import annotations

from typing import Any

from blueprint.analysis.consultation.model import Opinion
from blueprint.analysis.projects.key import key_status
from blueprint.analysis.projects.model import Project


def project_json(project: Project) -> dict[str, Any]:
    """A project's fields and its key-project status (``key``: is_key, reasons)."""
    key = key_status(project)
    return project.to_dict() | {"key": {"is_key": key.is_key, "reasons": list(key.reasons),
                                        "reasons_zh": list(key.reasons_zh)}}


def opinion_json(opinion: Opinion) -> dict[str, Any]:
    """An opinion's fields (the condition area as GeoJSON)."""
    import shapely

    condition = None if opinion.condition is None else \
        dict(shapely.geometry.mapping(opinion.condition))
    return {**opinion.__dict__, "answer_zh": opinion.answer_zh, "condition": condition}
