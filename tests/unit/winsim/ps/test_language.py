"""Windows PowerShell 5.1 language semantics as the interpreter models them (about_* help topics)."""

from __future__ import annotations

import re

import pytest

from tests.winsim.ps.errors import PSRuntimeError, PSUnsupported

from .conftest import Ps


# ---------------------------------------------------------------------------- output and unrolling
def test_function_output_is_collected_scalar_or_array_or_automation_null(ps: Ps):
    ps.raw(
        """
        function None { }
        function One { 1 }
        function Two { 1; 2 }
        function EmptyArray { , @() }
        $a = None; $b = One; $c = Two; $d = EmptyArray
        """
    )
    assert ps.var("a") is None and ps.var("b") == 1 and ps.var("c") == [1, 2] and ps.var("d") == []
    # AutomationNull: nothing when enumerated, unlike $null.
    assert ps.run("$x = None; @($x).Count") == 0
    assert ps.run("$x = $null; @($x).Count") == 1
    assert ps.run("$x = None; $null -eq $x") is True


def test_arrays_unroll_once_when_written_and_a_comma_keeps_them(ps: Ps):
    assert ps.run("function F { @(1, 2) }; $r = F; $r.Count") == 2
    assert ps.run("function F { , @(1, 2) }; $r = F; $r.Count") == 2
    assert ps.run("function F { , @(1) }; $r = F; $r -is [array]") is True
    assert ps.run("function F { @(1) }; $r = F; $r -is [array]") is False
    assert ps.run("$x = @(@(1, 2)); $x.Count") == 2
    assert ps.run("$x = @(1, 2), 3; $x.Count") == 2


def test_foreach_statement_output_and_break_continue(ps: Ps):
    out = ps.run("$r = foreach ($i in 1, 2, 3, 4) { if ($i -eq 2) { continue }; if ($i -eq 4) { break }; $i * 10 }; $r")
    assert out == [10, 30]
    assert ps.run("$n = 0; foreach ($i in $null) { $n++ }; $n") == 0
    assert ps.run("$n = 0; foreach ($k in @{ a = 1; b = 2 }) { $n++ }; $n") == 1  # a hashtable is one item


def test_while_do_for(ps: Ps):
    assert ps.run("$i = 0; while ($true) { $i++; if ($i -ge 3) { break } }; $i") == 3
    assert ps.run("$i = 5; do { $i++ } while ($i -lt 3); $i") == 6
    assert ps.run("$i = 5; do { $i-- } until ($i -le 3); $i") == 3
    assert ps.run("$s = 0; for ($i = 0; $i -lt 4; $i++) { $s += $i }; $s") == 6


def test_switch_values_script_blocks_default_and_break(ps: Ps):
    script = """
    function S {
        param ($v)
        switch ($v) {
            'a' { 'A' }
            { $_ -like 'b*' } { 'B' }
            'bx' { 'BX'; break }
            default { 'D' }
        }
    }
    """
    ps.raw(script)
    assert ps.run("S 'A'") == "A"  # case-insensitive
    assert ps.run("S 'bx'") == ["B", "BX"]
    assert ps.run("S 'zz'") == "D"
    assert ps.run("$r = switch (1, 2) {\n 1 { 'one' }\n 2 { 'two' }\n}; $r") == ["one", "two"]


# ---------------------------------------------------------------------------- scopes
def test_dynamic_scoping_and_scope_modifiers(ps: Ps):
    out = ps.run(
        """
        $x = 'script'
        function Inner { $x }
        function Outer { $x = 'outer'; Inner }
        function SetGlobal { $global:g = 1; $script:s = 2; $local:l = 3 }
        SetGlobal
        Outer
        $g; $s; $null -eq $l
        """
    )
    assert out == ["outer", 1, 2, True]


def test_function_scope_does_not_leak_assignments(ps: Ps):
    assert ps.run("$v = 1; function F { $v = 2 }; F; $v") == 1


# ---------------------------------------------------------------------------- parameters
def test_parameter_binding_named_prefix_positional_switch_and_defaults(ps: Ps):
    ps.raw(
        """
        function F {
            [CmdletBinding()]
            param (
                [Parameter(Mandatory = $true)][String]$Name,
                [Int32]$Count = 2,
                [Switch]$Force
            )
            "$Name/$Count/$Force"
        }
        """
    )
    assert ps.run("F -Name x") == "x/2/False"
    assert ps.run("F x 5 -Force") == "x/5/True"
    assert ps.run("F -Na x -Cou '7'") == "x/7/False"
    assert ps.run("F -Name x -Force:$false") == "x/2/False"
    assert ps.run("$p = @{ Name = 'y'; Force = $true }; F @p") == "y/2/True"


def test_parameter_binding_errors(ps: Ps):
    ps.raw(
        """
        function F {
            [CmdletBinding()]
            param ([Parameter(Mandatory = $true)][String]$Name, [Int32]$Count)
            $Name
        }
        """
    )
    cases = {
        "F -Nope 1": "A parameter cannot be found that matches parameter name 'Nope'.",
        "F -Name x -Count 1 z": "A positional parameter cannot be found that accepts argument 'z'.",
        "F -Count 1": "Cannot process command because of one or more missing mandatory parameters: Name.",
        "F -Name ''": "Cannot bind argument to parameter 'Name' because it is an empty string.",
        "F -Name $null": "Cannot bind argument to parameter 'Name' because it is an empty string.",
        "F -Name x -Count abc": "Cannot process argument transformation on parameter 'Count'.",
    }
    for script, message in cases.items():
        with pytest.raises(PSRuntimeError) as exc:
            ps.raw(script)
        assert message in exc.value.record.exception.message, script
        assert exc.value.record.exception.TYPE_NAMES[0] == "System.Management.Automation.ParameterBindingException"


def test_allow_attributes_and_validate_set(ps: Ps):
    ps.raw(
        """
        function F {
            [CmdletBinding()]
            param (
                [Parameter(Mandatory = $true)][AllowEmptyCollection()][String[]]$List,
                [Parameter(Mandatory = $true)][AllowNull()][AllowEmptyString()][Object]$Value,
                [ValidateSet('present', 'absent')][String]$State = 'present'
            )
            "$($List.Count)|$Value|$State"
        }
        """
    )
    assert ps.run("F -List @() -Value $null") == "0||present"
    assert ps.run("F -List 'a' -Value '' -State ABSENT") == "1||ABSENT"
    with pytest.raises(PSRuntimeError, match="does not belong to the set"):
        ps.raw("F -List a -Value 1 -State maybe")
    with pytest.raises(PSRuntimeError, match="empty array"):
        ps.raw("function G {\n param([Parameter(Mandatory = $true)][String[]]$L)\n}\nG -L @()")


# ---------------------------------------------------------------------------- values and members
def test_hashtables_ignore_key_case_and_missing_members_are_null(ps: Ps):
    assert ps.run("$h = @{ Name = 1 }; $h.name; $h['NAME']; $null -eq $h.other; $h.ContainsKey('nAmE')") == [
        1,
        1,
        True,
        True,
    ]
    assert ps.run("$h = @{}; $h.a = 1; $h['b'] = 2; $h.Count") == 2
    assert ps.run("$null.x -eq $null") is True
    assert ps.run("$null.Count; (1).Count; @(1, 2).Count") == [0, 1, 2]
    assert ps.run("$o = [PSCustomObject]@{ A = 1 }; $o.a; $null -eq $o.b") == [1, True]
    assert ps.run("$h = [ordered]@{ b = 1; a = 2 }; $h.Keys") == ["b", "a"]


def test_member_enumeration_and_method_calls(ps: Ps):
    assert ps.run("$l = @(@{ n = 'a' }, @{ n = 'b' }); $l.n") == ["a", "b"]
    assert ps.run("'  x '.Trim().ToUpper()") == "X"
    assert ps.run("'a\\'.TrimEnd('\\')") == "a"
    assert ps.run("'x.CMD'.EndsWith('.cmd', [System.StringComparison]::OrdinalIgnoreCase)") is True
    with pytest.raises(PSRuntimeError, match="You cannot call a method on a null-valued expression"):
        ps.raw("$null.Trim()")


def test_plus_equals_on_arrays_lists_and_hashtables(ps: Ps):
    assert ps.run("$a = @(); $a += 'x'; $a += 'y'; $a") == ["x", "y"]
    assert ps.run("$l = [System.Collections.Generic.List[String]]::new(); $l.Add('a'); $l.Count") == 1
    with pytest.raises(PSRuntimeError, match="Collection was of a fixed size"):
        ps.raw("$a = @(1); $a.Add(2)")
    assert ps.run("$h = @{ a = 1 } + @{ b = 2 }; $h.Count") == 2


# ---------------------------------------------------------------------------- operators
def test_comparisons_are_case_insensitive_and_take_the_left_operand_type(ps: Ps):
    assert ps.run("'ABC' -eq 'abc'; 'ABC' -ceq 'abc'; 1 -eq '1'; '1' -eq 1; 1 -eq 'abc'") == [
        True,
        False,
        True,
        True,
        False,
    ]
    assert ps.run("$null -eq 0; 0 -eq $null; '10' -lt 9; 10 -lt '9'") == [False, False, True, False]
    assert ps.run("@(1, 2, 3, 2) -eq 2") == [2, 2]
    assert ps.run("@(1, 2) -contains '2'; 3 -in 1, 2; 'b' -notin 'a', 'c'") == [True, False, True]
    assert ps.run("'Server' -like 'ser*'; 'abc' -notlike '?b?'; 'CSFalcon' -like 'CS[A-F]*'") == [True, False, True]


def test_match_sets_matches_and_replace_split_join(ps: Ps):
    assert ps.run("if ('orgId: abc-123' -match 'orgId: (?<id>[a-z]+)-(\\d+)') { $Matches.id; $Matches[2] }") == [
        "abc",
        "123",
    ]
    assert ps.run("'a-b-c' -replace '-', '+'; 'ab' -replace '(a)(b)', '$2$1'") == ["a+b+c", "ba"]
    assert ps.run("'a,b,,c' -split ','") == ["a", "b", "", "c"]
    assert ps.run("(1, 2, 3) -join ', '") == "1, 2, 3"


def test_arithmetic_and_casts(ps: Ps):
    assert ps.run("7 / 2; 6 / 3; 7 % 3; '3' + 4; 3 + '4'") == [3.5, 2, 1, "34", 7]
    assert ps.run("[int]2.5; [int]3.5; [int]'12'; [int]''; [int]$null") == [2, 4, 12, 0, 0]
    assert ps.run("[string]$null; [string]@(1, 2); [bool]'False'; [bool]0") == ["", "1 2", True, False]
    assert ps.run("'5' -as [int]; 'x' -as [int]; $null -eq ('x' -as [int])") == [5, None, True]
    with pytest.raises(PSRuntimeError, match=re.escape('Cannot convert value "abc" to type "System.Int32"')):
        ps.raw("[int]'abc'")
    with pytest.raises(PSRuntimeError, match="Attempted to divide by zero"):
        ps.raw("1 / 0")


def test_truthiness(ps: Ps):
    assert ps.run("[bool]@(); [bool]@(0); [bool]@(0, 0); [bool]''; [bool]'0'; [bool]@{}") == [
        False,
        False,
        True,
        False,
        True,
        True,
    ]


def test_strings_expansion_escapes_and_format(ps: Ps):
    assert ps.run('$x = @{ a = \'b\' }; "v=$($x.a) `t|`$x|""q"""') == 'v=b \t|$x|"q"'
    assert ps.run('$a = 1, 2; "$a"') == "1 2"
    assert ps.run("'/i \"{0}\" {1}' -f 'x y', 3") == '/i "x y" 3'
    assert ps.run("'{0:D3}|{1,-3}|{{x}}' -f 7, 'a'") == "007|a  |{x}"
    assert ps.run("@'\nline 'a'\n'@") == "line 'a'"


# ---------------------------------------------------------------------------- errors
def test_try_catch_finally_and_typed_catch(ps: Ps):
    out = ps.run(
        """
        $log = @()
        try { throw 'boom' } catch { $log += "caught $($_.Exception.Message)" } finally { $log += 'finally' }
        try { [int]'x' } catch [System.ArgumentException] { $log += 'arg' }
        catch { $log += $_.Exception.GetType().FullName }
        try { [System.IO.File]::ReadAllText('C:\\nope.txt') } catch [System.IO.FileNotFoundException] { $log += 'fnf' }
        $log
        """
    )
    assert out == [
        "caught boom",
        "finally",
        "System.Management.Automation.PSInvalidCastException",
        "fnf",
    ]


def test_error_action_preference_and_common_parameter(ps: Ps):
    # -ErrorAction SilentlyContinue: nothing written, $Error gets it; Stop: a terminating error.
    assert ps.run(
        "$r = Get-Item -LiteralPath 'C:\\nope' -ErrorAction SilentlyContinue; $null -eq $r; $Error.Count -ge 1"
    ) == [True, True]
    with pytest.raises(PSRuntimeError, match=re.escape("Cannot find path 'C:\\nope' because it does not exist.")):
        ps.raw("Get-Item -LiteralPath 'C:\\nope'")  # EAP Stop turns the non-terminating error into a terminating one
    continuing = Ps(eap="Continue")
    assert continuing.run("Get-Item -LiteralPath 'C:\\nope'; 'next'") == "next"
    assert len(continuing.rs.error_stream) == 1
    # With Continue a statement-terminating error is reported and the next statement runs ...
    assert continuing.run("[int]'x'; 'after'") == "after"
    # ... but not inside try, where it is caught.
    assert continuing.run("try { [int]'x'; 'not here' } catch { 'caught' }") == "caught"


def test_throw_rethrow_and_error_records(ps: Ps):
    out = ps.run(
        """
        try {
            try { throw [System.ArgumentException]::new('bad') } catch { throw }
        } catch [System.ArgumentException] {
            $_.Exception.Message; $_.FullyQualifiedErrorId; $_ -is [System.Management.Automation.ErrorRecord]
        }
        """
    )
    assert out == ["bad", "ArgumentException", True]


def test_method_exceptions_are_wrapped_like_powershell(ps: Ps):
    msg = ps.run("try { 'abc'.Substring(5) } catch { $_.Exception.Message }")
    assert msg.startswith('Exception calling "Substring" with "1" argument(s): "Index and length')


def test_unsupported_constructs_are_loud():
    with pytest.raises(PSUnsupported) as exc:
        Ps().raw("$x = 1\nGet-Process -Name x")
    assert exc.value.line == 2 and "Get-Process" in exc.value.what
    with pytest.raises(PSUnsupported, match=re.escape("type [System.Net.WebClient]")):
        Ps().raw("[System.Net.WebClient]::new()")
    with pytest.raises(PSUnsupported, match="property Nope of"):
        Ps().raw("(Get-Item -LiteralPath 'HKLM:\\SOFTWARE').Nope")


def test_not_recognized_commands_are_powershell_errors(ps: Ps):
    with pytest.raises(PSRuntimeError, match="The term 'Get-Nothing' is not recognized"):
        ps.raw("Get-Nothing")
