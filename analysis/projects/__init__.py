"""The project library (项目库): projects, their stages, libraries, key status and reports.

Modules: :mod:`model` (the project and its stage machine), :mod:`config` (settings from
``projects.toml``), :mod:`records` (create, read, list, revise, tag), :mod:`stages`
(advance, exit with quota reclaim), :mod:`key` (key-project status, art. 2) and
:mod:`reports` (stored vetting reports stamped with layer versions; stale ones re-vetted).
See ``docs/projects.md``.
"""

from blueprint.analysis.projects.key import KeyStatus, key_status
from blueprint.analysis.projects.model import STAGE_ZH, Project, ProjectInput
from blueprint.analysis.projects.records import (
    check_filters,
    count_projects,
    create_project,
    get_project,
    list_projects,
    revise_project,
    set_tags,
    stage_history,
)
from blueprint.analysis.projects.reports import (
    latest_report,
    revet_stale,
    stale_projects,
    staleness_of,
    vet_project,
)
from blueprint.analysis.projects.stages import advance, exit_project, stage_counts

__all__ = ["STAGE_ZH", "KeyStatus", "Project", "ProjectInput", "advance", "check_filters",
           "count_projects", "create_project", "exit_project", "get_project", "key_status",
           "latest_report",
           "list_projects", "revet_stale", "revise_project", "set_tags", "stage_counts",
           "stage_history", "stale_projects", "staleness_of", "vet_project"]
