"""The import path existing callers use for the settings; they live in `xurrent_async.config`."""

from xurrent_async.config.settings import *  # noqa: F403  # a re-export, nothing of its own
from xurrent_async.config.settings import __all__ as __all__
