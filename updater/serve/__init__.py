"""``updater serve``: the registry webhook receiver.

``sources`` turns one HTTP request into push events (no web framework, no I/O);
``hooks/`` holds one module per registry that sends them. ``queue`` stores events
durably before the answer; ``triage`` judges them by the config's images and
policies; ``worker`` coalesces and delivers them one batch at a time through poll's
planner and delivery; ``app`` is the HTTP side, ``metrics`` and ``log`` what
operators see. The web stack is imported only by the ``serve`` command.
"""
