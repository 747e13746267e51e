"""What the operations commands share: `run` (load the kubeconfig, open one `Client`, run the command's
coroutine under `asyncio.run`, and turn every expected failure into one `error: ...` line and an exit
code), `CommandError`, JSON/text output helpers, and the formatting of conditions, events and ages used by
`status`, `inspect` and friends.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TextIO

from issuer.kube import client as kube_client
from issuer.kube import config as kube_config
from issuer.kube import errors
from issuer.kube import resources as r

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

Obj = dict[str, Any]
Command = Callable[[kube_client.Client, str], Awaitable[int]]

CLIENT_TIMEOUT = 20.0
CLIENT_RETRIES = 2
# The commands are a user's tool, not the controller: audit logs (and our RBAC checks) tell them apart, as
# kubectl's and cmctl's own user agents do.
CLI_USER_AGENT = f"issuer-cli/{kube_client.USER_AGENT.partition('/')[2]}"


class CommandError(Exception):
    """An expected failure of a command: printed as `error: <message>`, exits with `code`."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def error(message: str, stream: TextIO | None = None) -> None:
    print(f"error: {message}", file=stream or sys.stderr)


def invalid_name(args: argparse.Namespace) -> str | None:
    """Why a NAME or --namespace given on the command line cannot name an object, or None."""
    given = [("namespace", getattr(args, "namespace", None)), ("name", getattr(args, "name", None)),
             *(("name", n) for n in getattr(args, "names", None) or ())]
    for what, value in given:
        if value is not None and (not value or value in (".", "..") or "/" in value or len(value) > 253):
            return f"invalid {what} {value!r}"
    return None


async def not_found(kube: kube_client.Client, res: r.Resource, name: str, namespace: str) -> CommandError:
    """The error for a missing object; says so when the resource type itself is not served (no CRDs)."""
    try:
        await kube.list(res, namespace, field_selector=f"metadata.name={name}")
    except errors.NotFound:
        return CommandError(f"the server does not serve {res.qualified}: are the cert-manager CRDs installed?")
    return CommandError(f'{res.kind} "{name}" not found in namespace "{namespace}"')


def run(args: argparse.Namespace, command: Command) -> int:
    """Load the configuration, then run `command(kube, namespace)`; errors become one line on stderr."""
    problem = invalid_name(args)
    if problem:
        error(problem)
        return EXIT_USAGE
    try:
        cluster = kube_config.load(args.kubeconfig, context=getattr(args, "context", None))
    except errors.ConfigError as err:
        error(str(err))
        return EXIT_FAILED
    namespace = args.namespace or cluster.namespace or "default"

    async def main() -> int:
        async with kube_client.Client(cluster, timeout=CLIENT_TIMEOUT, max_retries=CLIENT_RETRIES,
                                      user_agent=CLI_USER_AGENT) as kube:
            return await command(kube, namespace)

    try:
        return asyncio.run(main())
    except CommandError as err:
        error(str(err))
        return err.code
    except errors.TransportError as err:
        error(f"cannot reach the Kubernetes API server at {cluster.server}: {cause(str(err))}")
    except errors.Unauthorized as err:
        error(f"the Kubernetes API server at {cluster.server} rejected the credentials: {err}")
    except errors.KubeError as err:
        error(str(err))
    return EXIT_FAILED


def cause(message: str) -> str:
    """A transport error's message without the request line ("GET /api/...: ")."""
    head, sep, rest = message.partition(": ")
    return rest if sep and head.split(" ", 1)[0] in {"GET", "PUT", "POST", "PATCH", "DELETE"} else message


def print_json(doc: Any, stream: TextIO | None = None) -> None:
    print(json.dumps(doc, indent=2, ensure_ascii=False), file=stream or sys.stdout)


# -- reading objects ---------------------------------------------------------------------------------------


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, Mapping) else {}


def section(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def conditions(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = section(obj, "status").get("conditions")
    return [c for c in found if isinstance(c, Mapping)] if isinstance(found, list) else []


def condition(obj: Mapping[str, Any], type_: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions(obj) if c.get("type") == type_), None)


def has_condition(obj: Mapping[str, Any], type_: str, status: str = "True") -> bool:
    found = condition(obj, type_)
    return found is not None and found.get("status") == status


def condition_json(cond: Mapping[str, Any]) -> Obj:
    keys = ("type", "status", "reason", "message", "lastTransitionTime", "observedGeneration")
    return {k: cond[k] for k in keys if k in cond}


def owned_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    uid = meta(owner).get("uid")
    refs = meta(obj).get("ownerReferences")
    return bool(uid) and isinstance(refs, list) and any(
        isinstance(ref, Mapping) and ref.get("uid") == uid for ref in refs)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def human_age(delta: dt.timedelta) -> str:
    """kubectl's short duration: 45s, 12m, 5h, 3d (and 2y when it is long)."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    return f"{days}d" if days < 730 else f"{days // 365}y"


# -- events ------------------------------------------------------------------------------------------------


async def events_for(kube: kube_client.Client, obj: Mapping[str, Any]) -> list[Obj]:
    """The core v1 Events about `obj` (by name and uid), oldest first, as JSON-ready summaries."""
    m = meta(obj)
    name, uid = str(m.get("name") or ""), str(m.get("uid") or "")
    if not name:
        return []
    selector = f"involvedObject.name={name}" + (f",involvedObject.uid={uid}" if uid else "")
    namespace = str(m.get("namespace") or "default")
    try:
        found = await kube.list(r.EVENTS, namespace, field_selector=selector)
    except (errors.Forbidden, errors.NotFound):
        return []
    kind = obj.get("kind")
    out = []
    for event in found.items:
        involved = section(event, "involvedObject")
        if kind and involved.get("kind") not in (None, "", kind):
            continue
        source = section(event, "source")
        first = event.get("firstTimestamp") or event.get("eventTime") or meta(event).get("creationTimestamp")
        last = event.get("lastTimestamp") or event.get("eventTime") or first
        out.append({
            "type": event.get("type") or "",
            "reason": event.get("reason") or "",
            "message": event.get("message") or "",
            "from": source.get("component") or event.get("reportingComponent") or "",
            "count": event.get("count") or 1,
            "firstTimestamp": first,
            "lastTimestamp": last,
        })
    out.sort(key=lambda e: str(e["lastTimestamp"] or ""))
    return out


def event_lines(events: Sequence[Mapping[str, Any]], indent: str, at: dt.datetime) -> list[str]:
    """kubectl describe's events table (Type, Reason, Age, From, Message), or `Events:  <none>`."""
    if not events:
        return [f"{indent}Events:  <none>"]
    rows = [("Type", "Reason", "Age", "From", "Message"), ("----", "------", "----", "----", "-------")]
    for e in events:
        last = parse_time(e.get("lastTimestamp"))
        first = parse_time(e.get("firstTimestamp")) or last
        age = human_age(at - last) if last else "<unknown>"
        if int(e.get("count") or 1) > 1 and first is not None:
            age += f" (x{e['count']} over {human_age(at - first)})"
        rows.append((str(e.get("type")), str(e.get("reason")), age, str(e.get("from")),
                     " ".join(str(e.get("message")).split())))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"{indent}Events:"]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:4])]
        lines.append(f"{indent}  " + "  ".join([*cells, row[4]]).rstrip())
    return lines


def condition_lines(conds: Sequence[Mapping[str, Any]], indent: str) -> list[str]:
    """`Conditions:` then one `Type: Status, Reason: R, Message: M` line each, or `No Conditions set`."""
    if not conds:
        return [f"{indent}No Conditions set"]
    lines = [f"{indent}Conditions:"]
    for c in conds:
        lines.append(f"{indent}  {c.get('type', '')}: {c.get('status', '')}, Reason: {c.get('reason', '')}, "
                     f"Message: {' '.join(str(c.get('message', '')).split())}")
    return lines


def list_lines(title: str, values: Sequence[str], indent: str = "") -> list[str]:
    if not values:
        return [f"{indent}{title}: <none>"]
    return [f"{indent}{title}:", *(f"{indent}- {v}" for v in values)]
