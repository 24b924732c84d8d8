"""``updater serve``: the registry webhook receiver.

``sources`` turns one HTTP request into push events (no web framework, no I/O);
``hooks/`` holds one module per registry that sends them.
"""
