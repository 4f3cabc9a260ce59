"""Site search (精准选址): given a project, where it can go (docs/site-selection.md).

The package knows no web framework: the CLI (``blueprint site-search``) and the API
(``POST /api/site-search``) both call :func:`search_sites` and :func:`result_json`
(:func:`result_geojson`: its FeatureCollection).
"""

from blueprint.analysis.site_search.search import (
    Candidate,
    SearchRequest,
    SearchResult,
    result_geojson,
    result_json,
    search_sites,
)

__all__ = ["Candidate", "SearchRequest", "SearchResult", "result_geojson", "result_json",
           "search_sites"]
