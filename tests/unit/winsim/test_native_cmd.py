"""cmd.exe in the native model: the batch semantics the portal's scripts rely on, quirks included."""

from __future__ import annotations

import pytest

from tests.unit.winsim.native_helpers import batch, cmd, err, make_host, out, run
from tests.winsim.native import NativeUnsupported, argv


# ----------------------------------------------------------------------------- command lines
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('prog a "b c" d', ["prog", "a", "b c", "d"]),
        ('prog "a \\"q\\" b"', ["prog", 'a "q" b']),
        ('prog a\\\\"b c"', ["prog", "a\\b c"]),
        ("prog a\\b\\ c", ["prog", "a\\b\\", "c"]),
        ('prog ""', ["prog", ""]),
        ('"C:\\Program Files\\x.exe" /d', ["C:\\Program Files\\x.exe", "/d"]),
        ('prog "a""b"', ["prog", 'a"b']),
    ],
)
def test_command_line_to_argv(line, expected):
    assert argv.split(line) == expected


@pytest.mark.parametrize("text", ['{"a":"b\\\\c"}', "plain", "with space", 'q"uote', "trail\\"])
def test_quote_round_trips(text):
    assert argv.split_arguments(argv.quote(text)) == [text]
    assert argv.split_arguments('"%s"' % argv.quote_inner(text)) == [text]


# ----------------------------------------------------------------------------- echo, set, variables
def test_echo_forms_and_trailing_space_before_a_redirection():
    host = make_host()
    proc = batch(host, "@echo off\necho hello world\necho.\necho:x\necho\necho a > %TMP%\\a.txt\ntype %TMP%\\a.txt\n")
    assert out(proc) == "hello world\r\n\r\nx\r\nECHO is off.\r\na \r\n"
    assert proc.exit_code == 0


def test_set_quoted_and_unquoted_values_and_environment():
    host = make_host()
    text = (
        "@echo off\n"
        'set "a=one two" ignored\n'
        "set b=three >NUL\n"
        "set c=x\n"
        "set c=\n"
        "echo [%a%][%b%][%c%][%windir%][%PROCESSOR_ARCHITEW6432%]\n"
        "if defined c (echo c-defined) else (echo c-undefined)\n"
    )
    assert out(batch(host, text)) == "[one two][three ][][C:\\Windows][]\r\nc-undefined\r\n"


def test_set_a_arithmetic():
    host = make_host()
    text = (
        "@echo off\nset /a n=7\nset /a n=%n%+1\nset /a m=(n*3-4)/5, k=-7/2, r=7%%3\nset /a n+=0x10\n"
        "echo %n% %m% %k% %r%\n"
    )
    assert out(batch(host, text)) == "24 4 -3 1\r\n"


def test_set_p_with_closed_stdin_leaves_the_variable_and_sets_errorlevel_1():
    host = make_host()
    text = "@echo off\nset v=old\nset /p v=Prompt: \necho.\necho %v% %ERRORLEVEL%\n"
    proc = batch(host, text, stdin=b"")
    assert out(proc) == "Prompt: \r\nold 1\r\n"


def test_set_p_reads_a_line_from_a_pipe_and_from_a_file():
    host = make_host()
    host.write_file("C:\\Windows\\Temp\\in.txt", b"first line\r\nsecond\r\n")
    text = "@echo off\nset /p a=\nset /p b=<C:\\Windows\\Temp\\in.txt\necho [%a%][%b%]\n"
    assert out(batch(host, text, stdin=b"typed\r\n")) == "[typed][first line]\r\n"


def test_set_p_waits_for_ever_on_a_console():
    host = make_host()
    start = host.now()
    proc = batch(host, "@echo off\nset /p a=Answer? \necho never\n", redirected=False, console=True, timeout=30)
    assert proc.exit_code is None and out(proc) == "Answer? "
    assert host.now() == pytest.approx(start + 30)
    proc.kill()
    assert proc.exit_code == -1


def test_percent_expansion_of_a_block_happens_when_the_block_is_read():
    """The classic quirk: %ERRORLEVEL% inside a block is the value before the block ran."""
    host = make_host()
    text = (
        "@echo off\n"
        "cmd /c exit 3\n"
        "if %ERRORLEVEL% NEQ 0 (\n"
        '  find /i "x" <NUL >NUL\n'
        "  set lastError=%ERRORLEVEL%\n"
        "  if %ERRORLEVEL% EQU 3 echo inner-sees-3\n"
        "  if errorlevel 1 echo runtime-errorlevel-1\n"
        ")\n"
        "echo %lastError% %ERRORLEVEL%\n"
    )
    assert out(batch(host, text)) == "inner-sees-3\r\nruntime-errorlevel-1\r\n3 1\r\n"


def test_if_forms():
    host = make_host()
    host.write_file("C:\\Windows\\Temp\\here.txt", b"x")
    text = (
        "@echo off\n"
        'IF /I "Abc"=="aBC" echo icase\n'
        'IF "Abc"=="aBC" (echo case) ELSE (echo nocase)\n'
        "IF [] EQU [] echo empty-brackets\n"
        "if 10 GTR 9 echo numeric\n"
        "if 10 GTR 9x echo never\n"
        "if 0x10 EQU 16 echo hex\n"
        "if not 1 EQU 2 echo not\n"
        "if exist C:\\Windows\\Temp\\here.txt echo exists\n"
        "if not exist C:\\Windows\\Temp\\none.txt echo missing\n"
    )
    assert out(batch(host, text)).split("\r\n")[:-1] == [
        "icase",
        "nocase",
        "empty-brackets",
        "numeric",
        "hex",
        "not",
        "exists",
        "missing",
    ]


def test_goto_labels_call_and_exit_b():
    host = make_host()
    text = (
        "@echo off\n"
        "set n=0\n"
        ":LOOP\n"
        "set /a n=%n%+1\n"
        "if %n% LSS 3 GOTO :loop\n"
        "call :SUB %n% two\n"
        "echo after-call %ERRORLEVEL%\n"
        "goto end\n"
        ":SUB\n"
        "echo sub %1 %2\n"
        "exit /b 4\n"
        ":END\n"
        "EXIT /B 7\n"
    )
    proc = batch(host, text)
    assert out(proc) == "sub 3 two\r\nafter-call 4\r\n" and proc.exit_code == 7


def test_goto_eof_and_a_missing_label():
    host = make_host()
    assert batch(host, "@echo off\necho a\ngoto :eof\necho b\n").exit_code == 0
    proc = batch(host, "@echo off\ngoto NOWHERE\necho b\n")
    assert "The system cannot find the batch label specified - nowhere" in err(proc) and out(proc) == ""


def test_exit_ends_cmd_with_its_code():
    host = make_host()
    assert cmd(host, "exit 5").exit_code == 5
    assert cmd(host, '"exit /b 6"').exit_code == 6


def test_pipes_redirections_and_and_or():
    host = make_host()
    text = (
        "@echo off\n"
        'sc query "SENSE" | find /i "STOPPED" >NUL 2>&1\n'
        "echo found=%ERRORLEVEL%\n"
        'sc query "SENSE" | find /i "RUNNING" >NUL 2>&1\n'
        "echo found=%ERRORLEVEL%\n"
        "echo a>%TMP%\\o.txt\n"
        "echo b>>%TMP%\\o.txt\n"
        "nosuchprogram 2>>%TMP%\\o.txt\n"
        "type %TMP%\\o.txt\n"
        '(echo x) | find "x" && echo and-ran\n'
        'find "zzz" <NUL || echo or-ran\n'
    )
    lines = out(batch(host, text)).split("\r\n")
    not_found = "'nosuchprogram' is not recognized as an internal or external command,"
    assert lines[:5] == ["found=0", "found=1", "a", "b", not_found]
    assert "x" in lines and "and-ran" in lines and "or-ran" in lines


def test_unknown_program_is_9009():
    host = make_host()
    proc = batch(host, "@echo off\nnosuchprogram\necho %ERRORLEVEL%\n")
    assert out(proc) == "9009\r\n" and "'nosuchprogram' is not recognized" in err(proc)


def test_redirection_into_a_missing_directory_fails_the_command():
    host = make_host()
    proc = batch(host, "@echo off\necho x > C:\\nowhere\\f.txt\necho %ERRORLEVEL%\n")
    assert out(proc) == "1\r\n" and "The system cannot find the path specified." in err(proc)


def test_del_and_if_exist():
    host = make_host()
    host.write_file("C:\\Windows\\Temp\\t.txt", b"x")
    batch(host, "@echo off\nif exist C:\\Windows\\Temp\\t.txt del C:\\Windows\\Temp\\t.txt\n")
    assert host.read_file("C:\\Windows\\Temp\\t.txt") is None


def test_pause_returns_at_end_of_input_and_waits_on_a_console():
    host = make_host()
    proc = batch(host, "@echo off\npause\necho done\n")
    assert out(proc) == "Press any key to continue . . . \r\ndone\r\n"
    proc = batch(host, "@echo off\npause\necho done\n", redirected=False, console=True, timeout=60)
    assert proc.exit_code is None and "done" not in out(proc)


def test_an_endless_loop_of_internal_commands_spins_until_killed():
    """The local script's consent loop with closed stdin: set /p reads nothing, it asks again for ever."""
    host = make_host()
    text = '@echo off\n:ASK\nset /p a=Y or N? \nif /i "%a%"=="y" goto go\necho again\ngoto ASK\n:go\n'
    start = host.now()
    proc = batch(host, text, timeout=120)
    assert proc.exit_code is None and host.now() == pytest.approx(start + 120)
    assert out(proc).count("again") >= 1


def test_cmd_c_quote_rules():
    host = make_host()
    host.write_file("C:\\Windows\\Temp\\a b\\s.cmd", b"@echo off\r\necho [%1]\r\n")
    assert out(cmd(host, '""C:\\Windows\\Temp\\a b\\s.cmd" arg"')) == "[arg]\r\n"
    assert out(cmd(host, '"C:\\Windows\\Temp\\a b\\s.cmd"')) == "[]\r\n"


def test_a_batch_file_with_echo_on_is_unsupported():
    host = make_host()
    with pytest.raises(NativeUnsupported, match="echo on"):
        batch(host, "echo hello\n")


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("@echo off\nsetlocal enabledelayedexpansion\n", "SETLOCAL"),
        ("@echo off\nfor %%i in (a) do echo %%i\n", "FOR"),
        ("@echo off\necho %PATH:~0,3%\n", "substring"),
        ("@echo off\nping -n 2 127.0.0.1\n", "ping"),
        ("@echo off\n(echo a\n", "never closed"),
    ],
)
def test_what_is_not_modelled_is_loud(text, what):
    host = make_host()
    with pytest.raises(NativeUnsupported, match=what) as info:
        batch(host, text)
    assert "test.cmd:" in str(info.value) or what == "ping"


def test_unknown_program_with_a_path_is_a_start_error():
    host = make_host()
    from tests.winsim.native import NativeStartError

    with pytest.raises(NativeStartError) as info:
        run(host, "C:\\nowhere\\prog.exe /x")
    assert info.value.winerror == 2
    assert cmd(host, "C:\\Windows\\System32\\reg.exe query HKLM\\SOFTWARE\\Nope").exit_code == 1


def test_cd_set_listing_and_call_of_a_program():
    host = make_host()
    text = (
        "@echo off\n"
        "cd C:\\Windows\\Temp\n"
        "echo %CD%\n"
        "set ZZTEST_A=1\n"
        "set ZZTEST\n"
        "set NOSUCHPREFIX\n"
        'call find "x" <NUL\n'
        "echo %ERRORLEVEL%\n"
    )
    proc = batch(host, text)
    assert out(proc) == "C:\\Windows\\Temp\r\nZZTEST_A=1\r\n1\r\n"
    assert "Environment variable NOSUCHPREFIX not defined" in err(proc)


@pytest.mark.parametrize("line", ["cmd.exe", "cmd.exe /k echo x", "cmd.exe /u /c echo x", "cmd.exe /z /c echo"])
def test_cmd_without_c_or_with_unknown_switches_is_unsupported(line):
    host = make_host()
    with pytest.raises(NativeUnsupported):
        run(host, line)
