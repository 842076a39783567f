"""A fake Bluesky PDS: `createSession`, `createRecord` (a record key can be used once) and
`getRecord`, for reply tests. `fail_posts` takes HTTP statuses, or "cut" (the record is
written but the answer is lost)."""

from __future__ import annotations

from typing import Any

from stormwatch.fakes.http import FakeService, Request

DID = "did:plc:stormwatchhost"


class FakePDS(FakeService):
    def __init__(self, password: str, fail_posts: list[int | str] | None = None) -> None:
        self.password = password
        self.fail_posts = list(fail_posts or [])
        self.records: dict[str, dict[str, Any]] = {}  # rkey -> record
        self.calls: list[dict[str, Any]] = []
        super().__init__(
            {
                ("POST", "/xrpc/com.atproto.server.createSession"): self._session,
                ("POST", "/xrpc/com.atproto.repo.createRecord"): self._create,
                ("GET", "/xrpc/com.atproto.repo.getRecord"): self._get,
            }
        )

    def _session(self, req: Request) -> None:
        body = req.json() or {}
        if body.get("password") != self.password:
            req.reply(401, {"error": "AuthenticationRequired", "message": "Invalid password"})
            return
        req.reply(
            200,
            {
                "did": DID,
                "handle": body.get("identifier"),
                "accessJwt": "jwt-abc-123",
                "refreshJwt": "refresh-xyz",
            },
        )

    def _create(self, req: Request) -> None:
        if req.headers.get("Authorization") != "Bearer jwt-abc-123":
            req.reply(401, {"error": "AuthenticationRequired"})
            return
        body = req.json() or {}
        self.calls.append(body)
        failure = self.fail_posts.pop(0) if self.fail_posts else None
        if isinstance(failure, int):
            req.reply(failure, {"error": "InternalServerError"})
            return
        rkey = body.get("rkey") or f"auto{len(self.records)}"
        if rkey in self.records:
            req.reply(400, {"error": "InvalidRequest", "message": "Record already exists"})
            return
        self.records[rkey] = body["record"]
        if failure == "cut":
            req.cut()
            return
        uri = f"at://{body['repo']}/{body['collection']}/{rkey}"
        req.reply(200, {"uri": uri, "cid": f"bafyreply{rkey}"})

    def _get(self, req: Request) -> None:
        rkey = req.query.get("rkey", "")
        if rkey not in self.records:
            req.reply(400, {"error": "RecordNotFound"})
            return
        repo, collection = req.query.get("repo"), req.query.get("collection")
        req.reply(200, {"uri": f"at://{repo}/{collection}/{rkey}", "value": self.records[rkey]})
