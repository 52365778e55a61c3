"""lpzero-gp: genetic-programming search of zero-cost proxies for language-model NAS."""

__version__ = "0.1.0"
