"""The reproducible build: the committed artifact, the compiler choice and the solcjs wrapper."""

import os
import stat
from pathlib import Path

import pytest
import solcx
from eth_utils import keccak
from packaging.version import Version
from solcx.exceptions import SolcError, UnknownOption

from service.anchor import compiler
from service.anchor.releases import load_releases, release_of

PINNED_WITH_COMMIT = Version("0.8.28+commit.7893614a")


def test_recompiling_from_source_reproduces_the_committed_artifact_byte_for_byte():
    rebuilt = compiler.build_artifact()
    assert compiler.render_artifact(rebuilt) == compiler.ARTIFACT_PATH.read_text(encoding="utf-8")
    assert rebuilt == compiler.load_artifact()


def test_the_committed_artifact_is_the_newest_release_and_releases_are_distinct():
    releases = load_releases()
    deployed = bytes.fromhex(compiler.load_artifact()["deployedBytecode"][2:])
    assert release_of(deployed, releases) == releases[-1]
    assert len({r.code_hash for r in releases}) == len({r.version for r in releases}) == len(releases)


def test_every_release_keeps_the_artifact_its_deployments_run():
    for release in load_releases():
        artifact = compiler.load_artifact(release.artifact)
        assert keccak(hexstr=artifact["deployedBytecode"]) == release.code_hash, release.version


def _signatures(abi: list[dict]) -> set[str]:
    """``name(types)`` of every function and event of an ABI (what selectors and topics hash)."""
    return {f"{e['type']} {e['name']}({','.join(i['type'] for i in e['inputs'])})" for e in abi if e["type"] in ("function", "event")}


def test_the_current_abi_reads_every_release():
    """The service talks to deployments of older releases with the current ABI (Chain._reader)."""
    current = _signatures(compiler.load_artifact()["abi"])
    for release in load_releases():
        assert _signatures(compiler.load_artifact(release.artifact)["abi"]) <= current, release.version


def test_the_artifact_records_every_source_it_was_built_from():
    sources = compiler.load_artifact()["sources"]
    assert "contracts/TraceAnchor.sol" in sources
    assert "@openzeppelin/contracts/access/AccessControl.sol" in sources
    assert "@openzeppelin/contracts/utils/cryptography/Hashes.sol" in sources  # reached via ./Hashes.sol


def test_wrapper_reports_its_version_the_way_py_solc_x_parses_native_solc():
    assert solcx.wrapper.get_solc_version(compiler.SOLCJS_WRAPPER, with_commit_hash=True) == PINNED_WITH_COMMIT


def test_wrapper_rejects_unknown_options_like_native_solc():
    with pytest.raises(UnknownOption):
        solcx.wrapper.solc_wrapper(solc_binary=compiler.SOLCJS_WRAPPER, stdin="{}", bin=True)


def test_wrapper_resolves_openzeppelin_imports_from_node_modules():
    # Only our own file is given; every OpenZeppelin import goes through the wrapper's reader.
    own_source = {compiler.CONTRACT_SOURCE: (compiler.PROJECT_ROOT / compiler.CONTRACT_SOURCE).read_text()}
    output = solcx.compile_standard(
        compiler.standard_json_input(own_source), solc_binary=compiler.SOLCJS_WRAPPER, base_path=compiler.PROJECT_ROOT
    )
    built = output["contracts"][compiler.CONTRACT_SOURCE][compiler.CONTRACT_NAME]
    assert "0x" + built["evm"]["deployedBytecode"]["object"] == compiler.load_artifact()["deployedBytecode"]


def test_wrapper_reads_imports_outside_the_base_path_only_when_allowed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Lib.sol").write_text("// SPDX-License-Identifier: MIT\npragma solidity 0.8.28;\nlibrary Lib {}\n")
    main = f'// SPDX-License-Identifier: MIT\npragma solidity 0.8.28;\nimport "{outside / "Lib.sol"}";\ncontract Main {{}}\n'
    input_data = {"language": "Solidity", "sources": {"Main.sol": {"content": main}}, "settings": {"outputSelection": {}}}
    base = tmp_path / "base"
    base.mkdir()
    with pytest.raises(SolcError, match="not found"):
        solcx.compile_standard(input_data, solc_binary=compiler.SOLCJS_WRAPPER, base_path=base, allow_empty=True)
    output = solcx.compile_standard(
        input_data, solc_binary=compiler.SOLCJS_WRAPPER, base_path=base, allow_paths=outside, allow_empty=True
    )
    assert str(outside / "Lib.sol") in output["sources"]


def _fake_native_solc(folder: Path, version: str) -> Path:
    binary = folder / "solc"
    binary.write_text(f"#!/bin/sh\necho 'solc, the solidity compiler commandline interface'\necho 'Version: {version}.Linux.g++'\n")
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    return binary


@pytest.fixture
def no_solcx_installs(monkeypatch):
    monkeypatch.setattr(solcx, "get_installed_solc_versions", lambda: [])


def test_a_native_solc_of_the_pinned_version_on_path_is_preferred(tmp_path, monkeypatch, no_solcx_installs):
    native = _fake_native_solc(tmp_path, "0.8.28+commit.7893614a")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert compiler.find_solc() == native


def test_a_native_solc_of_another_version_is_passed_over_for_the_wrapper(tmp_path, monkeypatch, no_solcx_installs):
    _fake_native_solc(tmp_path, "0.8.30+commit.73712a01")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert compiler.find_solc() == compiler.SOLCJS_WRAPPER


def test_building_with_another_compiler_version_is_refused(tmp_path):
    with pytest.raises(SolcError, match="pinned"):
        compiler.build_artifact(solc_binary=_fake_native_solc(tmp_path, "0.8.30+commit.73712a01"))
