"""Pydantic validation errors as one :class:`ConfigError` naming the file, the key and the fix.

The models live in :mod:`geo.config_schema`; this module only reads and words their errors:
the dotted key (``types.airport.breaks_min[0]``), the allowed keys for an unknown one, and the
scenario's name when the error lies inside a ``[[scenario]]``.
"""

from __future__ import annotations

from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from geo.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def _key(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _allowed(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed where an unknown key was found (walking the models along ``loc``)."""
    cls: type[BaseModel] | None = model
    for part in loc[:-1]:
        if cls is not None and isinstance(part, str) and part in cls.model_fields:
            cls = _model_in(cls.model_fields[part].annotation)
    return list(cls.model_fields) if cls is not None else []


def _message(err: Any, model: type[BaseModel]) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    loc = _clean(err["loc"])
    where = _key(loc[:-1]) or "top level"
    if kind == "extra_forbidden":
        allowed = ", ".join(_allowed(model, loc))
        return f"unknown key '{loc[-1] if loc else ''}' in [{where}]; allowed: {allowed}"
    text = {
        "missing": f"missing key '{loc[-1] if loc else ''}' in [{where}]; add it (see data/vietnam.toml)",
        "float_type": f"must be a number, got {value!r}",
        "float_parsing": f"must be a number, got {value!r}",
        "int_type": f"must be a whole number, got {value!r}",
        "bool_type": f"must be true or false (not in quotes), got {value!r}",
        "string_type": f"must be text in quotes, got {value!r}",
        "list_type": f"must be a list, e.g. [..., ...], got {value!r}",
        "dict_type": f"must be a table, got {value!r}",
        "model_type": f"must be a table, got {value!r}",
        "literal_error": f"must be {ctx.get('expected')}, got {value!r}",
        "greater_than": f"must be > {ctx.get('gt')}, got {value!r}",
        "greater_than_equal": (
            f"must be a whole number >= {ctx.get('ge')}, got {value!r}"
            if isinstance(value, int)
            else f"must be >= {ctx.get('ge')}, got {value!r}"
        ),
        "less_than_equal": f"must be <= {ctx.get('le')}, got {value!r}",
        "too_short": f"needs at least {ctx.get('min_length')} item(s), got {value!r}",
        "too_long": f"takes at most {ctx.get('max_length')} item(s), got {value!r}",
        "string_pattern_mismatch": f"'{loc[-1] if loc else ''}' must be 1-64 letters, digits, _ - . (got {value!r})",
    }.get(kind)
    if text is None:
        text = str(ctx.get("error") or err["msg"]).removeprefix("Value error, ")
    return text


def validate_file(model: type[M], raw: dict[str, Any], *, source: str) -> M:
    """Validate a parsed TOML document; one :class:`ConfigError` naming the file and the key.

    Parameters
    ----------
    model
        :class:`RegionFile` or :class:`ScenarioFile`.
    raw
        The document as parsed by ``tomllib``.
    source
        The file, named in the message.
    """
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = min(errors, key=lambda e: e["type"] == "missing")  # a wrong value before a gap
        loc = _clean(first["loc"])
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        text = _item_label(raw, loc) + _message(first, model) + more
        raise ConfigError(text, source=source, field=_key(loc) or None) from None


def _clean(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """``loc`` without pydantic's union and validator tags (``function-after[...]``)."""
    return tuple(p for p in loc if not (isinstance(p, str) and "[" in p))


def _item_label(raw: Any, loc: tuple[Any, ...]) -> str:
    """``scenario 'a': `` when the error lies in a named item of a list of tables."""
    node = raw
    for i, part in enumerate(loc):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return ""
        if isinstance(part, int) and isinstance(node, dict) and isinstance(node.get("name"), str):
            return f"{loc[i - 1] if i else 'item'} '{node['name']}': "
    return ""
