"""`files(root)` and the `Root` checks under it: what the tools do inside the root, and that nothing escapes."""

from __future__ import annotations

import contextlib
import importlib
import io
import itertools
import os
import random
import socket
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from agentkit_tools import files
from agentkit_tools._paths import Root
from agentkit_tools.files import MAX_ENTRIES, MAX_MATCHES

from agentkit import ModelRetry, Tool, UserError

SECRET = "TOP-SECRET-7f3a9c"
"""The content of every file outside the root: no tool result may ever contain it."""


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    (folder / "deeper").mkdir(parents=True)
    (folder / "secret.txt").write_text(f"{SECRET}\n")
    (folder / "deeper" / "secret.txt").write_text(f"{SECRET} again\n")
    return folder


@pytest.fixture
def root(tmp_path: Path, outside: Path) -> Path:
    folder = tmp_path / "root"
    (folder / "docs" / "deep").mkdir(parents=True)
    (folder / "notes.txt").write_text("alpha\nbeta\ngamma\ndelta\n")
    (folder / "docs" / "guide.md").write_text("# Guide\nSay hello to Beta.\n")
    (folder / "docs" / "deep" / "x.txt").write_text("nothing here\n")
    (folder / "binary.bin").write_bytes(b"\x00\x01\x02beta")
    (folder / "link_file").symlink_to(outside / "secret.txt")
    (folder / "link_dir").symlink_to(outside)
    (folder / "docs" / "up").symlink_to("../../outside")
    (folder / "loop").symlink_to("loop")
    (folder / "alias.txt").symlink_to("notes.txt")  # a link that stays inside is followed
    os.mkfifo(folder / "fifo")
    return folder


def tools_by_name(root: Path, **options: Any) -> dict[str, Tool[..., Any]]:
    return {t.name: t for t in files(root, **options)}


def refused(function: Callable[..., object], *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ModelRetry) as error:
        function(*args, **kwargs)
    return error.value.message


def test_the_read_tools_by_default_and_the_write_tools_on_request(root: Path) -> None:
    assert list(tools_by_name(root)) == ["list_files", "read_file", "search_files"]
    tools = tools_by_name(root, write=True)
    assert list(tools) == ["list_files", "read_file", "search_files", "write_file", "edit_file"]
    assert [t.requires_approval for t in tools.values()] == [False, False, False, True, True]
    unattended = tools_by_name(root, write=True, require_approval=False)
    assert not any(t.requires_approval for t in unattended.values())
    for tool in tools.values():  # the model reads a description of every argument
        assert tool.description
        assert all(p.get("description") for p in tool.parameters["properties"].values()), tool.name


def test_list_files(root: Path) -> None:
    listing = tools_by_name(root)["list_files"]

    def size(name: str) -> int:
        return (root / name).stat().st_size

    assert listing().splitlines() == [
        "alias.txt (symbolic link)",
        f"binary.bin ({size('binary.bin')} bytes)",
        "docs/",
        "fifo (special file)",
        "link_dir (symbolic link)",
        "link_file (symbolic link)",
        "loop (symbolic link)",
        f"notes.txt ({size('notes.txt')} bytes)",
    ]
    assert listing("docs").splitlines() == [
        "deep/",
        f"guide.md ({size('docs/guide.md')} bytes)",
        "up (symbolic link)",
    ]
    everything = listing(".", recursive=True).splitlines()
    assert f"docs/deep/x.txt ({size('docs/deep/x.txt')} bytes)" in everything
    assert "docs/up (symbolic link)" in everything
    assert not any("secret" in line for line in everything)
    assert listing("docs/deep/").startswith("x.txt")
    (root / "empty").mkdir()
    assert listing("empty") == "'empty' is empty."
    assert "No folder 'missing'" in refused(listing, "missing")
    assert "not a folder" in refused(listing, "notes.txt/x")


def test_list_files_stops_after_max_entries(root: Path) -> None:
    many = root / "many"
    many.mkdir()
    for i in range(MAX_ENTRIES + 5):
        (many / f"f{i:04d}").touch()
    tools = tools_by_name(root)
    for recursive in (False, True):
        lines = tools["list_files"]("many", recursive=recursive).splitlines()
        assert len(lines) == MAX_ENTRIES + 1
        assert lines[-1] == f"[stopped after {MAX_ENTRIES} entries: list a sub-folder]"


def test_read_file_whole_and_by_lines(root: Path) -> None:
    read = tools_by_name(root)["read_file"]
    assert read("notes.txt") == "alpha\nbeta\ngamma\ndelta\n"
    assert read("./docs//guide.md").startswith("# Guide")
    assert read("alias.txt") == read("notes.txt")
    assert read("notes.txt", start_line=2, end_line=3) == "beta\ngamma\n"
    assert read("notes.txt", start_line=4) == "delta\n"
    assert "has only 4 lines" in refused(read, "notes.txt", start_line=9)
    assert "numbered from 1" in refused(read, "notes.txt", start_line=0)
    assert "numbered from 1" in refused(read, "notes.txt", start_line=3, end_line=2)
    assert "binary file" in refused(read, "binary.bin")
    assert "is a folder" in refused(read, "docs")
    assert "folder itself" in refused(read, ".")
    assert "No file 'nope.txt'" in refused(read, "nope.txt")


def test_read_file_refuses_more_than_max_read_bytes(root: Path) -> None:
    (root / "big.txt").write_text("".join(f"line {i:03d}\n" for i in range(1, 201)))  # 9 bytes a line
    read = tools_by_name(root, max_read_bytes=100)["read_file"]
    message = refused(read, "big.txt")
    assert (
        f"{(root / 'big.txt').stat().st_size} bytes, more than the 100" in message
        and "start_line and end_line" in message
    )
    assert read("big.txt", start_line=150, end_line=152) == "line 150\nline 151\nline 152\n"
    assert "start_line=10, end_line=20" in refused(read, "big.txt", start_line=10, end_line=60)
    (root / "long.txt").write_text("x" * 500 + "\nshort\n")
    assert read("long.txt", start_line=2) == "short\n"  # a long line before the range is skipped whole
    assert "that line is too long" in refused(read, "long.txt", start_line=1, end_line=1)


def test_read_file_stops_scanning_far_into_a_file(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module("agentkit_tools.files")
    monkeypatch.setattr(module, "MAX_SCAN_BYTES", 20)
    assert "too far into the file" in refused(tools_by_name(root)["read_file"], "notes.txt", start_line=4)


class CountingFile(io.BytesIO):
    """A file that counts the bytes `readline` hands out."""

    given = 0

    def readline(self, size: int | None = -1, /) -> bytes:
        line = super().readline(size)
        self.given += len(line)
        return line


def test_read_file_stops_scanning_inside_a_long_line(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module("agentkit_tools.files")
    monkeypatch.setattr(module, "MAX_SCAN_BYTES", 1000)
    file = CountingFile(b"a" * 100_000)  # one long line with no end, before the range asked for
    reader = module._Reader(Root(root), 100)
    with pytest.raises(ModelRetry, match="too far into the file"):
        reader._lines(file, "big.log", 2, None)
    assert 1000 < file.given <= 1000 + 101  # stopped within one read of the cap, not at the line's end


def test_search_files(root: Path) -> None:
    search = tools_by_name(root)["search_files"]
    assert search("beta").splitlines() == ["notes.txt:2: beta"]  # not the binary file, not through links
    assert search("beta", ignore_case=True).splitlines() == [
        "notes.txt:2: beta",
        "docs/guide.md:2: Say hello to Beta.",
    ]
    assert search("hello", path="docs") == "docs/guide.md:2: Say hello to Beta."
    assert search("nothing", path="docs/deep") == "docs/deep/x.txt:1: nothing here"
    assert search("absent") == "No line contains 'absent'."
    assert "non-empty text of one line" in refused(search, "")
    assert "non-empty text of one line" in refused(search, "a\nb")
    assert SECRET not in search(SECRET[:6])


def test_search_files_stops_after_max_matches_and_skips_big_files(root: Path) -> None:
    (root / "many.txt").write_text("hit\n" * (MAX_MATCHES + 10))
    (root / "huge.txt").write_text("hit\n" * 150)  # more than ten reads of 50 bytes
    search = tools_by_name(root, max_read_bytes=50)["search_files"]
    lines = search("hit").splitlines()
    assert len(lines) == MAX_MATCHES + 1 and lines[-1].startswith("[stopped after")
    assert not any(line.startswith("huge.txt") for line in lines)


def test_write_file(root: Path) -> None:
    write = tools_by_name(root, write=True)["write_file"]
    assert write("new/sub/out.txt", "héllo\n") == "Wrote 7 bytes to new/sub/out.txt."
    assert (root / "new" / "sub" / "out.txt").read_text() == "héllo\n"
    (root / "notes.txt").chmod(0o640)
    write("notes.txt", "replaced")
    assert (root / "notes.txt").read_text() == "replaced"
    assert (root / "notes.txt").stat().st_mode & 0o777 == 0o640  # the mode is kept
    assert write("alias.txt", "via alias") and (root / "notes.txt").read_text() == "via alias"
    assert "not a regular file" in refused(write, "fifo", "x")
    assert "not a regular file" in refused(write, "docs", "x")
    assert "at most 10" in refused(
        tools_by_name(root, write=True, max_write_bytes=10)["write_file"], "a", "x" * 11
    )
    assert not [p for p in root.rglob("*.tmp")]  # no temporary file is left behind


def test_a_failed_write_leaves_no_temporary_file(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(ModelRetry, match="No space left on device"):
        tools_by_name(root, write=True)["write_file"]("notes.txt", "x")
    assert sorted(p.name for p in root.iterdir() if p.name.endswith(".tmp")) == []


def test_edit_file(root: Path) -> None:
    tools = tools_by_name(root, write=True)
    edit = tools["edit_file"]
    assert edit("notes.txt", "beta", "BETA") == "Replaced 1 occurrence(s) in notes.txt."
    assert (root / "notes.txt").read_text() == "alpha\nBETA\ngamma\ndelta\n"
    (root / "twice.txt").write_text("a a a")
    assert "occurs 3 times" in refused(edit, "twice.txt", "a", "b")
    assert edit("twice.txt", "a", "b", replace_all=True) == "Replaced 3 occurrence(s) in twice.txt."
    assert (root / "twice.txt").read_text() == "b b b"
    assert "not in 'notes.txt'" in refused(edit, "notes.txt", "zeta", "x")
    assert "cannot be empty" in refused(edit, "notes.txt", "", "x")
    (root / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    assert "not UTF-8" in refused(edit, "latin.txt", "caf", "x")
    small = tools_by_name(root, write=True, max_write_bytes=12)["edit_file"]
    assert "files above 12" in refused(small, "notes.txt", "alpha", "x")
    (root / "ten.txt").write_text("0123456789")
    assert "would have 19 bytes" in refused(small, "ten.txt", "0", "0000000000")
    (root / "accents.txt").write_text("é" * 4)  # 8 bytes; each é (2 bytes) becomes € (3 bytes)
    assert "would have 24 bytes" in refused(small, "accents.txt", "é", "€€", replace_all=True)
    assert edit("accents.txt", "é", "€", replace_all=True) == "Replaced 4 occurrence(s) in accents.txt."
    assert (root / "accents.txt").read_text() == "€" * 4


def test_edit_file_refuses_an_oversized_result_before_building_it(root: Path) -> None:
    (root / "many.txt").write_text("a" * 10_000)
    edit = tools_by_name(root, write=True)["edit_file"]  # max_write_bytes=1_000_000
    tracemalloc.start()
    try:
        message = refused(edit, "many.txt", "a", "b" * 10_000, replace_all=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "would have 100000000 bytes; at most 1000000 are stored" in message
    assert peak < 1_000_000  # the 100 MB text was never built
    assert (root / "many.txt").read_text() == "a" * 10_000


def test_a_root_that_is_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not an existing folder"):
        files(tmp_path / "missing")
    with pytest.raises(UserError, match="at least 1"):
        files(tmp_path, max_read_bytes=0)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../outside/secret.txt", "'..' is not allowed"),
        ("docs/../../outside/secret.txt", "'..' is not allowed"),
        ("/etc/passwd", "is absolute"),
        ("//server/share/x", "is absolute"),
        ("\\\\server\\share\\x", "backslashes"),
        ("C:\\Windows\\win.ini", "backslashes"),
        ("C:/Windows/win.ini", "drive letters"),
        ("~/secret.txt", "'~' is not expanded"),
        ("~root", "'~' is not expanded"),
        ("notes.txt\x00.md", "NUL byte"),
        ("notes\n.txt", "control characters"),
        ("\udcc0\udcae", "not valid text"),
        ("a/" * 600, "at most 1024 characters"),
        ("link_file", "leads outside the folder"),
        ("link_dir/secret.txt", "leads outside the folder"),
        ("docs/up/secret.txt", "leads outside the folder"),
        ("fifo", "special file"),
    ],
)
def test_hostile_paths_are_refused_with_a_reason(root: Path, path: str, message: str) -> None:
    assert message in refused(tools_by_name(root)["read_file"], path)


def test_a_link_loop_is_refused(root: Path) -> None:
    message = refused(tools_by_name(root)["read_file"], "loop")
    assert "symbolic link" in message or "leads outside" in message


def test_special_files_are_neither_read_nor_listed_as_files(root: Path) -> None:
    path = root / "sock"
    with contextlib.closing(socket.socket(socket.AF_UNIX)) as server:
        try:
            server.bind(str(path))
        except OSError:  # pragma: no cover - a temporary path too long for a socket address
            pytest.skip("socket path too long")
        assert "special file" in refused(tools_by_name(root)["read_file"], "sock")
        assert "sock (special file)" in tools_by_name(root)["list_files"]()


def test_a_link_swapped_in_after_the_check_is_not_followed(root: Path) -> None:
    """The open re-checks every component with O_NOFOLLOW: a path checked, then made a link, fails."""
    folder = Root(root)
    relative = folder.resolve("docs/guide.md")
    (root / "docs").rename(root / "docs-moved")
    (root / "docs").symlink_to(root.parent / "outside")
    (root.parent / "outside" / "guide.md").write_text(SECRET)
    with pytest.raises(ModelRetry, match="symbolic link"), folder.open_file(relative):
        pass  # pragma: no cover - never reached
    (root / "notes.txt").unlink()
    (root / "notes.txt").symlink_to(root.parent / "outside" / "secret.txt")
    with pytest.raises(ModelRetry, match="symbolic link"), folder.open_file("notes.txt"):
        pass  # pragma: no cover - never reached


# --- the fuzz: a thousand and more generated hostile paths, and not one escape ---

_SEGMENTS = [
    "..", ".", "...", " ..", ".. ", "%2e%2e", "%2E%2E", "%252e%252e", "..%2f", "..%252f", "%2e%2e%2f",
    "..%c0%af", "%c0%ae%c0%ae", "\xc0\xae\xc0\xae", "\u2024\u2024", "\uff0e\uff0e", "..\u2215", "\u2215",
    "..\u2216", "\u2044", "..\\", "\\..", "..\x00", "\x00", "link_file", "link_dir", "docs/up", "loop",
    "outside", "secret.txt", "deeper", "etc", "passwd", "notes.txt", "docs", "", "~", "~root", "$HOME",
    "\ud800", "\udcae", "..;", "..?", "fifo", "CON", "NUL:", "a" * 300,
]  # fmt: skip
_PREFIXES = [
    "",
    "/",
    "//",
    "///",
    "\\\\",
    "\\\\?\\",
    "//?/",
    "C:",
    "C:\\",
    "c:/",
    "\\",
    "~/",
    "file://",
    "./",
    ".",
]
_SEPARATORS = ["/", "\\", "%2f", "%5c", "\u2215", "//", "/./"]


def _hostile_paths(outside: Path, count: int) -> Iterator[str]:
    rng = random.Random(20240515)
    absolute = [str(outside / "secret.txt"), str(outside), str(outside.parent)]
    for prefix, segment in itertools.product(_PREFIXES, _SEGMENTS):  # every prefix with every segment
        yield prefix + segment + "/secret.txt"
    for target in absolute:
        yield target
        yield target.replace("/", "\\")
        yield "root/../" + target
    for _ in range(count):
        parts = [rng.choice(_SEGMENTS) for _ in range(rng.randint(1, 6))]
        path = rng.choice(_PREFIXES) + rng.choice(_SEPARATORS).join(parts)
        yield path + rng.choice(["", "/secret.txt", "/deeper/secret.txt", "/"])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_fuzz_no_hostile_path_escapes_the_root(root: Path, outside: Path) -> None:
    tools = tools_by_name(root, write=True)
    before = _snapshot(outside)
    answered = refusals = 0
    paths = list(_hostile_paths(outside, 1200))
    assert len(paths) >= 1000
    for path in paths:
        calls: list[tuple[str, tuple[Any, ...]]] = [
            ("read_file", (path,)),
            ("list_files", (path, True)),
            ("search_files", ("SECRET", path)),
            ("write_file", (path, "PWNED")),
            ("edit_file", (path, "TOP", "PWNED")),
        ]
        for name, args in calls:
            try:
                result = tools[name](*args)
                answered += 1
            except ModelRetry as error:
                result = error.message
                refusals += 1
            assert SECRET not in result, (name, path)
    assert _snapshot(outside) == before  # nothing outside was written, edited or created
    assert refusals > answered > 0  # most are refused; literal names like '%2e%2e' are harmless files inside
    assert all(p.resolve().is_relative_to(root) for p in root.rglob("*") if not p.is_symlink())


def test_a_long_name_in_a_multibyte_script_can_be_written_and_edited(root: Path) -> None:
    name = (
        "字" * 80 + ".txt"
    )  # 244 bytes: legal (the limit is 255 bytes), though the temporary name is longer
    assert len(name.encode()) == 244
    tools = tools_by_name(root, write=True)
    assert tools["write_file"](name, "one") == f"Wrote 3 bytes to {name}."
    assert tools["edit_file"](name, "one", "two") == f"Replaced 1 occurrence(s) in {name}."
    assert (root / name).read_text() == "two"
    assert not [p for p in root.iterdir() if p.name.endswith(".tmp")]


def test_a_path_that_changes_while_it_is_resolved_is_a_tool_error_without_the_root(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.path.realpath
    failures = iter([1, 2])  # fails twice (a folder swapped for a link mid-walk), then resolves

    def racing(path: str, **kwargs: Any) -> str:
        if next(failures, None) is not None:
            raise OSError(22, "Invalid argument", os.path.join(str(root), "docs"))
        return real(path, **kwargs)

    tools = tools_by_name(root, write=True)
    monkeypatch.setattr(os.path, "realpath", racing)
    assert tools["read_file"]("notes.txt").startswith("alpha")
    failures = itertools.repeat(1)
    for tool, args in (
        (tools["read_file"], ("docs/guide.md",)),
        (tools["list_files"], ("docs",)),
        (tools["write_file"], ("docs/new.txt", "x")),
    ):
        message = refused(tool, *args)
        assert "kept changing while it was being checked" in message and str(root) not in message


def test_edit_file_turns_a_failed_write_into_a_tool_error_without_the_root(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(36, "File name too long", os.path.join(str(root), "x" * 300))

    edit = tools_by_name(root, write=True)["edit_file"]
    monkeypatch.setattr(os, "replace", fail)
    message = refused(edit, "notes.txt", "alpha", "omega")
    assert "name in this path is too long" in message and str(root) not in message
    assert (root / "notes.txt").read_text().startswith("alpha")


def test_write_file_refuses_a_read_only_file_and_never_keeps_setuid_or_setgid(root: Path) -> None:
    tools = tools_by_name(root, write=True)
    (root / "notes.txt").chmod(0o444)
    assert "is read-only" in refused(tools["write_file"], "notes.txt", "x")
    assert "is read-only" in refused(tools["edit_file"], "notes.txt", "alpha", "x")
    assert (root / "notes.txt").read_text().startswith("alpha")
    (root / "tool.sh").write_text("echo hi\n")
    (root / "tool.sh").chmod(0o6755)
    assert (root / "tool.sh").stat().st_mode & 0o7777 == 0o6755
    tools["write_file"]("tool.sh", "echo bye\n")
    assert (root / "tool.sh").stat().st_mode & 0o7777 == 0o755
    (root / "tool.sh").chmod(0o4750)
    tools["edit_file"]("tool.sh", "bye", "ciao")
    assert (root / "tool.sh").stat().st_mode & 0o7777 == 0o750


@pytest.mark.parametrize("save", ["longer", "same-size-same-time", "replaced", "removed"])
def test_edit_file_reports_a_save_made_between_its_read_and_its_write(
    root: Path, monkeypatch: pytest.MonkeyPatch, save: str
) -> None:
    module = importlib.import_module("agentkit_tools.files")
    store = module._Writer._store
    target = root / "notes.txt"

    theirs: list[bytes | None] = []

    def someone_saves(self: Any, relative: str, data: bytes, **kwargs: Any) -> None:
        before = target.stat()
        if save == "longer":
            target.write_text("alpha\nbeta\ngamma\ndelta\nepsilon\n")
        elif save == "same-size-same-time":  # within the clock's tick: only the content tells
            target.write_text("alpha\nBETA\ngamma\ndelta\n")
            os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
        elif save == "replaced":  # an editor that saves by renaming a new file over the old one
            (root / "saved.tmp").write_text("alpha\nbeta\ngamma\ndelta\n")
            os.replace(root / "saved.tmp", target)
        else:
            target.unlink()
        theirs.append(target.read_bytes() if target.exists() else None)
        store(self, relative, data, **kwargs)

    monkeypatch.setattr(module._Writer, "_store", someone_saves)
    message = refused(tools_by_name(root, write=True)["edit_file"], "notes.txt", "alpha", "omega")
    assert "'notes.txt' changed after edit_file read it" in message and "Read the file again" in message
    assert theirs == [target.read_bytes() if target.exists() else None]  # the other save is kept as it was


def test_odd_file_names_cannot_forge_listing_entries(root: Path) -> None:
    (root / "docs" / "evil\nnotes.txt (5 bytes)\nx").write_text("beta here\n")
    (root / "docs" / "line\u2028break").write_text("")
    os.close(os.open(os.path.join(os.fsencode(root), b"docs", b"bad\xffname"), os.O_CREAT | os.O_WRONLY))
    tools = tools_by_name(root)
    listing = tools["list_files"]("docs").splitlines()
    assert listing == [
        "bad\\xffname (0 bytes) [odd name, shown escaped]",
        "deep/",
        "evil\\x0anotes.txt (5 bytes)\\x0ax (10 bytes) [odd name, shown escaped]",
        f"guide.md ({(root / 'docs' / 'guide.md').stat().st_size} bytes)",
        "line\\u2028break (0 bytes) [odd name, shown escaped]",
        "up (symbolic link)",
    ]
    everything = tools["list_files"](".", recursive=True)
    assert "docs/evil\\x0anotes.txt (5 bytes)\\x0ax (10 bytes) [odd name, shown escaped]" in everything
    everything.encode("utf-8")  # nothing unsendable (no lone surrogate)
    found = tools["search_files"]("beta here", "docs").splitlines()
    assert found == ["docs/evil\\x0anotes.txt (5 bytes)\\x0ax:1: beta here"]
