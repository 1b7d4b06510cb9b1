"""SageMaker's own rules for UpdateModelPackage, stated once: what a call does to
a package, and which calls SageMaker refuses. Pure.

`apply(live, call)` is the package as SageMaker leaves it after `call`, or a
`Refusal`. The planner packs only calls that it accepts, the revert replays it to
know what each applied call changed, and the local registry (devkit) answers with
it. Each rule carries its evidence and whether SageMaker's answer is confirmed:
where it is not, the local registry takes the stricter answer (`strict=True`),
while the product tries and is safe either way (a refused release is left, with a
warning; a refused declared change fails the event, as SageMaker decides)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .properties import FIELDS

PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"
# Fields whose value an UpdateModelPackage request replaces (a model card's parts
# are merged instead: _model_card).
REPLACED_FIELDS = tuple(name for name in FIELDS if name != "ModelCard")
MAX_METADATA_KEYS = 50
MAX_SPECIFICATIONS = 15


@dataclass(frozen=True)
class Rule:
    name: str
    statement: str
    source: str
    # False: SageMaker's answer is unknown; the local registry takes the stricter one.
    confirmed: bool
    # Enforced only by the local registry (strict): the product may try it.
    strict_only: bool = False


GUIDE = "https://docs.aws.amazon.com/sagemaker/latest/dg"
API = "https://docs.aws.amazon.com/sagemaker/latest/APIReference"

APPROVAL_TRANSITIONS = Rule(
    "approval-transitions",
    "ModelApprovalStatus moves only PendingManualApproval -> Approved or Rejected, and between Approved and "
    "Rejected: there is no way back to PendingManualApproval",
    f"{GUIDE}/model-registry-approve.html: \"Only valid transitions are shown\" (the four); no way back "
    "to PendingManualApproval is listed, SageMaker's message for one is unknown",
    confirmed=True,
)
SOURCE_URI_WITH_SPECIFICATION = Rule(
    "source-uri-alone",
    "SourceUri and InferenceSpecification are never updated in one call",
    "sagemaker-python-sdk v2.257.6 session.py: updated in two calls, \"not allowed\" together "
    "(SageMaker's message not found)",
    confirmed=True,
)
CARD_STATUS_WITH_CONTENT = Rule(
    "card-status-alone",
    "a model card's ModelCardStatus and ModelCardContent are never updated in one call",
    "sagemaker-python-sdk v2.257.6 model.py update_model_card: sent apart when a card exists "
    "(no refusal message found): the product always splits them",
    confirmed=False,
)
ARCHIVED_CARD = Rule(
    "archived-card",
    "an Archived model card takes no ModelCardContent",
    "botocore's model, ModelPackageModelCard.ModelCardStatus: \"Model Card is in Archived state\"",
    confirmed=True,
)
CARD_STATUS_KEEPS_CONTENT = Rule(
    "card-status-keeps-content",
    "a model card update that sends only its status keeps the content",
    "sagemaker-python-sdk v2.257.6 tests/integ/test_model_package.py reads the content back after a "
    "status-only update (without comparing it)",
    confirmed=True,
)
METADATA_NOT_EMPTY = Rule(
    "metadata-not-empty",
    "CustomerMetadataProperties, when sent, holds at least one entry",
    "botocore's service model: CustomerMetadataProperties min 1",
    confirmed=True,
)
METADATA_SET_AND_REMOVED = Rule(
    "metadata-set-and-removed",
    "no key is both in CustomerMetadataProperties and in CustomerMetadataPropertiesToRemove",
    f"{API}/API_UpdateModelPackage.html is silent; the product never sends one key in both",
    confirmed=False,
)
METADATA_LIMIT = Rule(
    "metadata-limit",
    f"a package holds at most {MAX_METADATA_KEYS} metadata keys",
    "botocore's service model: CustomerMetadataProperties max 50 per call; 50 on the package is the "
    "stricter reading",
    confirmed=False,
)
SPECIFICATION_APPEND_ONLY = Rule(
    "specifications-append-only",
    "an additional inference specification is only ever added: a Name already on the package is refused, "
    "and none can be removed",
    f"{API}/API_UpdateModelPackage.html (AdditionalInferenceSpecificationsToAdd)",
    confirmed=True,
)
SPECIFICATION_LIMIT = Rule(
    "specifications-limit",
    f"a package holds at most {MAX_SPECIFICATIONS} additional inference specifications",
    "botocore's service model: AdditionalInferenceSpecificationsToAdd max 15",
    confirmed=True,
)
CANNOT_UNSET = Rule(
    "cannot-unset",
    "a request cannot unset InferenceSpecification, ModelLifeCycle or a model card part: only replace them",
    f"{API}/API_UpdateModelPackage.html (no parameter removes them)",
    confirmed=True,
)
SOURCE_URI_BLANK = Rule(
    "source-uri-blank",
    'SourceUri cannot be blanked ("")',
    "unknown: botocore allows length 0; SageMaker's documentation is silent",
    confirmed=False,
    strict_only=True,
)
REGISTRATION_BACK_TO_LOGGED = Rule(
    "registration-not-back-to-logged",
    "ModelPackageRegistrationType does not go back from Registered to Logged",
    "unknown: SageMaker's documentation describes only Logged -> Registered",
    confirmed=False,
    strict_only=True,
)
APPROVAL_SAME_VALUE = Rule(
    "approval-same-value",
    "setting ModelApprovalStatus to the value it holds is no transition and is accepted",
    "unknown: the developer guide lists transitions only; the product never sends an unchanged value",
    confirmed=False,
)
CLIENT_TOKEN_REUSE = Rule(
    "client-token-reuse",
    "a ClientToken sent again with the same parameters is answered as a replay, not applied again; "
    "with other parameters it is refused",
    "botocore's service model marks no idempotency token; the answer to a reuse is unknown",
    confirmed=False,
    strict_only=True,
)
PACKAGE_MISSING = Rule(
    "package-missing",
    'a package is missing only when DescribeModelPackage refuses because that package itself "does not exist"; '
    "any other ValidationException (an image, an artifact not found) is a refusal",
    "aws-controllers-k8s sagemaker-controller relies on \"... does not exist.\", sagemaker-python-sdk "
    "on \"Could not find model package ...\"; moto words it \"not found\"",
    confirmed=True,
)
TEXT_IS_TEXT = Rule(
    "text-is-text",
    "a multi-line ApprovalDescription or ModelCardContent (a YAML | block) is sent as it is: the product "
    "refuses no value SageMaker may accept, and SageMaker decides",
    "unknown: the model's pattern is .*; Java's . excludes a newline, and Lambda refuses one against .* "
    "(amazon-connect/voicemail-for-amazon-connect#27); the issue asks that SageMaker decide",
    confirmed=False,
)

RULES: tuple[Rule, ...] = (
    APPROVAL_TRANSITIONS,
    APPROVAL_SAME_VALUE,
    SOURCE_URI_WITH_SPECIFICATION,
    CARD_STATUS_WITH_CONTENT,
    ARCHIVED_CARD,
    CARD_STATUS_KEEPS_CONTENT,
    METADATA_NOT_EMPTY,
    METADATA_SET_AND_REMOVED,
    METADATA_LIMIT,
    SPECIFICATION_APPEND_ONLY,
    SPECIFICATION_LIMIT,
    CANNOT_UNSET,
    SOURCE_URI_BLANK,
    REGISTRATION_BACK_TO_LOGGED,
    CLIENT_TOKEN_REUSE,
    PACKAGE_MISSING,
    TEXT_IS_TEXT,
)

_TRANSITIONS = frozenset({(PENDING, APPROVED), (PENDING, REJECTED), (REJECTED, APPROVED), (APPROVED, REJECTED)})


class Refusal(Exception):
    """SageMaker's answer to a call it refuses (a ValidationException)."""

    def __init__(self, rule: Rule, message: str, code: str = "ValidationException") -> None:
        super().__init__(message)
        self.rule = rule
        self.code = code


def approval_allowed(before: str | None, after: str) -> bool:
    """Whether SageMaker takes ModelApprovalStatus from `before` to `after`."""
    return before in (None, after) or (before, after) in _TRANSITIONS


def released_approval(prior: str, live: str | None) -> str:
    """The approval a release gives back: the prior, or as close as SageMaker allows
    (no way back to PendingManualApproval: Rejected)."""
    if prior == PENDING and live not in (None, PENDING):
        return REJECTED
    return prior


def apply(live: Mapping[str, Any], call: Mapping[str, Any], *, strict: bool = False) -> dict[str, Any]:
    """The package (a DescribeModelPackage-shaped dict) as SageMaker leaves it after
    `call` (an UpdateModelPackage request), or Refusal. `strict`: also refuse what
    SageMaker's documentation leaves open (the local registry's answer)."""
    after = copy.deepcopy(dict(live))
    _approval(live, call)
    _metadata(live, call, after)
    if "SourceUri" in call and "InferenceSpecification" in call:
        raise Refusal(SOURCE_URI_WITH_SPECIFICATION, "SourceUri cannot be updated with InferenceSpecification")
    _model_card(live, call, after)
    _specifications(live, call, after)
    if strict:
        if call.get("SourceUri") == "":
            raise Refusal(SOURCE_URI_BLANK, "SourceUri cannot be updated to an empty value")
        if call.get("ModelPackageRegistrationType") == "Logged" and live.get("ModelPackageRegistrationType") == (
            "Registered"
        ):
            raise Refusal(REGISTRATION_BACK_TO_LOGGED, "A Registered model package cannot be changed to Logged")
    for name in REPLACED_FIELDS:
        if name in call:
            after[name] = copy.deepcopy(call[name])
    return after


def _approval(live: Mapping[str, Any], call: Mapping[str, Any]) -> None:
    if "ModelApprovalStatus" not in call:
        return
    before, wanted = live.get("ModelApprovalStatus"), str(call["ModelApprovalStatus"])
    if not approval_allowed(before, wanted):
        raise Refusal(
            APPROVAL_TRANSITIONS,
            f"Model package approval status cannot be changed from {before} to {wanted}",
        )


def _metadata(live: Mapping[str, Any], call: Mapping[str, Any], after: dict[str, Any]) -> None:
    to_set = call.get("CustomerMetadataProperties")
    to_remove = call.get("CustomerMetadataPropertiesToRemove") or []
    if to_set is not None and not to_set:
        raise Refusal(METADATA_NOT_EMPTY, "CustomerMetadataProperties must have at least 1 entry")
    both = sorted(set(to_set or {}) & set(to_remove))
    if both:
        raise Refusal(METADATA_SET_AND_REMOVED, f"Keys cannot be both added and removed: {', '.join(both)}")
    metadata = dict(live.get("CustomerMetadataProperties") or {})
    metadata.update(to_set or {})
    for key in to_remove:
        metadata.pop(key, None)
    if len(metadata) > MAX_METADATA_KEYS:
        raise Refusal(METADATA_LIMIT, f"A model package holds at most {MAX_METADATA_KEYS} metadata properties")
    if metadata or "CustomerMetadataProperties" in live:
        after["CustomerMetadataProperties"] = metadata


def _model_card(live: Mapping[str, Any], call: Mapping[str, Any], after: dict[str, Any]) -> None:
    card = call.get("ModelCard")
    if card is None:
        return
    if "ModelCardContent" in card and "ModelCardStatus" in card:
        raise Refusal(CARD_STATUS_WITH_CONTENT, "ModelCardStatus cannot be updated with ModelCardContent")
    live_card = dict(live.get("ModelCard") or {})
    if "ModelCardContent" in card and live_card.get("ModelCardStatus") == "Archived":
        raise Refusal(ARCHIVED_CARD, "An Archived model card cannot take ModelCardContent")
    after["ModelCard"] = {**live_card, **copy.deepcopy(dict(card))}  # a status alone keeps the content


def _specifications(live: Mapping[str, Any], call: Mapping[str, Any], after: dict[str, Any]) -> None:
    added = call.get("AdditionalInferenceSpecificationsToAdd") or []
    if not added:
        return
    specs = list(live.get("AdditionalInferenceSpecifications") or [])
    names = {s.get("Name") for s in specs}
    for spec in added:
        if spec.get("Name") in names:
            raise Refusal(SPECIFICATION_APPEND_ONLY, f"Additional inference specification {spec.get('Name')} exists")
        names.add(spec.get("Name"))
        specs.append(copy.deepcopy(dict(spec)))
    if len(specs) > MAX_SPECIFICATIONS:
        raise Refusal(
            SPECIFICATION_LIMIT,
            f"A model package holds at most {MAX_SPECIFICATIONS} additional inference specifications",
        )
    after["AdditionalInferenceSpecifications"] = specs
