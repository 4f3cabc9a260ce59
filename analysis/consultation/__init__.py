"""Consultation between departments (业务协同): rounds, opinions, the joint meeting.

Modules: :mod:`model` (rounds and their state machine, opinions), :mod:`routing` (which
departments, from ``routing.toml``), :mod:`workdays` (deadlines in Chinese working days),
:mod:`rounds` (start, add/remove a department, answer, close), :mod:`revision` (revise,
vet again and consult again, all or nothing), :mod:`records` (reading:
rounds, inbox, overdue, preliminary-review opinions) and :mod:`meeting` (problem list and
decisions). See ``docs/projects.md``.
"""

from blueprint.analysis.consultation.meeting import decide, problem_list
from blueprint.analysis.consultation.records import (
    get_round,
    inbox,
    overdue,
    preliminary_opinions,
    rounds_of,
)
from blueprint.analysis.consultation.revision import revise_and_vet
from blueprint.analysis.consultation.rounds import (
    add_department,
    answer,
    close_round,
    remove_department,
    start_round,
)
from blueprint.analysis.consultation.workdays import add_working_days, is_working_day

__all__ = ["add_department", "add_working_days", "answer", "close_round", "decide",
           "get_round", "inbox", "is_working_day", "overdue", "preliminary_opinions",
           "problem_list", "remove_department", "revise_and_vet", "rounds_of", "start_round"]
