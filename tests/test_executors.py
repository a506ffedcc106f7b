"""Executors: argv lists for all four runtimes, hostile names, failures that name command, exit code and log."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from darkscan.errors import ExternalProgramError, StudyError
from darkscan.gen.executors import (
    ApptainerExecutor,
    DockerExecutor,
    Executor,
    LocalExecutor,
    PodmanExecutor,
    make_executor,
    mg5_log_errors,
    run_step,
)

HOSTILE = ["x; rm -rf ~", "it's \"quoted\"", "$(touch PWNED)", "`touch PWNED`", "a && touch PWNED", "*"]


def _recorder(tmp_path: Path) -> Path:
    """A stand-in container runtime that records the argv it was given (and does nothing else)."""
    program = tmp_path / "runtime-recorder"
    program.write_text(f"#!{sys.executable}\nimport json, sys\n"
                       f"open({str(tmp_path / 'argv.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("cls", [DockerExecutor, PodmanExecutor, ApptainerExecutor])
def test_container_argv_keeps_hostile_names_as_single_arguments(tmp_path: Path, cls: type, name: str) -> None:
    work = tmp_path / name / "madgraph"
    work.mkdir(parents=True)
    executor = cls(image="darkscan:test", runtime=str(_recorder(tmp_path)))
    assert isinstance(executor, Executor)
    argv = executor.mg5_command("madgraph.mg5")
    result = run_step(executor, argv, workdir=work, log=work / "step.log", timeout_s=60, binds=[work])
    received = json.loads((tmp_path / "argv.json").read_text())
    assert received == result.command[1:]
    # the program and its arguments arrive unchanged, after the image
    assert received[-len(argv):] == argv
    assert received[-len(argv) - 1] == "darkscan:test"
    # the hostile folder is one argument (a bind spec or the working folder), never split or interpreted
    assert str(work) in received or f"{work}:{work}" in received
    assert not any(p.name == "PWNED" for p in tmp_path.rglob("*"))
    assert not Path("PWNED").exists()


def test_container_argv_shapes() -> None:
    work = Path("/data/study/samples/s/p/madgraph/run-00000")
    docker = DockerExecutor(image="img:1", runtime=sys.executable).wrap(["prog", "arg"], workdir=work, binds=[work])
    assert docker[1:4] == ["run", "--rm", "--network"] and "--volume" in docker
    assert docker[docker.index("--workdir") + 1] == str(work) and docker[-3:] == ["img:1", "prog", "arg"]
    assert docker[docker.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"
    podman = PodmanExecutor(image="img:1", runtime=sys.executable).wrap(["prog"], workdir=work, binds=[work])
    assert "--user" not in podman and podman[podman.index("--volume") + 1] == f"{work}:{work}"
    apptainer = ApptainerExecutor(image="/x/darkscan.sif", runtime=sys.executable).wrap(["prog"], workdir=work,
                                                                                       binds=[work])
    assert apptainer[1] == "exec" and apptainer[apptainer.index("--bind") + 1] == f"{work}:{work}"
    assert apptainer[apptainer.index("--pwd") + 1] == str(work) and apptainer[-2:] == ["/x/darkscan.sif", "prog"]


@pytest.mark.parametrize("bad", ["/data/a:b/run", "/data/a,b/run"])
@pytest.mark.parametrize("cls", [DockerExecutor, PodmanExecutor, ApptainerExecutor])
def test_bind_syntax_characters_are_refused_not_escaped(cls: type, bad: str) -> None:
    with pytest.raises(StudyError, match="cannot be bound"):
        cls(image="img", runtime=sys.executable).wrap(["prog"], workdir=Path(bad), binds=[Path(bad)])


@pytest.mark.parametrize("name", HOSTILE)
def test_local_runs_hostile_names_as_plain_arguments(tmp_path: Path, name: str) -> None:
    work = tmp_path / name
    work.mkdir()
    probe = "import json, os, sys; json.dump([os.getcwd(), sys.argv[1:]], open('seen.json', 'w'))"
    run_step(LocalExecutor(), [sys.executable, "-c", probe, name], workdir=work, log=work / "step.log",
             timeout_s=60)
    cwd, args = json.loads((work / "seen.json").read_text())
    assert Path(cwd) == work and args == [name]
    assert not any(p.name == "PWNED" for p in tmp_path.rglob("*"))


def test_failure_names_command_exit_code_log_and_tail(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "step.log"
    script = "import sys; print('line one'); print('the real reason', file=sys.stderr); sys.exit(3)"
    with pytest.raises(ExternalProgramError) as caught:
        run_step(LocalExecutor(), [sys.executable, "-c", script], workdir=tmp_path, log=log, timeout_s=60)
    message = str(caught.value)
    assert "exit code 3" in message and str(log) in message and "the real reason" in message
    assert sys.executable in message


def test_timeout_stops_the_step(tmp_path: Path) -> None:
    with pytest.raises(ExternalProgramError, match="timeout"):
        run_step(LocalExecutor(), [sys.executable, "-c", "import time; time.sleep(30)"], workdir=tmp_path,
                 log=tmp_path / "step.log", timeout_s=0.5)


def test_mg5_exit_zero_with_an_error_in_its_log_is_a_failure(tmp_path: Path) -> None:
    # what MG5 3.5.7 prints for `generate p p > zz j` (and exits 0)
    printed = ("INFO: Checking for minimal orders which gives processes.\n"
               "Command \"generate p p > zz j\" interrupted with error:\n"
               "InvalidCmd : No particle zz in model\n")
    script = f"import sys; sys.stdout.write({printed!r})"
    with pytest.raises(ExternalProgramError, match="MG5 reports 'InvalidCmd : No particle zz in model'"):
        run_step(LocalExecutor(), [sys.executable, "-c", script], workdir=tmp_path, log=tmp_path / "mg5.log",
                 timeout_s=60, mg5_log=True)


def test_mg5_log_markers() -> None:
    assert mg5_log_errors("Error detected in \"launch\"\nrest") == ['Error detected in "launch"']
    assert mg5_log_errors("The command \"output mg5\" was not executed: command not executed") != []
    assert mg5_log_errors("Command \"launch mg5\" interrupted in sub-command:\n\"survey\"") != []
    # ordinary MG5 chatter is not an error
    assert mg5_log_errors("INFO: No errors found\nCross-section :   45.69 +- 0.962 pb\n") == []


def test_make_executor_needs_an_image_for_containers() -> None:
    with pytest.raises(StudyError, match="needs an image"):
        make_executor("docker")
    with pytest.raises(StudyError, match="not an executor"):
        make_executor("singularity", image="x")
    assert make_executor("apptainer", image="x.sif").kind == "apptainer"


def test_local_without_mg5_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(StudyError, match="no MG5_aMC at"):
        LocalExecutor(mg5=tmp_path).mg5_command("madgraph.mg5")


def test_timeout_stops_the_whole_process_group(tmp_path: Path) -> None:
    # a step that starts a child of its own, as MG5 starts madevent jobs
    script = ("import subprocess, sys, time; "
              "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
              "open('child.pid', 'w').write(str(child.pid)); time.sleep(60)")
    with pytest.raises(ExternalProgramError, match="timeout"):
        run_step(LocalExecutor(), [sys.executable, "-c", script], workdir=tmp_path, log=tmp_path / "step.log",
                 timeout_s=2)
    pid = int((tmp_path / "child.pid").read_text())
    import time

    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        # a zombie still answers kill(0) until reaped by init: look at its state
        state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "X"
        if state in ("Z", "X"):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the step's child {pid} outlived the timeout")


def test_sigterm_to_darkscan_stops_the_step_too(tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    # darkscan (a child Python here) runs a step that would sleep for a minute; TERM darkscan
    runner = (f"import sys; sys.path[:0] = {sys.path!r}\n"
              "from pathlib import Path\n"
              "from darkscan.gen.executors import LocalExecutor, run_step\n"
              "step = ['" + sys.executable + "', '-c', "
              "\"import os, time; open('step.pid', 'w').write(str(os.getpid())); time.sleep(60)\"]\n"
              f"run_step(LocalExecutor(), step, workdir=Path({str(tmp_path)!r}), log=Path({str(tmp_path / 'step.log')!r}),"
              " timeout_s=120)\n")
    darkscan = subprocess.Popen([sys.executable, "-c", runner])
    pid_file = tmp_path / "step.pid"
    for _ in range(300):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.1)
    step = int(pid_file.read_text())
    darkscan.send_signal(signal.SIGTERM)
    assert darkscan.wait(timeout=60) == 128 + signal.SIGTERM
    stat = Path(f"/proc/{step}/stat")
    for _ in range(100):
        if not stat.exists() or stat.read_text().split()[2] in ("Z", "X"):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the step {step} outlived darkscan's SIGTERM")


@pytest.mark.parametrize("cls", [DockerExecutor, PodmanExecutor, ApptainerExecutor])
def test_relative_folders_are_bound_as_absolute_paths(cls: type, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    argv = cls(image="img", runtime=sys.executable).wrap(["prog"], workdir=Path("out/run"), binds=[Path("out/run")])
    assert f"{tmp_path}/out/run:{tmp_path}/out/run" in argv and str(tmp_path / "out" / "run") in argv
