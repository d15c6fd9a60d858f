"""The ``ganpo`` command line (click).

Every data error (bad coordinates, unknown CRS, missing file or column) ends the command with
one line on stderr, ``Error: <what is wrong and how to fix it>``, and exit code 1; usage errors
(bad option values, checked by click types) exit with 2, as click does. An unexpected error
is one line too, asking for a report; ``ganpo --debug ...`` shows its traceback. Warnings are
one line each on stderr (``Warning: ...``). Ctrl-C exits with 1, SIGTERM with 143, both after
removing the temporary file of an output being written.
"""

from __future__ import annotations

import atexit
import ctypes
import faulthandler
import importlib
import os
import signal
import sys
import threading
import warnings
from typing import Any, NoReturn, TextIO

import click

from ganpo_geo._commands import _debug, _first_line
from ganpo_geo._errors import GanpoError

__all__ = ["COMMANDS", "main", "run"]


def _short_help(first_line: str, limit: int) -> str:
    """The help line click would list for a command with this help text (the command unloaded)."""
    return click.Command(None, help=first_line).get_short_help_str(limit)

#: Every subcommand: name -> (module under ganpo_geo._commands, object in it, first line of its help,
#: shortened in ``ganpo --help``).
#: A command's module is imported only when that command runs (or its own --help is asked for), so
#: ``ganpo --version``, ``ganpo --help`` and ``ganpo site-check`` import only what they need
#: (click's documented LazyGroup pattern). tests/test_cli.py checks each short help against the command's own.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "convert": ("convert", "convert_cmd", "Convert one coordinate between WGS84/CGCS2000, GCJ-02 and BD-09."),
    "export": (
        "data",
        "export_cmd",
        ("Write the layers in use in official field names: GBK shapefiles with .cpg, a GeoPackage, a layers.toml."),
    ),
    "industries": ("vocab", "industries_cmd", "List the industries: keys, names, aliases and GB/T 4754-2017 codes."),
    "layers": ("data", "layers_cmd", "List the bundled layers: features, CRS, source and real/reference status."),
    "map": ("map", "map_cmd", "Write an HTML map: zoning, rivers, tp, trace, site (or all of them into a folder)."),
    "river": ("river", "river_group", "Navigate the Poyang river network from a point (NLDI-style)."),
    "rules": ("vocab", "rules_cmd", "List the zoning rules, optionally for one unit and/or one industry."),
    "site-check": (
        "site",
        "site_check_cmd",
        ("May a project go here? Unit, rules, red line, river, phosphorus and a verdict."),
    ),
    "stations": (
        "stations",
        "stations_cmd",
        "List the monitoring stations of the phosphorus model (illustrative loads).",
    ),
    "summary": (
        "data",
        "summary_cmd",
        "Report what the bundled data holds: province, cities, counties, rivers, lakes.",
    ),
    "tp": ("tp", "tp_group", "Poyang Lake total phosphorus: trace, scenarios, calibration (illustrative inputs)."),
    "validate": ("validate", "validate_cmd", "Check a zoning (control-unit) file; exit 0 only if nothing is wrong."),
}


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Warnings meant for users (UserWarning: ganpo_geo's own) as one line; library noise only with --debug."""
    ctx = click.get_current_context(silent=True)
    if not issubclass(category, UserWarning) and not (ctx is not None and _debug(ctx)):
        return
    click.echo(f"Warning: {_first_line(message) if isinstance(message, Warning) else message}", err=True)


class _GanpoGroup(click.Group):
    """Turns every error into one clean line: ganpo_geo's own (exit 1) and unexpected ones.

    Subcommands are loaded lazily from :data:`COMMANDS` (click's LazyGroup pattern): listing them
    (``ganpo --help``) uses their one-line help and imports nothing.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module, attr, _ = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(f"ganpo_geo._commands.{module}"), attr)
            if not isinstance(command, click.Command):  # pragma: no cover - a wrong COMMANDS entry
                msg = f"ganpo_geo._commands.{module}.{attr} is not a click command"
                raise TypeError(msg)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``ganpo --help`` from :data:`COMMANDS`, without importing any command.

        A command added directly (``@main.command``) is listed too, with its own short help.
        """
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in COMMANDS and name not in self.commands:
                rows.append((name, _short_help(COMMANDS[name][2], limit)))
            else:
                rows.append((name, self.commands[name].get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except GanpoError as exc:
                raise click.ClickException(str(exc)) from None
            except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
                raise
            except OSError as exc:  # permission denied, disk full, ... while reading or writing
                if _debug(ctx):
                    raise
                where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
                raise click.ClickException(f"{exc.strerror or _first_line(exc)}{where}") from None
            except Exception as exc:
                if _debug(ctx):
                    raise
                msg = (
                    f"unexpected error ({type(exc).__name__}: {_first_line(exc)[:300]}); please report it to the "
                    "ganpo_geo developers with the command and the output of `ganpo --debug <the same command>`"
                )
                raise click.ClickException(msg) from None


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``ganpo --version``: the package metadata is read only when asked for (it costs ~30 ms to import)."""
    if not value or ctx.resilient_parsing:
        return
    version = importlib.import_module("ganpo_geo._version").__version__
    click.echo(f"ganpo, version {version}")
    ctx.exit()


@click.group(cls=_GanpoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error (also: GANPO_DEBUG=1).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Environmental zoning and watershed analysis for Jiangxi (Gan River, Poyang Lake)."""
    ctx.meta["ganpo_debug"] = debug
    _stop_on_sigterm()
    _report_crashes()
    _keep_freed_memory()


def _stop_on_sigterm() -> None:
    """End on SIGTERM (``kill``, a job scheduler, ``docker stop``) as on Ctrl-C, with exit code 143.

    Python's default for SIGTERM ends the process at once, leaving the hidden temporary file of
    an output being written; raising ``SystemExit`` instead runs the clean-up (the previous
    output stays, the temporary file goes). A SIGTERM ignored or handled by the caller is left so.
    """
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)


def _report_crashes() -> None:
    """A crash in native code (GEOS, GDAL, PROJ) prints where each thread was, to stderr.

    Without it such a crash ends the process with only "Aborted" or "Segmentation fault";
    the Python stacks tell a user, or a bug report, which step of the check it was in.
    """
    if not faulthandler.is_enabled():
        try:
            faulthandler.enable()
        except (ValueError, OSError, AttributeError):  # a stderr that is not a file (embedded, tests)
            pass


_M_TOP_PAD = -2  # glibc's mallopt option (malloc.h)
_TOP_PAD_BYTES = 256 << 20


def _keep_freed_memory() -> bool:
    """Let glibc keep 256 MiB of freed heap for reuse instead of returning it to the kernel at once.

    A batch allocates and frees arrays of the same sizes for every chunk. glibc's default hands
    freed heap back to the kernel, and the next chunk faults the pages in again. On a virtual
    machine whose host reclaims free guest memory, those faults are costly. Measured on the 2-core
    development VM, 1,000,000 rows CSV to CSV, after another process had run and freed a few GB:
    10.6 and 11.2 s with this setting, against 13.8 and 14.9 s without (peak RSS +30 MB). Only the
    ``ganpo`` process is tuned (a library does not change its host's allocator); its memory is
    returned when the command ends. Other C libraries (musl, macOS, Windows) are left as they are.

    Returns
    -------
    bool
        Whether the setting was made.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_TOP_PAD, _TOP_PAD_BYTES))


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run() -> NoReturn:
    """The ``ganpo`` program: :func:`main`, then an exit that does not free what the process holds.

    After a command, Python would free the layers, their indexes and every GEOS geometry one by
    one, and unload every module: about 0.26 s measured on the 2-core development VM, for a
    batch of 100,000 rows as for 1,000,000, and for nothing, since the process is ending. So,
    as a normal exit does, other threads are waited for, the exit handlers run (``atexit``:
    logging, temporary folders, a dask cluster) and the standard streams are flushed; then the
    process ends at once (``os._exit``) with the command's exit code. An uncaught exception
    (``--debug``) ends the normal way, with its traceback.
    """
    try:
        main.main()
    except SystemExit as exc:
        code = exc.code
    else:  # pragma: no cover - click's standalone mode always ends with SystemExit
        code = 0
    if code is not None and not isinstance(code, int):  # sys.exit("text"): printed, exit code 1
        print(code, file=sys.stderr)
        code = 1
    _exit_now(code or 0)


def _exit_now(code: int) -> NoReturn:
    """End the process as a normal exit would, without freeing its objects first (see :func:`run`)."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``ganpo ... | head``) or a closed stream
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
