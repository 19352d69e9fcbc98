"""Stand-in worker processes for pool tests: no kernels, behaviour chosen by student name.

``crash*`` dies every time, ``flaky*`` dies on its first attempt, ``hang*`` starts a fake
kernel (a process in its own session) and never answers, ``balloon*`` grows its memory until
stopped (host-side work sized by a student), ``error*`` reports a grader error,
anything else is graded at once with 1 point. Every job is logged to ``OUT/jobs.log``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from multiprocessing.connection import Connection

from grader.batch.store import Store
from grader.batch.worker import Done, Job, WorkerConfig, grader_error, record_for
from grader.results import GradeResult, Status
from grader.spec import load_assignment


def serve(conn: Connection, config: WorkerConfig) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    store, spec = Store(config.out), load_assignment(config.assignment)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        started = time.time()
        result = _behave(job, config, spec.id)
        if job.student.startswith("error"):
            result = grader_error(spec, job.source, "fake failure")
        time.sleep(0.3)
        store.save(job.student, result, record_for(job, 0.3, "fake"))
        with (config.out / "jobs.log").open("a") as fh:
            fh.write(json.dumps([job.student, job.gpu, started, time.time(), job.attempt]) + "\n")
        conn.send(
            ("done", Done(job.student, result.status, result.points, 1.0, 0.3, result.message))
        )


def _behave(job: Job, config: WorkerConfig, assignment: str) -> GradeResult:
    name = job.student
    if name.startswith("crash") or (name.startswith("flaky") and job.attempt == 1):
        os._exit(3)
    if name.startswith("balloon"):
        held = []
        while True:
            held.append(bytearray(32 * 2**20))  # zero-filled: resident at once
            time.sleep(0.05)
    if name.startswith("hang"):
        kernel = subprocess.Popen(["sleep", "600"], start_new_session=True)
        (config.out / "hang.pid").write_text(str(kernel.pid))
        time.sleep(600)
    return GradeResult(
        assignment=assignment,
        assignment_version="1",
        submission=str(job.source),
        status=Status.GRADED,
        message="graded",
        points=1.0,
        max_points=1.0,
    )
