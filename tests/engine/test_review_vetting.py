"""Review finding: after an ambiguous vetting request, the re-read must look for *this* vetting
(class and provider), not adopt whatever vetting the brand already has."""

from __future__ import annotations

import asyncio
from pathlib import Path

from controller.reconcile import engine
from controller.reconcile.engine import Settings
from controller.state import StateStore
from tests.engine.conftest import Emulator

VETTINGS = "/workspaces/{workspaceId}/tcr-brands/{brandId}/vettings"


def test_an_ambiguous_vetting_request_never_adopts_another_vetting_of_the_brand(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    paths = [str(quickstart)]
    emulator.fault(method="POST", route=VETTINGS, effect="status", status=422, times=1)
    asyncio.run(engine.apply(paths, settings))  # the brand is registered, its vetting refused
    with StateStore.open(settings.state_url) as store:
        brand_id = store.records()["Brand/acme"].bird_id
    other = emulator.bird("POST", f"/workspaces/{emulator.workspace}/tcr-brands/{brand_id}/vettings",
                          {"class": "POLITICAL", "vettingProviderId": "CV"}).json()

    # Bird answers 503 without acting: the write is ambiguous and the re-read finds no STANDARD/AEGIS vetting.
    emulator.fault(method="POST", route=VETTINGS, effect="status", status=503, times=1)
    asyncio.run(engine.apply(paths, settings))
    with StateStore.open(settings.state_url) as store:
        assert store.records().get("Vetting/acme") is None, f"recorded the brand's POLITICAL vetting {other['id']}"

    asyncio.run(engine.apply(paths, settings))
    vettings = emulator.bird("GET", f"/workspaces/{emulator.workspace}/tcr-brands/{brand_id}/vettings").json()
    ours = [v for v in vettings["results"] if (v["class"], v.get("vettingProviderId")) == ("STANDARD", "AEGIS")]
    assert len(ours) == 1
    with StateStore.open(settings.state_url) as store:
        assert store.records()["Vetting/acme"].bird_id == ours[0]["id"]
