"""Load: 20 concurrent requests across channels are all answered, in order per channel, without stalling the loop."""

from __future__ import annotations

import asyncio

from tests.support.bots.load import discord_load


def test_twenty_concurrent_requests_across_channels(tmp_path, monkeypatch):
    result = asyncio.run(discord_load(tmp_path / "home", monkeypatch, requests=20, channels=5, workers=2, render=True))
    assert result.answered == 20
    assert result.in_order
    assert result.max_ack_seconds < 3.0  # every deferral reached Discord within its deadline
    assert result.max_loop_lag < 1.0, f"the event loop was blocked for {result.max_loop_lag:.2f} s"
