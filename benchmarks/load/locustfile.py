"""Residents at the evening peak, for Locust (run by benchmarks/load/run.py, which starts the
deployment and writes the data file this reads from LMS_LOAD_DATA).

Each simulated resident (signed in and enrolled beforehand by run.py) browses the catalogue,
searches, opens the video lesson (the lesson, a visit, the HLS playlists and the first segment
through nginx), then watches for ten minutes: a video segment every 6 s (the app authorises
each, nginx sends it) and a heartbeat every 15 s, as the player does, before browsing again."""

from __future__ import annotations

import itertools
import json
import os
import random
import re

from locust import FastHttpUser, between, task

DATA = json.loads(open(os.environ["LMS_LOAD_DATA"], encoding="utf-8").read())  # noqa: SIM115
TOKENS = itertools.cycle(DATA["tokens"])
HEARTBEAT_S = 15
SEGMENT_S = 6  # the ladder's segment length
WATCH_S = 600  # ten minutes of watching between two browses
WORDS = ["高血压", "养生", "gaoxueya", "合理用药", "健康"]


class Resident(FastHttpUser):
    wait_time = between(0, 0)

    def on_start(self) -> None:
        # Signed in and enrolled already (run.py times those apart: a phone stays signed in for
        # 30 days, so few residents sign in at the peak itself).
        self.headers = {"Authorization": f"Bearer {next(TOKENS)}"}

    @task
    def evening(self) -> None:
        headers = self.headers
        self.client.get("/courses", headers=headers, name="catalogue page")
        self.client.get(
            "/api/v1/search", params={"q": random.choice(WORDS)}, headers=headers, name="search"
        )
        lesson = self.client.get(
            f"/api/v1/lessons/{DATA['lesson_id']}", headers=headers, name="open lesson"
        ).json()
        master = self.client.get(lesson["media"]["hls_url"], headers=headers, name="HLS playlist")
        base = lesson["media"]["hls_url"].rsplit("/", 1)[0]
        variant = re.search(r"^(?!#)(\S+\.m3u8)$", master.text, re.M)
        playlist = self.client.get(
            f"{base}/{variant.group(1)}", headers=headers, name="HLS playlist"
        )
        folder = f"{base}/{variant.group(1)}".rsplit("/", 1)[0]
        first = re.search(r"^(?!#)(\S+)$", playlist.text, re.M).group(1)
        segment = f"{folder}/{first}"
        visit = self.client.post(
            f"/api/v1/lessons/{DATA['lesson_id']}/visits", headers=headers, name="visit"
        ).json()["visit_id"]
        position = 0.0
        duration = float(lesson["duration_s"] or 3)
        # Watching: hls.js fetches a 6 s segment every 6 s (the app checks who asks, nginx sends
        # the bytes) and the player sends a heartbeat every 15 s. Viewers start out of step.
        self._sleep(random.uniform(0, 3))
        for tick in range(0, WATCH_S, 3):
            if tick % SEGMENT_S == 0:
                self.client.get(segment, headers=headers, name="video segment")
            if tick % HEARTBEAT_S == 0:
                start, position = position, min(duration, position + HEARTBEAT_S)
                self.client.post(
                    f"/api/v1/lessons/{DATA['lesson_id']}/progress",
                    json={
                        "visit_id": visit,
                        "position_s": position,
                        "segments": [[start, position]] if position > start else [],
                        "rate": 1,
                    },
                    headers=headers,
                    name="heartbeat",
                )
            self._sleep(3)

    def _sleep(self, seconds: float) -> None:
        import gevent

        gevent.sleep(seconds)
