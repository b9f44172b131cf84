#!/usr/bin/env python3
"""Write N tasks as orch commits them (orchestration/tasks/<id>.json and
one file per event in orchestration/tasks/events/), with priorities, deadlines, dependencies and a
mix of statuses, so `orch next` and `orch task list` can be measured over
a realistic backlog.

usage: make_tasks.py REPO N [WORKFLOW]

The first 40% of the tasks are DONE (a started and a done event); about
half of the others depend on one or two earlier tasks; a third have a due
date within ten days either side of 2026-03-10. With WORKFLOW, every task
names that workflow (slug = its id), so workers can run them.
"""
import json
import os
import random
import sys
from datetime import date, datetime, timedelta, timezone

repo, count = sys.argv[1], int(sys.argv[2])
workflow = sys.argv[3] if len(sys.argv) > 3 else None
rng = random.Random(7)
alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
token = lambda n: "".join(rng.choice(alphabet) for _ in range(n))
start = datetime(2026, 1, 1, tzinfo=timezone.utc)
stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
compact = lambda t: t.strftime("%Y%m%dT%H%M%S") + f"{t.microsecond // 1000:03d}Z"
root = os.path.join(repo, "orchestration", "tasks")
events = os.path.join(root, "events")
os.makedirs(events, exist_ok=True)
ids = []
for i in range(count):
    tid = "t_" + token(8)
    created = start + timedelta(minutes=i)
    task = {"format_version": 1, "id": tid, "title": f"Task {i}",
            "priority": rng.choice(["critical", "high", "medium", "medium", "low"])}
    if rng.random() < 0.33:
        task["due"] = (date(2026, 3, 10) + timedelta(days=rng.randint(-10, 10))).isoformat()
    if ids and rng.random() < 0.5:
        task["depends_on"] = sorted(set(rng.sample(ids[-200:], min(len(ids[-200:]), rng.randint(1, 2)))))
    if workflow:
        task["workflow"] = {"name": workflow, "slug": tid, "depth": "standard"}
    task["created_at"] = stamp(created)
    with open(os.path.join(root, tid + ".json"), "w") as f:
        json.dump(task, f, indent=2)
        f.write("\n")
    if i < count * 0.4:
        t = created + timedelta(seconds=30)
        for seq, kind in enumerate(["started", "done"], 1):
            t += timedelta(seconds=seq)
            ev = {"format_version": 1, "type": kind, "at": stamp(t), "worker": "w1"}
            with open(os.path.join(events, f"{tid}-{seq:06d}-{compact(t)}-{kind}-{token(6)}.json"), "w") as f:
                json.dump(ev, f, indent=2)
                f.write("\n")
    ids.append(tid)
