"""Executes a notebook headless with Jupyter's own nbclient, as `jupyter execute` would.

Usage: execute_notebook.py NOTEBOOK OUT_NOTEBOOK MESSAGES_JSON KERNEL_NAME

Writes the executed notebook, and for each cell index the types of the kernel's messages it got (nbclient folds
update_display_data into the output it updates, so only this log shows that a display was updated live).
"""
import json
import sys

import nbformat
from nbclient import NotebookClient


class RecordingClient(NotebookClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.message_types = {}

    def process_message(self, msg, cell, cell_index):
        self.message_types.setdefault(str(cell_index), []).append(msg["msg_type"])
        return super().process_message(msg, cell, cell_index)


def main(src, out, messages, kernel_name):
    nb = nbformat.read(src, as_version=4)
    # allow_errors: run every cell and keep error outputs, so the test can name each cell that failed.
    # A cell's metadata "timeout" (seconds) bounds that cell; past it nbclient interrupts the kernel, as a user would.
    client = RecordingClient(nb, kernel_name=kernel_name, timeout=180, startup_timeout=60, allow_errors=True,
                             interrupt_on_timeout=True, timeout_func=lambda cell: cell.metadata.get("timeout", 180))
    try:
        client.execute()
    finally:
        nbformat.write(nb, out)
        with open(messages, "w") as f:
            json.dump(client.message_types, f)


if __name__ == "__main__":
    main(*sys.argv[1:5])
