"""``/api/site-search``: where a project can go (精准选址), ranked candidates with reports."""

from __future__ import annotations

from typing import Any, Literal

from anyio import to_thread
from fastapi import APIRouter
from pydantic import AliasChoices, BaseModel, Field, PrivateAttr, model_validator
from pydantic_core import PydanticCustomError

from blueprint.analysis.report_schema import VetReport
from blueprint.layers.store import Store
from blueprint.service.api.bounds import Amount, Code, Integer, LonLat, Number, PairKey, Quantity
from blueprint.service.api.deps import OptionalUserDep, RulesDep, StoreDep, StoreThreadsDep
from blueprint.service.api.sent_once import SentOnce
from blueprint.service.api.vet import _check_token, body_emissions, check_demands

router = APIRouter(tags=["site search"])

class SiteSearchIn(BaseModel):
    """A project to find land for: industry, area, emissions, demand, where to look."""

    industry: Code = "industrial"
    area_m2: Number = Field(gt=0, le=1e9,
                           description="the site area the project needs, m²")
    county: Code | None = Field(default=None, description="county code or name; none: every "
                         "county")
    emissions: dict[PairKey, Quantity] = Field(default_factory=dict, max_length=50,
                                            description="t/yr per pollutant")
    demands: dict[Code, Amount] = Field(
        default_factory=dict, max_length=50, validation_alias=AliasChoices("demands", "demand"),
        description="quota demands, as on `POST /api/vet` (needs a token); `demand`, the "
                    "name this endpoint first took, is read the same")
    top: Integer = Field(default=10, ge=1, le=50)
    near: LonLat | None = Field(default=None, description="[lon, lat]: rank by the "
                                         "distance to this point instead of the county seat; "
                                         "in the city or within 50 km of its counties' "
                                         "outline, else refused (422, where near)")
    source: Literal["land_bank", "anywhere", "both"] = "both"
    tolerance: Number | None = Field(default=None, ge=0, le=1,
                                    description="share of the area a land-bank parcel may "
                                    "differ by; none: the search file's (0.1 packaged)")
    format: Literal["json", "geojson"] = Field(
        default="json", description="json: the answer below; geojson: one FeatureCollection, "
        "the allowed region then the candidates, as `blueprint site-search --format geojson`")
    _demands_at: str = PrivateAttr(default="body.demands")

    @model_validator(mode="wrap")
    @classmethod
    def _demands_as_sent(cls, data: Any, handler: Any) -> Any:
        """``demand`` is read as ``demands`` (one of the two, never both); a refusal of a
        demand names the field the caller sent."""
        sent = data if isinstance(data, dict) else {}
        if "demand" in sent and "demands" in sent:
            raise PydanticCustomError(
                "two_names", "send {name} only ({alias} is its older name), not both",
                {"name": "demands", "alias": "demand"})
        model = handler(data)
        if "demand" in sent:
            model._demands_at = "body.demand"
        return model


class CandidateOut(BaseModel):
    """One candidate: rank, where it came from, the verdict, the reasons, the report."""

    rank: int
    id: str
    source: Literal["land_bank", "anywhere"]
    verdict: Literal["pass", "conditional", "fail"]
    score: float
    reasons_zh: list[str]
    area_m2: float
    geometry: dict[str, Any]
    report: VetReport


class SiteSearchOut(BaseModel):
    """The allowed region (GeoJSON, ``status`` pass/conditional), candidates, or what blocks."""

    allowed: dict[str, Any]
    candidates: list[CandidateOut]
    blocked_zh: str | None
    notes_zh: list[str] = Field(description="what the search could not look at, one sentence "
                                "each: a layer the store lacks (the administrative boundary, a "
                                "required constraint, the land bank)")


DOC: dict[int | str, dict[str, Any]] = {
    200: {"model": SiteSearchOut, "description": "the allowed region and ranked candidates "
          "(format=json; format=geojson: one FeatureCollection of both)"}}


def _search(body: SiteSearchIn, store: Store, rules: Any) -> dict[str, Any]:
    from blueprint.analysis.site_search import (
        SearchRequest,
        result_geojson,
        result_json,
        search_sites,
    )
    from blueprint.service.context import reading_store

    emissions = body_emissions(body.emissions, "body.emissions")
    request = SearchRequest(industry=body.industry, area_m2=body.area_m2, county=body.county,
                            emissions=emissions, demands=dict(body.demands), top=body.top,
                            near=body.near, source=body.source, tolerance=body.tolerance)
    # read-only: the replica when there is one, the primary when the ledger is read (demands)
    reading = reading_store(store, ledger=bool(request.demands))
    doc = result_json(search_sites(request, store=reading, rules=rules))
    return result_geojson(doc) if body.format == "geojson" else doc


@router.post("/site-search", summary="Find sites for a project / 精准选址", responses=DOC,
             dependencies=[SentOnce])
async def api_site_search(body: SiteSearchIn, store: StoreDep, rules: RulesDep,
                          user: OptionalUserDep, threads: StoreThreadsDep) -> dict[str, Any]:
    """The allowed region and up to ``top`` candidates, each vetted (the ``report`` is what
    ``POST /api/vet`` answers for it), pass before conditional, with the reasons for the
    rank; ``blocked_zh`` says what blocks the project when there is none, ``notes_zh``
    which layers the search lacked (as ``blueprint site-search`` says). Anyone may
    search; sending ``demands`` (a quota check; ``demand`` is read the same) needs a bearer
    token."""
    _check_token(dict(body.demands), user)
    check_demands(dict(body.demands), body._demands_at)
    return await to_thread.run_sync(_search, body, store, rules, limiter=threads)
