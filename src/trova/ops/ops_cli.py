"""`trova ops …`: the monitoring commands (defined in trova.ops.cli next to `trova annotate`)."""

from trova.ops.cli import ops_app as app

__all__ = ["app"]
