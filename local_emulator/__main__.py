"""``python -m local_emulator``: start the emulator, seed a city and keep it up until Ctrl-C.

Same options as the demo (``--persons``, ``--seed``, ``--history-days``, ``--port``); it prints
the environment a client needs (endpoint URLs, keyring file) to talk to it.
"""

from __future__ import annotations

import sys

from local_emulator.demo import prepare_environment, provision_tables, run, seed_city, show_counts, start_emulator

if __name__ == "__main__":
    sys.exit(
        run(
            [prepare_environment, start_emulator, provision_tables, seed_city, show_counts],
            sys.argv[1:],
            keep_running=True,
        )
    )
