"""The platform API of seeds 000 and 002 (routes, tokens, scopes, ownership), served by the daemon.

    app = create_api(ApiContext(store=..., specs=lambda: specs_in_force, settings=engine_settings))
"""

from controller.api.app import ApiContext, create_api

__all__ = ["ApiContext", "create_api"]
