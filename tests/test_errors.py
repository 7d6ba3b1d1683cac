"""The one message a failed sync ends with: what is wrong, then what to do about it."""

import pytest

from xurrent_async.errors import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    Interrupted,
    RecordError,
    StateMismatchError,
    failure_message,
)


@pytest.mark.parametrize(
    ("error", "what_to_do"),
    [
        (ConfigurationError(["account_id: required"]), "Nothing was read or written: fix the configuration"),
        (AuthenticationError(401, "/v1/products", "Unauthorized"), "fix the credentials, then rerun to resume."),
        (ApiError(None, "/v1/products", "connection failed (ClientConnectorError)"),
         "Could not get an answer from api.xurrent.com: check the network"),
        (ApiError(503, "/v1/products", "server error 503"), "rerun to resume, later if Xurrent keeps failing."),
        (ApiError(404, "/v1/products", "Unknown account: x"), "rerun to resume once this is resolved."),
        (RecordError("products: a record has no usable id"), "rerun to resume once this is resolved."),
    ],
)
def test_each_failure_says_what_is_wrong_then_what_to_do(error, what_to_do):
    message = failure_message(error, "api.xurrent.com")
    assert message.startswith(str(error))
    assert what_to_do in message.splitlines()[-1]


@pytest.mark.parametrize("error", [StateMismatchError("… start over: …"), Interrupted("… rerun to resume.")])
def test_messages_that_say_what_to_do_already_are_left_as_they_are(error):
    assert failure_message(error, "api.xurrent.com") == str(error)
