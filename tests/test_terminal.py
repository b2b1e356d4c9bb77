"""A trial's output kept as a terminal shows it: progress bars redraw their line instead of
adding one per update (jupyter_hpo/terminal.py)."""

from __future__ import annotations

import pytest
from tqdm import tqdm

from jupyter_hpo import Real, report, tune
from jupyter_hpo.terminal import TerminalText


class _File:
    """A file object that writes into a TerminalText, as a trial's stderr does."""

    def __init__(self, terminal: TerminalText) -> None:
        self.terminal = terminal

    def write(self, text: str) -> None:
        self.terminal.write(text)

    def flush(self) -> None:
        pass


def test_a_carriage_return_redraws_the_line_and_printed_lines_stay():
    terminal = TerminalText()
    terminal.write("start\n")
    for percent in range(0, 101, 5):
        terminal.write(f"\r{percent:3d}%|{'#' * (percent // 10):10s}|")
    terminal.write("\nloss 0.25\n")
    assert terminal.text() == "start\n100%|##########|\nloss 0.25\n"


def test_nested_tqdm_bars_end_as_a_terminal_shows_them():
    terminal = TerminalText()
    out = _File(terminal)
    print("before", file=out)
    for _ in tqdm(range(3), desc="epochs", mininterval=0, file=out):
        for _ in tqdm(range(40), desc="batches", leave=False, mininterval=0, file=out):
            pass
    print("after", file=out)
    lines = terminal.text().splitlines()
    assert lines[0] == "before" and lines[-1] == "after"
    assert lines[1].startswith("epochs: 100%") and "3/3" in lines[1]
    assert len(lines) <= 4 and "batches" not in terminal.text()  # leave=False: erased


@pytest.mark.parametrize("written, shown", [
    ("\x1b[31mred\x1b[0m plain\n", "red plain\n"),  # colours are dropped
    ("abc\x08\x08X\n", "aXc\n"),  # a backspace steps back
    ("first line\x1b[2K\rsecond\n", "second\n"),  # erase the whole line
    ("12345\r\x1b[3C\x1b[K!\n", "123!\n"),  # move right, erase to the end
    ("a\r\nb\r\n", "a\nb\n"),  # Windows line ends
])
def test_escape_sequences(written, shown):
    terminal = TerminalText()
    terminal.write(written)
    assert terminal.text() == shown


def test_the_newest_output_is_kept_within_the_limit_and_tail_matches_text():
    terminal = TerminalText(limit=1_000)
    for i in range(2_000):
        terminal.write(f"line {i}\n")
    text = terminal.text()
    assert text.startswith("[... earlier output dropped ...]\n")
    assert text.endswith("line 1999\n") and len(text) < 1_100
    for size in (1, 10, 333, 5_000):
        assert terminal.tail(size) == text[-size:]
    endless = TerminalText(limit=1_000)
    for _ in range(500):
        endless.write("x" * 10)  # no newline ever
    assert len(endless.text()) < 1_100


def test_a_trial_with_a_tqdm_loop_keeps_one_line_per_bar():
    def train(config):
        for epoch in tqdm(range(1, 4), desc="epochs", mininterval=0):
            for _ in tqdm(range(30), leave=False, mininterval=0):
                pass
            print(f"epoch {epoch} loss {config['x'] / epoch:.3f}")
            report(epoch=epoch, loss=config["x"] / epoch)

    study = tune(train, {"x": Real(0, 1)}, metric="loss", mode="min", trials=1, seed=0,
                 storage=None, capture_output=True)
    lines = study.trial_output(0).splitlines()
    assert [line for line in lines if line.startswith("epoch ")] == [
        f"epoch {e} loss {study.trials[0].config['x'] / e:.3f}" for e in (1, 2, 3)]
    bars = [line for line in lines if line.startswith("epochs:")]
    assert len(bars) <= 4 and bars[-1].startswith("epochs: 100%")  # one per print at most
    assert len(lines) <= 8  # not a line per bar update (30 per epoch)
