"""The job that imports a large roll (lms/admin/imports.py), chunk by chunk with its progress."""

from __future__ import annotations

from lms.admin import imports
from lms.core.jobs import app_task
from lms.extensions import db


@app_task()
def import_residents(batch_id: int) -> None:
    batch = imports.claim(batch_id, from_status=imports.ImportStatus.QUEUED)
    if batch is None:
        return  # another worker has it, or it is done
    db.session.commit()
    try:
        imports.run_import(batch, commit=db.session.commit)
    except Exception as error:
        db.session.rollback()
        batch = db.session.get(imports.ResidentImport, batch_id)
        batch.status = imports.ImportStatus.FAILED
        batch.failure = "导入中断，已导入的行保留；请重新上传同一文件完成其余的行"
        db.session.commit()
        if not isinstance(error, OSError):
            raise
    db.session.commit()
