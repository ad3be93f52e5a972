"""``scenecraft submit``: one batch, resumed after an interruption without resubmitting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from service_harness import HERE, KEY_B, REPO

from scenecraft.service.worker.local import wait_for

CTRL_C_ON = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv = sys.argv[1:]; runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)"
)


def all_job_ids(client) -> set[str]:
    ids, cursor = set(), None
    while True:
        page = client.get("/v1/jobs", params={"limit": 200, "cursor": cursor} if cursor else {})
        body = page.json()
        ids |= {j["id"] for j in body["jobs"]}
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


def test_submit_resumes_and_lists_failures(api, client_b, workers, tmp_path):
    lines = [
        {"pipeline": "world.render", "params": {"prompt": "a red circle", "size": 64, "seed": 3}},
        {"pipeline": "test.steps", "params": {"steps": 20, "step_s": 0.1}},
        {"pipeline": "test.steps", "params": {"steps": 2, "fail": True}},
    ]
    jobs_file = tmp_path / "jobs.jsonl"
    jobs_file.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "scenecraft.cli", "submit", str(jobs_file), "--out", str(out)]
    # Ctrl-C as a terminal sends it, whatever this test inherited: a shell starts background jobs
    # with SIGINT ignored, and Python then never installs its KeyboardInterrupt handler
    interruptible = [sys.executable, "-c", CTRL_C_ON, *cmd[2:]]
    env = {**os.environ, "SCENECRAFT_SERVER": api.url, "SCENECRAFT_KEY": KEY_B}
    env["PYTHONPATH"] = str(HERE)
    before = all_job_ids(client_b)

    first = subprocess.Popen(
        interruptible, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    new = wait_for(lambda: all_job_ids(client_b) - before, "the batch to be submitted")
    first.send_signal(signal.SIGINT)  # interrupted before any job ran: no worker yet
    out_1, err_1 = first.communicate(timeout=60)
    assert first.returncode == 130, (out_1.decode()[-2000:], err_1.decode()[-4000:])
    assert b"run the same command again" in err_1

    workers.start()
    second = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 1, second.stderr
    assert all_job_ids(client_b) - before == new  # the same batch, nothing resubmitted
    assert len(new) == 3
    assert "line 3" in second.stderr and "asked to fail" in second.stderr
    assert (out / "0001-world.render" / "final.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "0002-test.steps" / "steps.txt").exists()
    assert not (out / "0003-test.steps").exists()
