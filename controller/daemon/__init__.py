"""The reconcile daemon: `senderctl daemon PATH...` (watch, resync, webhooks, metrics, one leader)."""

from controller.daemon.config import DaemonOptions
from controller.daemon.main import run_daemon

__all__ = ["DaemonOptions", "run_daemon"]
