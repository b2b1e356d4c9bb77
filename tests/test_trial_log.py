"""tune() in a script logs a line per finished trial and one at the end on stderr (no
dashboard shows progress there), unless logging says otherwise. Each case runs a real Python
process, since logging's configuration is the process's."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import logging, sys
    from jupyter_hpo import Real, report, tune
    {setup}
    def train(config):
        if config["x"] > 0.9:
            raise ValueError("x too large for this model")
        for epoch in range(1, 10):
            report(epoch=epoch, loss=config["x"] + 1 / epoch)
    study = tune(train, {{"x": Real(0, 1), "epochs": 9}}, metric="loss", trials=12, seed=3,
                 workers=1, searcher="random")
    print("BEST", study.best_trial.trial_id, study.best_value)
""")


def run(setup: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT.format(setup=setup)],
                          capture_output=True, text=True, timeout=120, check=True)


def test_each_finished_trial_and_the_end_are_logged_on_stderr():
    done = run()
    lines = done.stderr.splitlines()
    trials = [line for line in lines if line.startswith("[jupyter_hpo] trial ")]
    assert len(trials) == 12, done.stderr
    ids = sorted(int(line.split()[2]) for line in trials)
    assert ids == list(range(12))
    best_id, best_value = done.stdout.split()[1:]
    completed = [line for line in trials if " completed after epoch 9: loss=" in line]
    stopped = [line for line in trials if " stopped early at epoch " in line]
    failed = [line for line in trials if " failed: ValueError: x too large" in line]
    assert completed and stopped and len(completed) + len(stopped) + len(failed) == 12
    assert f"[jupyter_hpo] trial {best_id} completed after epoch 9: loss={float(best_value):.6g}" \
        in done.stderr
    assert all("; x=" in line for line in completed + stopped)  # the configuration
    assert lines[-1].startswith("[jupyter_hpo] study-1: finished · 12/12 trials · ")
    assert f"best loss={float(best_value):.6g} (trial {best_id}); best configuration: x=" \
        in lines[-1]
    assert done.stdout.startswith("BEST")  # nothing of the log on stdout


def test_the_best_so_far_named_in_each_line_is_the_best_of_the_trials_before():
    trials = [line for line in run().stderr.splitlines() if "(best " in line]
    assert trials
    for line in trials:
        value = float(line.split(": loss=")[1].split()[0])
        best = float(line.split("(best ")[1].split(",")[0])
        assert best <= value + 1e-6  # never a best worse than the trial itself (min)


def test_the_best_so_far_never_names_a_trial_that_failed_after_reporting():
    """Trial 0 reports the best loss, then fails: the study leaves it out of its best, and so
    must the log's "(best ..., trial N)" of the trials after it."""
    script = textwrap.dedent("""
        from jupyter_hpo import Real, report, tune
        def train(config):
            report(epoch=1, loss=config["x"])
            if config["x"] < 0.1:
                raise ValueError("diverged")
        study = tune(train, {"x": Real(0, 1)}, metric="loss", trials=3, workers=1, seed=1,
                     searcher="random", points_to_evaluate=[{"x": 0.0}, {"x": 0.5}, {"x": 0.7}])
        print("BEST", study.best_trial.trial_id, study.best_value)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["BEST", "1", "0.5"]
    assert "[jupyter_hpo] trial 0 failed: ValueError: diverged" in done.stderr
    assert "trial 1 completed after epoch 1: loss=0.5 (best 0.5, trial 1); x=0.5" in done.stderr
    assert "trial 2 completed after epoch 1: loss=0.7 (best 0.5, trial 1); x=0.7" in done.stderr


def test_a_warning_level_silences_it_and_configured_logging_gets_each_line_once():
    quiet = run('logging.getLogger("jupyter_hpo.tune").setLevel(logging.WARNING)')
    assert "[jupyter_hpo]" not in quiet.stderr and "trial " not in quiet.stderr
    configured = run('logging.basicConfig(stream=sys.stderr, level=logging.INFO, '
                     'format="LOG %(name)s %(message)s")')
    lines = configured.stderr.splitlines()
    assert sum(line.startswith("LOG jupyter_hpo.tune trial ") for line in lines) == 12
    assert not any(line.startswith("[jupyter_hpo]") for line in lines)  # not twice


def test_ctrl_c_in_a_script_logs_the_stopped_study_and_how_to_resume_it(tmp_path):
    script = textwrap.dedent(f"""
        import os, time
        from jupyter_hpo import Real, report, tune
        def train(config):
            for epoch in range(1, 1000):
                time.sleep(0.05)
                if epoch == 3:
                    os.write(1, b"TRAINING\\n")  # one write: both trials' lines stay whole
                report(epoch=epoch, loss=config["x"] + 1 / epoch)
        tune(train, {{"x": Real(0, 1)}}, metric="loss", trials=4, workers=2,
             storage={str(tmp_path / "runs.db")!r}, name="long")
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "TRAINING\n"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode != 0 and err.rstrip().endswith("KeyboardInterrupt")
    assert err.count(" cancelled at epoch ") == 2
    assert "[jupyter_hpo] long: finished (interrupted) · 0/4 trials · 2 cancelled" in err
    assert ("jupyter_hpo: long is stored; tune(..., name='long', resume=True) with the same "
            "storage runs its cancelled trials again") in out


def test_a_storage_problem_is_logged_as_a_warning(tmp_path):
    """A storage file deleted while a script's study runs: the study goes on in memory, and
    the script says so (only the dashboard showed it, so a script lost its results silently)."""
    path = tmp_path / "runs.db"
    script = textwrap.dedent(f"""
        import pathlib, time
        from jupyter_hpo import Real, report, tune
        def train(config):
            if config["x"] == 0.5:
                for leftover in pathlib.Path({str(tmp_path)!r}).glob("runs.db*"):
                    leftover.unlink()
            for epoch in range(1, 4):
                time.sleep(0.3)
                report(epoch=epoch, loss=config["x"])
        study = tune(train, {{"x": Real(0, 1)}}, metric="loss", trials=3, workers=1,
                     points_to_evaluate=[{{"x": 0.5}}], storage={str(path)!r}, name="gone")
        study.trials_dataframe().to_csv({str(tmp_path / "file.csv")!r})
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    # what works in a script: %hpo export cannot reach it, nor can the CLI (it reads the file)
    assert (f"[jupyter_hpo] the storage file {path} was deleted while the study ran: new "
            f"results are kept in memory only; save them from the Study that tune() returns, "
            f"e.g. study.trials_dataframe().to_csv('file.csv')"
            in done.stderr.splitlines()), done.stderr
    assert not path.exists()
    assert len((tmp_path / "file.csv").read_text().splitlines()) == 4  # header, 3 trials
