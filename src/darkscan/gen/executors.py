"""Where the external programs of the MadGraph route run: on this machine or inside a container image.

One interface, :class:`Executor`, with four implementations: :class:`LocalExecutor` (an MG5_aMC
installation on disk or on PATH, Delphes likewise), :class:`DockerExecutor`, :class:`PodmanExecutor`
and :class:`ApptainerExecutor` (the darkscan image, see ``containers/``). An executor only turns
"run this program with these arguments in this folder" into the host's argv; :func:`run_step` runs
it the same way for all of them:

- argv lists only, never a shell: a hostile sample name (``x; rm -rf ~``, quotes, ``$(...)``) is one
  argument and nothing else (container bind specifications, whose syntax uses ``:`` and ``,``,
  refuse paths with those characters instead of guessing an escape);
- a timeout, and one log file per step (stdout and stderr together);
- success is judged by the outputs, not the exit code: MG5 exits 0 after a failed command, so its
  log is scanned for MG5's error markers (:func:`mg5_log_errors`), and the caller checks that the
  expected files exist, are non-empty and parse;
- a failure raises :class:`~darkscan.errors.ExternalProgramError` naming the command, exit code, log
  path and the log's last lines.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from darkscan.errors import ExternalProgramError, StudyError

__all__ = [
    "EXECUTORS",
    "ApptainerExecutor",
    "DockerExecutor",
    "Executor",
    "LocalExecutor",
    "PodmanExecutor",
    "StepResult",
    "default_delphes_home",
    "default_mg5_home",
    "log_tail",
    "make_executor",
    "mg5_log_errors",
    "run_step",
]

#: where the programs are inside the darkscan image (containers/Dockerfile)
IMAGE_MG5 = "/opt/MG5_aMC_v3_5_7"
IMAGE_DELPHES = "/opt/Delphes-3.5.1"

#: MG5 exits 0 when a command failed; these lines in its log say it did
# MG5 colours its error lines (an ANSI escape before "Error detected in ..."): skip those codes
_MG5_ERROR = re.compile(r"^(?:\x1b\[[0-9;]*m)*(Error\b.*|.*\bInvalidCmd\b.*|.*command not executed.*"
                        r"|.*interrupted in sub-command.*)$", re.MULTILINE)


def default_mg5_home() -> Path:
    """``$DARKSCAN_MG5_HOME``, else the folder ``.ci/install-mg5`` installs into."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Path(os.environ.get("DARKSCAN_MG5_HOME") or cache / "darkscan" / "MG5_aMC_v3_5_7")


def default_delphes_home() -> Path:
    """``$DARKSCAN_DELPHES_HOME``, else the folder ``.ci/install-delphes`` builds into."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Path(os.environ.get("DARKSCAN_DELPHES_HOME") or cache / "darkscan" / "Delphes-3.5.1")


@runtime_checkable
class Executor(Protocol):
    """Turns a program invocation (as seen inside the executor's environment) into a host argv."""

    #: ``local``, ``docker``, ``podman`` or ``apptainer``
    kind: str

    def mg5_command(self, script: str) -> list[str]:
        """argv running MG5_aMC on ``script`` (a file in the working folder)."""
        ...

    def delphes_command(self, card: Path, output: Path, hepmc: Path) -> list[str]:
        """argv running ``DelphesHepMC3 card output hepmc`` (absolute paths)."""
        ...

    def delphes_workdir(self) -> Path:
        """The folder DelphesHepMC3 runs in (stock cards are ``source``-d relative to it)."""
        ...

    def wrap(self, argv: Sequence[str], *, workdir: Path, binds: Sequence[Path]) -> list[str]:
        """The host argv that runs ``argv`` in ``workdir`` with the host folders ``binds`` visible."""
        ...

    def environment(self) -> dict[str, str]:
        """Environment variables for the host process."""
        ...

    def record(self) -> dict[str, Any]:
        """What a run's record says about where it ran (kind, paths, image tag and digest)."""
        ...


def _check_bindable(path: Path) -> str:
    """The absolute path; container bind syntax (``src:dst``, comma-separated lists) cannot carry ``:`` or
    ``,`` in a path, and runtimes take absolute paths only."""
    text = str(Path(path).absolute())
    if ":" in text or "," in text:
        raise StudyError(f"{text}: a folder with ':' or ',' in its path cannot be bound into a container "
                         "(the runtimes' bind syntax splits on them); rename it or set a study `output` without them")
    return text


@dataclasses.dataclass(frozen=True)
class LocalExecutor:
    """MG5_aMC and Delphes installed on this machine.

    ``mg5``: the MG5 folder (``bin/mg5_aMC``); ``None`` finds ``mg5_aMC`` on PATH, else the
    ``.ci/install-mg5`` folder. ``delphes``: the Delphes folder (``bin/DelphesHepMC3``, ``cards/``),
    likewise. ``python``: the interpreter for MG5 (it needs ``six``).
    """

    mg5: Path | None = None
    delphes: Path | None = None
    python: str | None = None
    kind: str = dataclasses.field(default="local", init=False)

    def mg5_home(self) -> Path:
        if self.mg5 is not None:
            home = Path(self.mg5).expanduser()
        elif (found := shutil.which("mg5_aMC")) is not None:
            home = Path(found).resolve().parent.parent
        else:
            home = default_mg5_home()
        if not (home / "bin" / "mg5_aMC").is_file():
            raise StudyError(f"generator.mg5_path: no MG5_aMC at {home} (expected bin/mg5_aMC); install it "
                             "(.ci/install-mg5 does, from ../shared/dist) or choose a container executor")
        return home

    def delphes_home(self) -> Path:
        if self.delphes is not None:
            home = Path(self.delphes).expanduser()
        elif (found := shutil.which("DelphesHepMC3")) is not None:
            home = Path(found).resolve().parent.parent
        else:
            home = default_delphes_home()
        if not (home / "bin" / "DelphesHepMC3").is_file():
            raise StudyError(f"detector.delphes_path: no Delphes at {home} (expected bin/DelphesHepMC3); build it "
                             "(.ci/install-delphes does) or use detector.simulation: fast")
        return home

    def _python(self) -> str:
        return self.python or shutil.which("python3") or sys.executable

    def mg5_command(self, script: str) -> list[str]:
        return [self._python(), str(self.mg5_home() / "bin" / "mg5_aMC"), script]

    def delphes_command(self, card: Path, output: Path, hepmc: Path) -> list[str]:
        return [str(self.delphes_home() / "bin" / "DelphesHepMC3"), str(card), str(output), str(hepmc)]

    def delphes_workdir(self) -> Path:
        return self.delphes_home()

    def wrap(self, argv: Sequence[str], *, workdir: Path, binds: Sequence[Path]) -> list[str]:
        return [str(a) for a in argv]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        try:
            shim = self.mg5_home() / "darkscan-bin"
        except StudyError:
            return env
        if shim.is_dir():
            # Debian has no `ulimit` program; MG5 then combines events in parts and can write a wrong
            # <init> σ for runs with ≥ 80 channels (.ci/install-mg5 makes the shim)
            env["PATH"] = f"{shim}{os.pathsep}{env.get('PATH', '')}"
        return env

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "python": self._python()}
        try:
            out["mg5"] = str(self.mg5_home())
        except StudyError:
            out["mg5"] = None
        return out


@dataclasses.dataclass(frozen=True)
class _ContainerExecutor:
    """Shared by the container runtimes: the programs are at fixed places inside the image."""

    image: str
    runtime: str | None = None  # the runtime's program (default: the kind's name on PATH)
    #: host folders bound into every step besides the step's own (on a cluster: the study folder, the
    #: output folder and the task's scratch, which clusters do not bind by default)
    binds: tuple[Path, ...] = ()
    kind: str = dataclasses.field(default="container", init=False)

    def _runtime(self) -> str:
        program = self.runtime or self.kind
        found = shutil.which(program)
        if found is None:
            raise ExternalProgramError(f"{program}: not found on PATH (generator.executor is {self.kind!r})")
        return found

    def mg5_command(self, script: str) -> list[str]:
        # the image puts a `ulimit` program and MG5's bin/ on PATH (containers/Dockerfile)
        return ["python3", f"{IMAGE_MG5}/bin/mg5_aMC", script]

    def delphes_command(self, card: Path, output: Path, hepmc: Path) -> list[str]:
        return [f"{IMAGE_DELPHES}/bin/DelphesHepMC3", str(card), str(output), str(hepmc)]

    def delphes_workdir(self) -> Path:
        return Path(IMAGE_DELPHES)

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def record(self) -> dict[str, Any]:
        return {"kind": self.kind, "image": self.image, "image_digest": self.image_digest()}

    def image_digest(self) -> str | None:
        """The image's content digest (``sha256:…``) as the runtime reports it; None if it cannot tell."""
        try:
            result = subprocess.run([self._runtime(), "image", "inspect", "--format", "{{.Id}}", self.image],
                                    capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired, ExternalProgramError):
            return None
        return result.stdout.strip() or None if result.returncode == 0 else None


@dataclasses.dataclass(frozen=True)
class DockerExecutor(_ContainerExecutor):
    """``docker run --rm`` the image, the working folders bound at the same paths, as the calling user."""

    kind: str = dataclasses.field(default="docker", init=False)

    def wrap(self, argv: Sequence[str], *, workdir: Path, binds: Sequence[Path]) -> list[str]:
        out = [self._runtime(), "run", "--rm", "--network", "none"]
        if hasattr(os, "getuid"):
            out += ["--user", f"{os.getuid()}:{os.getgid()}", "--env", "HOME=/tmp"]
        for path in dict.fromkeys(_check_bindable(p) for p in [*binds, *self.binds]):
            out += ["--volume", f"{path}:{path}"]
        out += ["--workdir", _check_bindable(workdir), self.image]
        return out + [str(a) for a in argv]


@dataclasses.dataclass(frozen=True)
class PodmanExecutor(_ContainerExecutor):
    """``podman run --rm``; rootless podman maps the calling user to root inside, so no ``--user``."""

    kind: str = dataclasses.field(default="podman", init=False)

    def wrap(self, argv: Sequence[str], *, workdir: Path, binds: Sequence[Path]) -> list[str]:
        out = [self._runtime(), "run", "--rm", "--network", "none"]
        for path in dict.fromkeys(_check_bindable(p) for p in [*binds, *self.binds]):
            out += ["--volume", f"{path}:{path}"]
        out += ["--workdir", _check_bindable(workdir), self.image]
        return out + [str(a) for a in argv]


@dataclasses.dataclass(frozen=True)
class ApptainerExecutor(_ContainerExecutor):
    """``apptainer exec --bind …`` a ``.sif`` image (or any image reference Apptainer takes)."""

    kind: str = dataclasses.field(default="apptainer", init=False)

    def wrap(self, argv: Sequence[str], *, workdir: Path, binds: Sequence[Path]) -> list[str]:
        out = [self._runtime(), "exec", "--cleanenv", "--no-home"]
        for path in dict.fromkeys(_check_bindable(p) for p in [*binds, *self.binds]):
            out += ["--bind", f"{path}:{path}"]
        out += ["--pwd", _check_bindable(workdir), self.image]
        return out + [str(a) for a in argv]

    def image_digest(self) -> str | None:
        """sha256 of the ``.sif`` file (Apptainer has no daemon to ask)."""
        from darkscan.io import sha256_file

        path = Path(self.image)
        return f"sha256:{sha256_file(path)}" if path.is_file() else None


EXECUTORS = ("local", "docker", "podman", "apptainer")


def make_executor(kind: str, *, image: str | None = None, mg5: Path | None = None,
                  delphes: Path | None = None, binds: Sequence[Path] = ()) -> Executor:
    """The executor of ``kind`` (one of :data:`EXECUTORS`); a container one also binds ``binds``."""
    if kind == "local":
        return LocalExecutor(mg5=mg5, delphes=delphes)
    classes = {"docker": DockerExecutor, "podman": PodmanExecutor, "apptainer": ApptainerExecutor}
    if kind not in classes:
        raise StudyError(f"generator.executor: {kind!r} is not an executor; allowed: {', '.join(EXECUTORS)}")
    if not image:
        raise StudyError(f"generator.image: the {kind} executor needs an image (e.g. darkscan:0.1.0, or a .sif "
                         "file for apptainer; see containers/README.md)")
    return classes[kind](image=image, binds=tuple(Path(b) for b in binds))


@dataclasses.dataclass(frozen=True)
class StepResult:
    command: list[str]
    returncode: int
    log: Path
    seconds: float


def log_tail(log: Path, lines: int = 15) -> str:
    try:
        text = Path(log).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def mg5_log_errors(text: str) -> list[str]:
    """MG5's own error lines in a log (it exits 0 after a failed command)."""
    return [m.group(1).strip() for m in _MG5_ERROR.finditer(text)]


def run_step(executor: Executor, argv: Sequence[str], *, workdir: Path, log: Path, timeout_s: float,
             binds: Sequence[Path] = (), mg5_log: bool = False,
             env: Mapping[str, str] | None = None) -> StepResult:
    """Run one step through ``executor``; raise :class:`ExternalProgramError` when it failed.

    A step failed when it exits non-zero, runs past ``timeout_s``, or (``mg5_log``) its log has an MG5
    error line. Checking the outputs it should have made is the caller's job.
    """
    import time

    command = executor.wrap(argv, workdir=workdir, binds=binds)
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    shown = " ".join(command)
    with open(log, "w", encoding="utf-8") as handle:
        handle.write(f"# darkscan: {command!r}\n# in {workdir}\n")
        handle.flush()
        try:
            # a session of its own: on a timeout or an interruption the whole group goes (MG5 starts
            # madevent jobs of its own, which would outlive it)
            process = subprocess.Popen(command, cwd=workdir if executor.kind == "local" else None, stdout=handle,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=dict(env) if env is not None else executor.environment(),
                                       start_new_session=True)
        except OSError as exc:
            raise ExternalProgramError(f"{shown}: could not start ({exc.strerror}); log {log}") from None
        previous = _raise_on_sigterm()
        try:
            returncode = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _stop(process)
            raise ExternalProgramError(f"{shown}: ran past its {timeout_s:g} s timeout and was stopped; "
                                       f"log {log}:\n{log_tail(log)}") from None
        except BaseException:
            _stop(process)
            raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    seconds = time.perf_counter() - start
    if returncode != 0:
        raise ExternalProgramError(f"{shown}: exit code {returncode}; log {log}:\n{log_tail(log)}")
    if mg5_log:
        errors = mg5_log_errors(log.read_text(encoding="utf-8", errors="replace"))
        if errors:
            raise ExternalProgramError(f"{shown}: exit code 0 but MG5 reports {errors[0]!r}; log {log}:\n{log_tail(log)}")
    return StepResult(command=command, returncode=returncode, log=log, seconds=seconds)


def _raise_on_sigterm() -> Any:
    """While a step runs, SIGTERM (``kill``, a batch system's cancel) raises SystemExit, so the step's own
    session is stopped too instead of being left running; returns the handler to restore (None off the
    main thread, where Python cannot set one)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, handler)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """TERM the step's process group, KILL it if still there after 10 s."""
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 30.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue
