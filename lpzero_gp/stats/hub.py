"""The Hugging Face hub, looked at before any download: the offline switches, whether the hub
answers at all, whether a tokenizer is in the local cache, and quiet downloads."""

from __future__ import annotations

import os

from lpzero_gp.errors import CalibrationError

#: Environment variables that tell the Hugging Face libraries to stay offline.
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
#: Seconds to wait for the hub's port before a download is tried at all.
HUB_PROBE_SECONDS = 3.0
#: What to do when a hub tokenizer cannot be had, in one clause.
LOCAL_HINT = ("give a local tokenizer directory (written by save_pretrained) or a .gguf file, "
               "or give no tokenizer for the shipped one")


def offline_variable() -> str | None:
    """The variable that says the Hugging Face hub is off limits, or None."""
    for name in OFFLINE_VARIABLES:
        if os.environ.get(name, "").strip().upper() in ("1", "ON", "YES", "TRUE"):
            return name
    return None


def hub_unreachable() -> str | None:
    """Why the hub cannot be reached (no name resolution, no route, no answer within
    :data:`HUB_PROBE_SECONDS`), or None when its port answers or a proxy stands between."""
    import socket
    from urllib.parse import urlsplit

    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    url = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = url.hostname or "huggingface.co"
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=HUB_PROBE_SECONDS).close()
    except OSError as exc:
        return f"{host} is unreachable ({exc.strerror or type(exc).__name__})"
    return None


#: Files of which one is in the hub cache when a tokenizer was downloaded before.
_TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json", "config.json")


def in_hub_cache(name: str) -> bool:
    """Whether the local Hugging Face cache holds files of hub repository ``name`` (a look at
    the disk only; transformers' own lookup may contact the hub); CalibrationError when
    ``name`` is neither a local path nor a hub repository name."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = [try_to_load_from_cache(name, file) for file in _TOKENIZER_FILES]
    except ValueError:  # huggingface_hub's HFValidationError: not a repository name
        raise CalibrationError(f"tokenizer {name!r} is neither a local directory nor a "
                               f"Hugging Face hub name; {LOCAL_HINT}") from None
    return any(isinstance(path, str) for path in found)


class QuietHub:
    """Raises the Hugging Face loggers to ERROR for a download, so retries print nothing."""

    NAMES = ("huggingface_hub", "transformers")

    def __enter__(self) -> None:
        import logging

        self.levels = {n: logging.getLogger(n).level for n in self.NAMES}
        for name in self.NAMES:
            logging.getLogger(name).setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        import logging

        for name, level in self.levels.items():
            logging.getLogger(name).setLevel(level)

__all__ = [
    "HUB_PROBE_SECONDS", "LOCAL_HINT", "OFFLINE_VARIABLES", "QuietHub", "hub_unreachable",
    "in_hub_cache", "offline_variable",
]
