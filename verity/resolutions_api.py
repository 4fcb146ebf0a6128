"""The resolution routes (role `admin`): turn an answer into a resolution, list them, approve
one again after its documents changed, remove one."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from answer.resolutions import approve_again, resolve
from catalog import Catalog
from schemas.admin import ApiKey, Role
from schemas.resolutions import ApproveRequest, Resolution, ResolutionRequest, ResolutionStatus
from verity.auth import Auth


def resolutions_router(catalog: Catalog, auth: Auth) -> APIRouter:
    """`/admin/resolutions[...]`."""
    router = APIRouter(tags=["admin"])
    admin = Depends(auth.require(Role.ADMIN))

    @router.post("/admin/resolutions", status_code=201)
    def create(body: ResolutionRequest, key: ApiKey = admin) -> Resolution:
        """An answer (as given, or with corrected `text`) served from now on to questions that
        ask the same thing, while the versions it cites are current. 404: no such answer;
        409: a declined answer, or a cited version already superseded; 422: markers that
        name no citation."""
        return resolve(catalog, body, key.key_id)

    @router.get("/admin/resolutions")
    def listing(status: ResolutionStatus | None = None, _: ApiKey = admin) -> list[Resolution]:
        """Every resolution, newest first; `status=stale`: those waiting for approval."""
        return catalog.resolutions.find(status)

    @router.get("/admin/resolutions/{resolution_id}")
    def one(resolution_id: str, _: ApiKey = admin) -> Resolution:
        """One resolution."""
        return catalog.resolutions.get(resolution_id)

    @router.post("/admin/resolutions/{resolution_id}/approve")
    def approve(resolution_id: str, body: ApproveRequest, key: ApiKey = admin) -> Resolution:
        """Approve again (optionally with new text): each cited passage is pinned to its
        document's current version; 409 if a passage is gone from it."""
        return approve_again(catalog, resolution_id, body, key.key_id)

    @router.delete("/admin/resolutions/{resolution_id}", status_code=204)
    def remove(resolution_id: str, _: ApiKey = admin) -> Response:
        """Stop serving a resolution and forget it."""
        catalog.resolutions.remove(resolution_id)
        return Response(status_code=204)

    return router
