"""Server-side printing for the embedded API server: turns objects into a `meta.k8s.io/v1 Table`
(column definitions and rows) the way kube-apiserver does when a client's Accept asks for
`as=Table` — built-in kinds get their real columns (Secret Name/Type/Data/Age, Event Last Seen/...),
custom resources get `Name` plus the CRD's `additionalPrinterColumns` (JSONPath cells evaluated with
issuer.testing.jsonpath, `date` columns as human ages), or `Name`/`Age` when a CRD declares none."""

from __future__ import annotations

import datetime
import time
from typing import Any

from issuer.testing.jsonpath import human_duration
from issuer.testing.resources import AGE, CR_AGE, NAME, Column, Obj, Resource


def age(stamp: Any, now: float | None = None) -> Any:
    if not isinstance(stamp, str) or not stamp:
        return "<unknown>"
    try:
        parsed = datetime.datetime.fromisoformat(stamp)
    except ValueError:
        return "<unknown>"
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return human_duration((time.time() if now is None else now) - parsed.timestamp())


def _crd_column(spec: dict[str, Any]) -> Column:
    path = str(spec.get("jsonPath", ""))
    typ = str(spec.get("type", "string"))
    fmt = str(spec.get("format", ""))

    def cell(obj: Obj) -> Any:
        values = _jsonpath(obj, path)
        if typ == "date":
            return {"$date": values[0] if values else None}
        if not values:
            return None
        return _format(values, typ, fmt)

    # kube describes a column the CRD leaves undescribed by its JSONPath
    description = str(spec.get("description") or f"Custom resource definition column (in JSONPath format): {path}")
    return Column(str(spec.get("name", "")), typ, cell, fmt, description, int(spec.get("priority", 0) or 0))


def _jsonpath(obj: Obj, path: str) -> list[Any]:
    from issuer.testing import jsonpath

    try:
        return list(jsonpath.evaluate(obj, path))
    except Exception:
        return []


def _format(values: list[Any], typ: str, fmt: str) -> Any:
    from issuer.testing import jsonpath

    try:
        return jsonpath.format_cell(values, typ, fmt)
    except Exception:
        return values[0] if len(values) == 1 else ",".join(str(v) for v in values)


def columns(res: Resource) -> tuple[Column, ...]:
    if not res.builtin:
        if res.printer_columns:
            return (NAME, *(_crd_column(c) for c in res.printer_columns))
        return (NAME, CR_AGE)
    return res.columns or (NAME, AGE)


def _cell(column: Column, obj: Obj, now: float) -> Any:
    try:
        value = column.cell(obj)
    except Exception:
        return None
    if isinstance(value, dict) and "$date" in value:
        return age(value["$date"], now) if value["$date"] else None
    return value


def table(res: Resource, objects: list[Obj], rv: str, cont: str | None, include: str = "Metadata") -> dict[str, Any]:
    cols = columns(res)
    now = time.time()
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": [_cell(c, obj, now) for c in cols]}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": obj.get("metadata") or {}}
        rows.append(row)
    meta: dict[str, Any] = {"resourceVersion": rv}
    if cont:
        meta["continue"] = cont
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": [c.definition() for c in cols], "rows": rows}
