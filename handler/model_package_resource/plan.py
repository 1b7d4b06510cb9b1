"""The planner: (request, live package, priors) -> the plan of an event, and a
failed event's revert. Pure: no AWS, no clock, no logging.

Ownership comes from the declared properties (and the priors: a key the resource
changed before is its own); the live state (a DescribeModelPackage response)
decides what still needs sending. Each concern plans its own fields (metadata,
inference specifications, compared fields, model card); `_calls` merges them into
the fewest UpdateModelPackage calls that SageMaker accepts, in an order that works,
with AdditionalInferenceSpecificationsToAdd (which cannot be undone) in the last."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import MetadataConflict, SpecificationConflict
from .priors import Priors
from .properties import FIELDS, Properties
from .request import Request
from .shapes import member, project, same, same_card_content

MAX_SPECIFICATIONS = 15
SPECS = "AdditionalInferenceSpecificationsToAdd"
# Fields SageMaker cannot unset: given back as an empty string when they were absent.
EMPTIABLE = ("ApprovalDescription", "SourceUri")


@dataclass(frozen=True)
class Plan:
    calls: tuple[Mapping[str, Any], ...] = ()
    warnings: tuple[str, ...] = ()
    # The priors to hold once the event succeeds; None: the record is marked released.
    priors: Priors | None = None
    # What the record holds while the event's calls are made: every prior, old and new
    # (those this event releases included), written before the first call.
    recorded: Priors | None = None
    # Whether the stored priors change at all (written before, or after the release).
    record_changes: bool = False
    releases: int = 0


@dataclass
class _Changes:
    """What the concerns plan for one package, before it is cut into calls."""

    fields: dict[str, Any] = field(default_factory=dict)
    card: list[dict[str, Any]] = field(default_factory=list)  # model card changes, in order
    metadata: dict[str, str] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)
    specs: list[Mapping[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    new_field_priors: dict[str, Any] = field(default_factory=dict)
    new_key_priors: dict[str, str | None] = field(default_factory=dict)
    released_fields: set[str] = field(default_factory=set)
    released_keys: set[str] = field(default_factory=set)


def plan(request: Request, live: Mapping[str, Any], priors: Priors | None) -> Plan:
    """The one entry point: what this event sends to the package it acts on."""
    declared = request.declared
    if declared is None:
        return Plan()
    if request.kind == "release":
        return plan_release(declared, live, priors, removing_record=True)
    baseline = request.baseline
    if priors is None and baseline is not None:
        # Made before the table existed: the stateless rule, as priors (a managed
        # key still holding its declared value was absent before).
        priors = Priors(metadata={k: None for k in baseline.metadata})
    held = priors or Priors()
    changes = _Changes()
    # Past the stateless seeding above, only a resource with no baseline (a Create, a
    # replacement) has no priors: it has nothing to release either.
    _metadata(changes, declared, baseline, live, held, stateless=False)
    _specifications(changes, declared, baseline, live)
    _fields(changes, declared, baseline, live, held)
    recorded = held.with_changes(changes.new_field_priors, changes.new_key_priors)
    after = recorded.with_changes(
        released_fields=frozenset(changes.released_fields), released_keys=frozenset(changes.released_keys)
    )
    return Plan(
        calls=_calls(declared.package.arn, changes, live),
        warnings=tuple(changes.warnings),
        priors=after,
        recorded=recorded,
        record_changes=priors is None or after != priors,
        releases=len(changes.released_fields) + len(changes.released_keys),
    )


def plan_release(
    declared: Properties, live: Mapping[str, Any], priors: Priors | None, *, removing_record: bool
) -> Plan:
    """Give back every field and key that `declared` holds (Delete, the release of
    an abandoned package). `removing_record`: the record is marked released after."""
    changes = _Changes()
    held = priors or Priors()
    stateless = priors is None
    for key, value in sorted(declared.metadata.items()):
        _release_key(changes, key, value, _metadata_of(live), held, stateless)
    for name, value in declared.fields.items():
        _release_field(changes, name, value, live, held, stateless)
    return Plan(
        calls=_calls(declared.package.arn, changes, live),
        warnings=tuple(changes.warnings),
        priors=None if removing_record else held,
        record_changes=priors is not None,
        releases=len(changes.released_fields) + len(changes.released_keys),
    )


# --- metadata -------------------------------------------------------------------


def _metadata(
    changes: _Changes,
    declared: Properties,
    baseline: Properties | None,
    live: Mapping[str, Any],
    priors: Priors,
    *,
    stateless: bool,
) -> None:
    live_metadata = _metadata_of(live)
    managed_before = dict(baseline.metadata) if baseline else {}
    if not declared.overwrite_existing_metadata:
        conflicts = sorted(
            k
            for k, v in declared.metadata.items()
            if k not in managed_before and k not in priors.metadata and k in live_metadata and live_metadata[k] != v
        )
        if conflicts:
            raise MetadataConflict(
                f"keys already hold other values on the package: {', '.join(conflicts)} "
                '(set OverwriteExistingMetadata to "true" to take them over)',
                "CustomerMetadataProperties",
            )
    for key, value in declared.metadata.items():
        if live_metadata.get(key) != value:
            changes.metadata[key] = value
            if key not in priors.metadata:
                changes.new_key_priors[key] = live_metadata.get(key)
    for key, value in sorted(managed_before.items()):
        if key not in declared.metadata:
            _release_key(changes, key, value, live_metadata, priors, stateless)
    if baseline is None or sorted(baseline.keys_to_remove) != sorted(declared.keys_to_remove):
        changes.remove += [
            k for k in declared.keys_to_remove if k in live_metadata and k not in changes.remove
        ]
    for key in declared.keys_to_remove:
        # Listed for removal: that wins over giving a released key its prior back.
        if changes.metadata.pop(key, None) is not None and key in live_metadata and key not in changes.remove:
            changes.remove.append(key)


def _release_key(
    changes: _Changes, key: str, value: str, live: Mapping[str, str], priors: Priors, stateless: bool
) -> None:
    if not stateless and key not in priors.metadata:
        return  # never changed by the resource: no prior, left as it is
    changes.released_keys.add(key)
    prior = None if stateless else priors.metadata[key]
    current = live.get(key)
    if current == prior:
        return  # already what it was
    if current != value:
        if current is not None:
            changes.warnings.append(f"metadata key {key} was changed since it was declared; left on the package")
        return
    if prior is None:
        changes.remove.append(key)
    else:
        changes.metadata[key] = prior


# --- inference specifications ---------------------------------------------------


def _specifications(
    changes: _Changes, declared: Properties, baseline: Properties | None, live: Mapping[str, Any]
) -> None:
    on_package = {s.get("Name"): s for s in live.get("AdditionalInferenceSpecifications") or []}
    for i, spec in enumerate(declared.specifications):
        existing = on_package.get(spec["Name"])
        if existing is None:
            changes.specs.append(spec)
        elif not same(spec, project(existing, _specification_shape())):
            raise SpecificationConflict(
                f"{spec['Name']} is already on the package with other content; "
                "specifications are append-only, so give the changed one a new Name",
                f"{SPECS}[{i}]",
            )
    if len(on_package) + len(changes.specs) > MAX_SPECIFICATIONS:
        raise SpecificationConflict(
            f"the package would hold {len(on_package) + len(changes.specs)} additional inference "
            f"specifications; SageMaker allows {MAX_SPECIFICATIONS}",
            SPECS,
        )
    declared_names = {s["Name"] for s in declared.specifications}
    for spec in baseline.specifications if baseline else ():
        if spec["Name"] not in declared_names and spec["Name"] in on_package:
            changes.warnings.append(
                f"AdditionalInferenceSpecification {spec['Name']} was dropped from the properties; "
                "it stays on the package (SageMaker cannot remove one)"
            )


# --- compared fields and the model card ----------------------------------------


def _fields(
    changes: _Changes, declared: Properties, baseline: Properties | None, live: Mapping[str, Any], priors: Priors
) -> None:
    for name, value in declared.fields.items():
        current = _live_field(live, name)
        if name == "ModelCard":
            card = _card_changes(value, current)
            if card:
                changes.card = card
        elif not same(value, current):
            changes.fields[name] = value
        else:
            continue
        if name not in priors.fields:
            changes.new_field_priors[name] = current
    for name, value in (baseline.fields.items() if baseline else ()):
        if name not in declared.fields:
            _release_field(changes, name, value, live, priors, stateless=False)


def _release_field(
    changes: _Changes, name: str, value: Any, live: Mapping[str, Any], priors: Priors, stateless: bool
) -> None:
    if stateless or name not in priors.fields:
        return  # never changed by the resource (or no record): left as it is
    changes.released_fields.add(name)
    prior, current = priors.fields[name], _live_field(live, name)
    if current == prior or (prior is not None and same(prior, current)):
        return
    if not _holds(value, current, name):
        changes.warnings.append(f"{name} was changed since it was declared; left on the package")
        return
    restored = _restoring(name, prior)
    if restored is None:
        changes.warnings.append(f"{name} was absent before and SageMaker cannot unset it; left on the package")
    elif name == "ModelCard":
        changes.card = _card_changes(restored, current)
    else:
        changes.fields[name] = restored


def _holds(declared: Any, current: Any, name: str) -> bool:
    if name == "ModelCard":
        return not _card_changes(declared, current)
    return same(declared, current)


def _restoring(name: str, prior: Any) -> Any:
    """The request value that gives `name` its prior back, or None when none can."""
    if prior is not None:
        return prior
    return "" if name in EMPTIABLE else None


def _card_changes(declared: Mapping[str, Any], live: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The model card's changes, split where SageMaker refuses the status with the
    content. An archived card takes no content, so its status goes first;
    otherwise the content goes first and the status (say, Approved) after."""
    live = live or {}
    content: dict[str, Any] = {}
    status: dict[str, Any] = {}
    if "ModelCardContent" in declared and not same_card_content(
        declared["ModelCardContent"], live.get("ModelCardContent")
    ):
        content = {"ModelCardContent": declared["ModelCardContent"]}
    if "ModelCardStatus" in declared and declared["ModelCardStatus"] != live.get("ModelCardStatus"):
        status = {"ModelCardStatus": declared["ModelCardStatus"]}
    if content and status:
        return [status, content] if live.get("ModelCardStatus") == "Archived" else [content, status]
    return [change for change in (content or status,) if change]


def _specification_shape() -> Any:
    from botocore.model import ListShape

    specs = member(SPECS)
    assert isinstance(specs, ListShape)  # noqa: S101 - botocore's model: a list of specifications
    return specs.member


def _live_field(live: Mapping[str, Any], name: str) -> Any:
    value = live.get(name)
    return None if value is None else project(value, member(name))


def _metadata_of(live: Mapping[str, Any]) -> dict[str, str]:
    return dict(live.get("CustomerMetadataProperties") or {})


# --- calls ------------------------------------------------------------------------


def _calls(arn: str, changes: _Changes, live: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    first: dict[str, Any] = {}
    second: dict[str, Any] = {}
    to_set = dict(changes.metadata)
    to_remove = sorted(k for k in set(changes.remove) if k not in to_set)
    if to_set:
        first["CustomerMetadataProperties"] = to_set
    if to_remove:
        first["CustomerMetadataPropertiesToRemove"] = to_remove
    first.update({name: changes.fields[name] for name in FIELDS if name in changes.fields})
    # SageMaker refuses SourceUri with InferenceSpecification in one call.
    if "SourceUri" in first and "InferenceSpecification" in first:
        second["SourceUri"] = first.pop("SourceUri")
    if changes.card:
        first["ModelCard"] = changes.card[0]
        if len(changes.card) > 1:
            second["ModelCard"] = changes.card[1]
    if second and "ModelLifeCycle" in first and not live.get("ModelLifeCycle"):
        # A stage absent before cannot be unset: with what cannot be undone, in the last call.
        second["ModelLifeCycle"] = first.pop("ModelLifeCycle")
    calls = [c for c in (first, second) if c]
    if changes.specs:
        # Cannot be undone: in the last call, so that no call can fail after it.
        if calls:
            calls[-1][SPECS] = list(changes.specs)
        else:
            calls.append({SPECS: list(changes.specs)})
    return tuple({"ModelPackageArn": arn, **call} for call in calls)


# --- a failed event's revert ------------------------------------------------------


def plan_revert(
    pre_image: Mapping[str, Any], applied: Sequence[Mapping[str, Any]]
) -> tuple[tuple[Mapping[str, Any], ...], tuple[str, ...]]:
    """The calls that give back what `applied` (calls made on the package as
    `pre_image` described it, in order) changed, newest first; and what none can
    give back."""
    states = [dict(pre_image)]
    for call in applied:
        states.append(simulate(states[-1], call))
    calls: list[Mapping[str, Any]] = []
    left: list[str] = []
    for index in range(len(applied) - 1, -1, -1):
        call, before, after = applied[index], states[index], states[index + 1]
        changes = _Changes()
        before_metadata, after_metadata = _metadata_of(before), _metadata_of(after)
        for key in [*call.get("CustomerMetadataProperties", {}), *call.get("CustomerMetadataPropertiesToRemove", [])]:
            if before_metadata.get(key) == after_metadata.get(key):
                continue
            if key in before_metadata:
                changes.metadata[key] = before_metadata[key]
            else:
                changes.remove.append(key)
        for name in FIELDS:
            if name not in call:
                continue
            prior, current = _live_field(before, name), _live_field(after, name)
            restored = _restoring(name, prior)
            if restored is None:
                left.append(name)
            elif name == "ModelCard":
                changes.card = _card_changes(restored, current)
                # A part of the card absent before cannot be unset.
                left += [f"ModelCard.{part}" for part in call[name] if part not in restored]
            elif not same(restored, current):
                changes.fields[name] = restored
        if SPECS in call:
            left.append(SPECS)
        calls += _calls(str(call["ModelPackageArn"]), changes, after)
    return tuple(calls), tuple(dict.fromkeys(left))


def simulate(live: Mapping[str, Any], call: Mapping[str, Any]) -> dict[str, Any]:
    """The package as SageMaker leaves it after `call`: metadata merged and removed,
    fields replaced, a model card's parts replaced, specifications appended."""
    after = dict(live)
    metadata = _metadata_of(live)
    metadata.update(call.get("CustomerMetadataProperties", {}))
    for key in call.get("CustomerMetadataPropertiesToRemove", []):
        metadata.pop(key, None)
    if metadata or "CustomerMetadataProperties" in live:
        after["CustomerMetadataProperties"] = metadata
    for name in FIELDS:
        if name in call:
            after[name] = {**(live.get(name) or {}), **call[name]} if name == "ModelCard" else call[name]
    if SPECS in call:
        after["AdditionalInferenceSpecifications"] = [
            *(live.get("AdditionalInferenceSpecifications") or []),
            *call[SPECS],
        ]
    return after
