"""What tests share: scripted models, stub servers, wire-level fakes of Discord and Slack, small fixtures."""

from pathlib import Path

SUPPORT = Path(__file__).resolve().parent
REPO = SUPPORT.parents[1]
FIXTURES = SUPPORT / "fixtures"
SHARED_DATA = REPO.parent / "shared" / "data"
