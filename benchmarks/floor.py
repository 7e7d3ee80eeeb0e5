"""The floor for the heartbeat benchmark: a bare Flask JSON endpoint under the same server."""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/api/v1/lessons/<int:lesson_id>/progress")
def progress(lesson_id: int):
    body = request.get_json()
    return jsonify(
        watched_s=0.0, watched_ratio=0.0, completed=False, resume_position_s=body["position_s"]
    )
