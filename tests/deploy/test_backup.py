"""``lms backup`` and ``lms restore``: a site with residents, a transcoded video, a ledger and a
transcript round-trips into a new instance (the ledger chain verifies, the transcript's signature
holds, the video plays); a truncated archive, a wrong passphrase and a restore into an instance
that is not empty are refused with a clear message, and nothing is changed. On SQLite (the
online backup API); pg_dump's path is the same code with another dump command."""

from __future__ import annotations

import io
import json
import subprocess

import pytest
from sqlalchemy import inspect, select

from lms.credits import operations as credits
from lms.credits.models import Transcript
from lms.extensions import db
from lms.media import operations as media
from lms.media.models import MediaAsset, MediaStatus
from tests.conftest import make_app
from tests.credits.conftest import certify_hours, complete_course
from tests.media.clips import make_clip

pytestmark = pytest.mark.once
PASSPHRASE = "泸县 backup 2026"


@pytest.fixture
def site(app, resident, teacher, registrar, create_course, tmp_path):
    """Residents, a ready video, ledger entries and a transcript."""
    clip = make_clip(tmp_path / "clip.mp4", seconds=2, width=320, height=240)
    asset, _ = media.save_stream(teacher, filename="讲座.mp4", stream=io.BytesIO(clip.read_bytes()))
    db.session.commit()  # the job runs at once (LMS_QUEUE_IMMEDIATE)
    assert db.session.get(MediaAsset, asset.id).status is MediaStatus.READY
    course = certify_hours(create_course("生猪科学养殖技术", hours=16), registrar)
    complete_course(resident, course)
    transcript = credits.issue_transcript(resident)
    db.session.commit()
    return {"asset": asset.id, "serial": transcript.serial}


def cli(app, *args: str, passphrase: str = PASSPHRASE):
    return app.test_cli_runner().invoke(args=list(args), env={"LMS_BACKUP_PASSPHRASE": passphrase})


def test_a_backup_restores_into_a_new_instance(app, site, tmp_path):
    archive = tmp_path / "lms-backup.tar"
    made = cli(app, "backup", str(archive))
    assert made.exit_code == 0, made.output
    assert "media files included" in made.output
    assert cli(app, "backup", str(archive)).exit_code == 1  # never over an existing file

    restored = make_app(
        tmp_path / "new",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'new.sqlite3'}",
        LMS_MEDIA_DIR=str(tmp_path / "new-media"),
    )
    with restored.app_context():
        # Damaged archives and a wrong passphrase: refused, and the instance stays empty.
        truncated = tmp_path / "truncated.tar"
        truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
        refused = cli(restored, "restore", str(truncated))
        assert refused.exit_code == 1
        assert "is damaged or incomplete" in refused.output
        assert "nothing was restored" in refused.output
        wrong = cli(restored, "restore", str(archive), passphrase="not the passphrase")
        assert wrong.exit_code == 1
        assert "wrong passphrase" in wrong.output
        assert inspect(db.engine).get_table_names() == []
        assert not (tmp_path / "new-media").exists() or not any((tmp_path / "new-media").iterdir())

        done = cli(restored, "restore", str(archive))
        assert done.exit_code == 0, done.output

        ledger = restored.test_cli_runner().invoke(args=["credits", "verify-ledger"])
        assert ledger.exit_code == 0, ledger.output
        assert " 0 broken" in ledger.output

        from lms.credits.signing import verify_document

        transcript = db.session.scalar(select(Transcript).filter_by(serial=site["serial"]))
        assert verify_document(json.loads(json.dumps(transcript.document))).valid is True

        asset = db.session.get(MediaAsset, site["asset"])
        mp4 = tmp_path / "new-media" / asset.folder / asset.renditions["mp4"]
        probe = subprocess.run(  # noqa: S603
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", mp4],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        )
        assert float(json.loads(probe.stdout)["format"]["duration"]) == pytest.approx(2, abs=0.3)

        again = cli(restored, "restore", str(archive))
        assert again.exit_code == 1
        assert "this instance is not empty" in again.output
        ledger = restored.test_cli_runner().invoke(args=["credits", "verify-ledger"])
        assert ledger.exit_code == 0  # the refused restore changed nothing
        db.session.remove()
        db.engine.dispose()
