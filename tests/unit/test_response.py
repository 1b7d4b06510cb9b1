from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model_package_resource.errors import InvalidProperty, MetadataConflict
from model_package_resource.request import identify
from model_package_resource.response import MAX_BODY, build_body, reason_for
from model_package_resource.response_url import parse_allowed_hosts, response_url_refusal

EVENT = {"StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1", "RequestId": "r-1",
         "LogicalResourceId": "ApproveModel"}


def test_reason_starts_with_the_cause_and_names_the_path() -> None:
    error = InvalidProperty("expected a string, got null",
                            "AdditionalInferenceSpecificationsToAdd[0].Containers[0].Image")
    assert reason_for(error) == ("Invalid property at AdditionalInferenceSpecificationsToAdd[0]."
                                 "Containers[0].Image: expected a string, got null")


def test_long_reason_is_cut_at_the_end_keeping_the_cause() -> None:
    reason = reason_for(MetadataConflict("keys: " + ", ".join(f"key-{i}" for i in range(100)),
                                         "CustomerMetadataProperties"))
    assert len(reason) == 256 and reason.startswith("Metadata conflict at CustomerMetadataProperties")
    assert reason.endswith("…")


def test_unexpected_errors_show_only_their_type() -> None:
    assert reason_for(KeyError("https://secret")) == "Internal error: KeyError"


def test_body_echoes_the_event_and_carries_flat_data() -> None:
    body = json.loads(build_body(identify(EVENT), "SUCCESS", "arn:x", data={"ModelPackageVersion": "2"}))
    assert body == {"Status": "SUCCESS", "Reason": "", "PhysicalResourceId": "arn:x", **EVENT,
                    "NoEcho": False, "Data": {"ModelPackageVersion": "2"}}


@given(stack=st.text(max_size=5000), logical=st.text(max_size=5000), request_id=st.text(max_size=5000),
       physical=st.text(max_size=3000), reason=st.text(max_size=3000),
       data=st.dictionaries(st.text(max_size=50), st.text(max_size=1500), max_size=5))
def test_body_always_fits_in_4096_bytes(stack: str, logical: str, request_id: str, physical: str,
                                        reason: str, data: dict[str, str]) -> None:
    event = {"StackId": stack, "LogicalResourceId": logical, "RequestId": request_id}
    body = build_body(identify(event), "FAILED", physical, reason=reason, data=data)
    assert len(body) <= MAX_BODY
    assert len(json.loads(body)["Reason"]) <= 256


@pytest.mark.parametrize(
    ("url", "allowed", "refused"),
    [
        ("https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/x?sig=1", "", False),
        ("https://bucket.s3.cn-north-1.amazonaws.com.cn/x", "", False),
        ("http://bucket.s3.amazonaws.com/x", "", True),
        ("https://evil.example.com/x", "", True),
        ("https://amazonaws.com.evil.example/x", "", True),
        ("https://bucket.s3.amazonaws.com@evil.example/x", "", True),
        ("https://127.0.0.1:8443/x", "127.0.0.1:8443", False),
        ("https://127.0.0.1:9999/x", "127.0.0.1:8443", True),
        ("https://localhost:1234/x", "localhost", False),
        ("https://[::1]:1234/x", "[::1]:1234", False),
        ("", "", True),
        (None, "", True),
        ("https://[broken/x", "", True),
    ],
)
def test_response_url_must_be_https_on_an_aws_host_or_allowed(url: str | None, allowed: str,
                                                              refused: bool) -> None:
    refusal = response_url_refusal(url, parse_allowed_hosts(allowed))
    assert (refusal is not None) is refused
    if refusal is not None and url:
        assert "sig=" not in refusal and "/x" not in refusal  # the URL itself is never repeated
