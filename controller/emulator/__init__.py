"""The Bird emulator: a faithful, in-memory stand-in for the parts of Bird senderctl uses.

- ``app.create_app(world=None, *, seed=0)`` — the Starlette ASGI app; ``app.state.emulator`` is the
  ``core.Emulator`` (its ``world``, ``clock``, ``advance(seconds)``, ``decide(...)``, ``reset()``, ``dump()``).
- ``server.running_emulator(world_file=None, *, seed=0)`` — serves it on a free 127.0.0.1 port in a
  background thread; yields ``.url`` and ``.emulator``. ``server.serve(...)`` is ``senderctl emulator``.
- ``world.World`` — organizations, workspaces, access keys, wallets, resellers, stock (YAML or default).
- ``core.Emulator`` — the domains of ``domains`` (numbers, compliance, channels, notifications: one
  module per section of Bird's API reference, each with its routes, validation and lifecycle) composed
  over ``kernel`` (one clock, one store, one outbox); ``faults`` — the one fault, request-count and
  rate-limit layer every route goes through; ``errors`` — Bird's error bodies;
  ``policy`` — every choice Bird's docs leave open (statuses, fees, delays, error codes);
  ``webhooks`` — signed delivery to loopback receivers only; ``collection`` — cursor pagination.

Bird's routes come from ``controller.bird.routes`` so the client and the emulator cannot disagree.
The admin API lives under ``/_emulator/`` (CONTRACT.md "The Bird emulator").
"""
