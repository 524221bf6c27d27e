"""The platform API of seeds 000 and 002 (routes, tokens, scopes, ownership), served by the daemon.

    from controller.api.app import ApiContext, create_api
    app = create_api(ApiContext(store=..., specs=lambda: specs_in_force, settings=engine_settings))

Nothing is imported here, so that `senderctl tokens ...` does not load FastAPI.
"""
