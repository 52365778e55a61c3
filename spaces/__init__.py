"""Search spaces: benchmark records, model builders and proxy-input hook points."""
