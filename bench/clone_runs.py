#!/usr/bin/env python3
"""Clone one real run record into N runs (unique ids, spread start times,
mixed statuses), so `orch run list` can be measured over realistic data.

usage: clone_runs.py TEMPLATE_RUN_DIR RUNS_DIR N [ARTIFACT_DIR REPO_ROOT]

With ARTIFACT_DIR (the template's repo-relative artifact path), every clone
gets its own copy of the artifacts, and its record points at them.
"""
import json
import os
import random
import shutil
import sys
from datetime import datetime, timedelta, timezone

template_dir, runs_dir, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
artifact_dir = sys.argv[4] if len(sys.argv) > 5 else None
repo_root = sys.argv[5] if len(sys.argv) > 5 else None
template_id = os.path.basename(template_dir.rstrip("/"))
record = open(os.path.join(template_dir, "record", "RUN.json")).read()
attempts = []
for root, _, files in os.walk(os.path.join(template_dir, "record", "gates")):
    for f in files:
        path = os.path.join(root, f)
        attempts.append((os.path.relpath(path, template_dir), open(path).read()))

rng = random.Random(42)
start = datetime(2026, 1, 1, tzinfo=timezone.utc)
statuses = ["PASSED"] * 6 + ["FAILED"] * 2 + ["RUNNING", "CANCELED"]
os.makedirs(runs_dir, exist_ok=True)
for i in range(count):
    t = start + timedelta(minutes=7 * i)
    stamp = t.strftime("%Y%m%dT%H%M%S") + f"{t.microsecond // 1000:03d}Z"
    slug = f"essay-{i:05d}"
    run_id = f"run_{stamp}_{slug}_{rng.randrange(36**6):06x}"[:len(f"run_{stamp}_{slug}_") + 6]
    status = rng.choice(statuses)
    text = record.replace(template_id, run_id)
    if artifact_dir:
        mine = f"{artifact_dir}-{i:05d}"
        text = text.replace(f'"{artifact_dir}/', f'"{mine}/').replace(f'"{artifact_dir}"', f'"{mine}"')
        shutil.copytree(os.path.join(repo_root, artifact_dir), os.path.join(repo_root, mine))
    data = json.loads(text)
    data["status"] = status
    data["workflow"]["slug"] = slug
    data["started_at"] = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    if status == "RUNNING":
        data["finished_at"] = None
    out = os.path.join(runs_dir, run_id)
    os.makedirs(os.path.join(out, "record"), exist_ok=True)
    with open(os.path.join(out, "record", "RUN.json"), "w") as fh:
        fh.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    for rel, content in attempts:
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        content = content.replace(template_id, run_id)
        if artifact_dir:
            content = content.replace(f'"{artifact_dir}/', f'"{mine}/').replace(f'"{artifact_dir}"', f'"{mine}"')
        with open(path, "w") as fh:
            fh.write(content)
