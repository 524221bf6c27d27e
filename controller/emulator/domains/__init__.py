"""The emulated Bird, one module per section of Bird's API reference (docs.bird.com/api):

- ``numbers`` — Numbers API: stock, buying, owned numbers and their subscriptions;
- ``compliance`` — 10DLC compliance: brands, vettings, campaigns, resellers;
- ``channels`` — Channels API: connectors, channels, carrier acknowledgement, inbound messages;
- ``notifications`` — Notifications API: webhook subscriptions and the events queued for them.

Each is a mixin over ``controller.emulator.kernel.Kernel`` (one clock, one store, one outbox) declaring
its routes (``ROUTES``) and clock transitions (``TIMERS``); ``controller.emulator.core.Emulator``
composes them.
"""
