"""One module per webhook source, each exporting ``SPEC`` (a ``SourceSpec``)."""
