"""Dependencies shared by the routers: the service, and bearer-key auth with a rate limit."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scenecraft.service.api.service import Service

bearer = HTTPBearer(auto_error=False, description="an API key from SCENECRAFT_API_KEYS")


def service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(service)]


def owner(
    svc: ServiceDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The owner id of the request's API key; 401 without a valid key, 429 over the rate."""
    who = svc.owner_of(creds.credentials) if creds is not None else None
    if who is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or unknown API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    wait = svc.store.rate_wait(who, svc.svc.rate_limit_per_s, svc.svc.rate_limit_burst)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"this API key is over its rate of {svc.svc.rate_limit_per_s:g} requests/s; "
            f"retry after {math.ceil(wait)} s",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    return who


Owner = Annotated[str, Depends(owner)]
