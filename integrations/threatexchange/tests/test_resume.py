"""
Test 6 of issue 14: kill a fetch halfway through a large list (100 000
entries), change the list, fetch again, and the local copy equals the
service's active list exactly.
"""

import os
import random
import signal
import time

from support import Cli, Service, random_image_item

COLLAB = "takedown_big"
ITEMS = int(os.environ.get("TAKEDOWN_PYTX_BIG", "100000"))
PER_CASE = 1000  # the API's limit per request


def test_6_killed_fetch_resumes_to_an_exact_copy(tmp_path):
    cli = Cli(tmp_path / "home", "placeholder")
    svc = Service(tmp_path)
    try:
        cli.env["TX_TAKEDOWN_API_KEY"] = svc.key
        rng = random.Random(14)
        cases = []
        for _ in range(ITEMS // PER_CASE):
            cases.append(
                svc.create_case([random_image_item(rng) for _ in range(PER_CASE)])
            )
        # A few withdrawals before the first fetch too.
        svc.withdraw_case(cases[3])
        svc.withdraw_item(cases[4], cases[4]["item_ids"][10])
        total = ITEMS + PER_CASE + 1
        # Small pages so the fetch takes a while; flush state every second.
        cli.setup(COLLAB, svc.url, page_size=250)
        proc = cli.popen("fetch", "--checkpoint-every", "1", "--skip-index-rebuild")
        # Kill it (SIGKILL: no chance to flush) once a stored checkpoint shows
        # at least half of the list.
        state = cli.state_file(COLLAB)
        deadline = time.time() + 300
        seen_mtime = 0.0
        while proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
            try:
                mtime = state.stat().st_mtime
            except FileNotFoundError:
                continue
            if mtime != seen_mtime:
                seen_mtime = mtime
                if cli.local_copy(COLLAB)[1].cursor >= total // 2:
                    break
        still_running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert still_running, (
            "the fetch finished before the first checkpoint; nothing was killed: "
            + proc.stderr.read().decode(errors="replace")
        )
        proc.stderr.close()
        partial, checkpoint = cli.local_copy(COLLAB)
        assert total // 2 <= checkpoint.cursor < total, checkpoint
        assert ITEMS // 2 - PER_CASE <= len(partial) < ITEMS

        # The list changes while the platform is down: withdrawals on both
        # sides of the checkpoint, and new items.
        svc.withdraw_case(cases[0])
        svc.withdraw_case(cases[-1])
        svc.withdraw_item(cases[len(cases) // 2], cases[len(cases) // 2]["item_ids"][0])
        svc.create_case([random_image_item(rng) for _ in range(PER_CASE)])

        p = cli.run("fetch", "--skip-index-rebuild")
        assert "Up to date" in p.stderr, p.stderr
        records, checkpoint = cli.local_copy(COLLAB)
        active = svc.active_list()
        assert len(active) == ITEMS + PER_CASE - 3 * PER_CASE - 2
        local = {k: (r.kind, r.md5, r.sha256, r.pdq, r.quality) for k, r in records.items()}
        missing = active.keys() - local.keys()
        extra = local.keys() - active.keys()
        assert not missing and not extra, (len(missing), len(extra))
        assert local == active
    finally:
        svc.stop()
