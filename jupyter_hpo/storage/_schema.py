"""The SQLite schema of a storage file, every earlier version of it and the migrations between
them. A file says what it is with ``PRAGMA application_id`` (ours: "JHPO") and which schema it
has with ``PRAGMA user_version``; opening an older file migrates it in one transaction, a newer
one is refused.

Version history:

1. studies, trials, reports (jupyter_hpo 0.1).
2. ``studies.stop_request`` (who asked the study to stop, from another process or the
   JupyterLab panel; ``NULL`` when nobody did), ``studies.stop_reason`` (why it stopped:
   "time limit reached", "stopped from JupyterLab by alice") and ``trials.resources`` (what a
   trial ran on, as the dashboard shows it).
3. ``trials.user_attrs`` (JSON object: what the trial set with ``trial.set(key=value)``),
   ``trials.checkpoint`` (JSON: the file of its last checkpoint in the study's checkpoint
   folder, its size and the reports it had then; ``NULL`` without one), ``trials.enqueued``
   (JSON: the configuration it was enqueued with; ``NULL`` when the searcher proposed it) and
   ``studies.queue`` (JSON list: configurations enqueued that no trial has started yet, so a
   crash loses none of them).
4. ``trials.study_stopped`` (1 for a trial ``cancelled`` because the whole study was stopped:
   the Stop button, Ctrl-C, ``%hpo stop``, ``study.stop()``, a stop request; 0 for one
   stopped on its own with Stop trial or ``%hpo stop --trial``, and for every other status),
   so that a resume runs the former again and leaves the latter cancelled.
5. ``trials.best`` (the best finite value of the study's metric among the trial's reports,
   under its mode; ``NULL`` without one: ``_best.py``), so that listing studies reads no
   report; ``trials.best_reports`` (how many of its reports, from seq 0, it counts) and
   ``trials.best_pending`` (1 once a report it does not count was added, set by the trigger
   ``reports_best_pending``: by a jupyter_hpo of schema 4 or older that had the file open
   when it was migrated, which writes no best value; a listing reads such a trial's reports).
   The migration fills them in from the stored reports; this version's first write to a
   file recomputes the marked trials' best values from their reports and clears the mark.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ._best import fill_best_values

__all__ = ["APPLICATION_ID", "FILLS", "MIGRATIONS", "SCHEMA", "SCHEMA_V1", "SCHEMA_VERSION",
           "statements"]

SCHEMA_VERSION = 5
APPLICATION_ID = 0x4A48504F  # "JHPO": marks a file as ours (PRAGMA application_id)

SCHEMA_V1 = """
CREATE TABLE studies (
    study_id   INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    metric     TEXT NOT NULL,
    mode       TEXT NOT NULL,
    resource   TEXT NOT NULL,
    space      TEXT NOT NULL,
    settings   TEXT NOT NULL,
    state      TEXT NOT NULL,
    created    REAL NOT NULL,
    updated    REAL NOT NULL,
    elapsed    REAL NOT NULL DEFAULT 0,
    error      TEXT NOT NULL DEFAULT '',
    owner      TEXT,
    heartbeat  REAL
);
CREATE TABLE trials (
    study_id   INTEGER NOT NULL REFERENCES studies(study_id) ON DELETE CASCADE,
    trial_id   INTEGER NOT NULL,
    config     TEXT NOT NULL,
    status     TEXT NOT NULL,
    start_time REAL NOT NULL,
    end_time   REAL,
    error      TEXT NOT NULL DEFAULT '',
    traceback  TEXT NOT NULL DEFAULT '',
    device     TEXT NOT NULL DEFAULT '',
    bracket    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (study_id, trial_id)
);
CREATE TABLE reports (
    study_id   INTEGER NOT NULL,
    trial_id   INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    time       REAL NOT NULL,
    "values"   TEXT NOT NULL,
    PRIMARY KEY (study_id, trial_id, seq),
    FOREIGN KEY (study_id, trial_id) REFERENCES trials(study_id, trial_id) ON DELETE CASCADE
);
"""

# From version N to N + 1: SQL statements separated by ";", applied in order in the one
# transaction that also sets the new user_version.
MIGRATIONS: dict[int, str] = {
    1: """
ALTER TABLE studies ADD COLUMN stop_request TEXT;
ALTER TABLE studies ADD COLUMN stop_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE trials ADD COLUMN resources TEXT NOT NULL DEFAULT 'cpu';
""",
    2: """
ALTER TABLE trials ADD COLUMN user_attrs TEXT NOT NULL DEFAULT '{}';
ALTER TABLE trials ADD COLUMN checkpoint TEXT;
ALTER TABLE trials ADD COLUMN enqueued TEXT;
ALTER TABLE studies ADD COLUMN queue TEXT NOT NULL DEFAULT '[]';
""",
    3: """
ALTER TABLE trials ADD COLUMN study_stopped INTEGER NOT NULL DEFAULT 0;
""",
    4: """
ALTER TABLE trials ADD COLUMN best REAL;
ALTER TABLE trials ADD COLUMN best_reports INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN best_pending INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER reports_best_pending AFTER INSERT ON reports BEGIN
    UPDATE trials SET best_pending = 1 WHERE study_id = NEW.study_id
        AND trial_id = NEW.trial_id AND NEW.seq >= best_reports;
END;
""",
}

# From version N to N + 1, after its statements and in the same transaction: what SQL alone
# cannot do (reading the stored JSON).
FILLS: dict[int, Callable[[sqlite3.Connection], object]] = {4: fill_best_values}

# A new file is made as version 1 plus every migration, so that new and migrated files have
# the same schema by construction.
SCHEMA = SCHEMA_V1 + "".join(MIGRATIONS[v] for v in range(1, SCHEMA_VERSION))

# Columns added after version 1, with the value an older file (read as it is: opened
# read-only, or not written to yet) gives them.
ADDED_COLUMNS = {"stop_request": None, "stop_reason": "", "resources": "cpu",
                 "user_attrs": "{}", "checkpoint": None, "enqueued": None, "queue": "[]",
                 "study_stopped": 0, "best": None, "best_reports": 0, "best_pending": 0}


def statements(script: str) -> list[str]:
    """The SQL statements of ``script`` (a trigger's body keeps its own ``;``)."""
    found, current = [], ""
    for part in script.split(";"):
        current += part + ";"
        if sqlite3.complete_statement(current):
            if current.strip("; \n"):
                found.append(current.strip())
            current = ""
    return found
