"""Status page fixtures: the emulator over real HTTP, `senderctl daemon` processes (tests/daemon's)."""

from tests.browser import browser  # noqa: F401 (fixture)
from tests.daemon.conftest import daemons, emulator  # noqa: F401 (fixtures)
