"""Shared fixtures: one global IPython shell for the whole session."""

from __future__ import annotations

import IPython
import pytest
from IPython.testing.globalipapp import start_ipython


@pytest.fixture(scope="session")
def ipython_shell():
    """IPython's test shell (started once; ``start_ipython`` returns None after that)."""
    return start_ipython() or IPython.get_ipython()


@pytest.fixture(scope="session", autouse=True)
def session_storage(tmp_path_factory):
    """Studies of fixtures wider than a test (a module's kernel, started before the test's
    own file is set) go to a file of the session, never to the working directory."""
    with pytest.MonkeyPatch.context() as patch:
        path = tmp_path_factory.mktemp("session") / "studies.db"
        patch.setenv("JUPYTER_HPO_STORAGE", str(path))
        yield path


@pytest.fixture(autouse=True)
def study_storage(tmp_path, monkeypatch):
    """Each test keeps its studies in its own SQLite file (not in the working directory);
    kernels and notebooks started by the test inherit the variable."""
    path = tmp_path / "studies.db"
    monkeypatch.setenv("JUPYTER_HPO_STORAGE", str(path))
    return path


@pytest.fixture(scope="module")
def one_blas_thread():
    """Searchers driven here directly, not by a study, propose with one BLAS thread, as a
    study's proposals do (``controller/blas_threads.py``): with OpenBLAS's default threads,
    numpy's and scipy's pools wait on each other's spinning threads, and skopt's GP fits took
    1.3 to 3 times as long on a loaded 2-core machine. scipy's BLAS is loaded first, since the
    limit applies to the libraries loaded when it is set."""
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def model_kernel(tmp_path_factory):
    """A kernel whose %%hpo cells fit scikit-learn models (``test_process_executor``'s
    ``MODEL_SETUP``), one per test module: the process and Dask executors' best-variables
    tests share it."""
    from test_process_executor import start_model_kernel

    km, kc = start_model_kernel(tmp_path_factory.mktemp("model_kernel"))
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
