"""Reproducible build of ``contracts/TraceAnchor.sol`` into the committed artifact.

``python -m service.anchor.compiler`` rewrites ``contracts/build/TraceAnchor.json``. The service never
compiles at run time: it deploys and talks to the contract from that artifact (:func:`load_artifact`),
so a machine without a compiler can still run it, and what is deployed is what was reviewed.

Reproducibility: every source (ours and the OpenZeppelin ones it imports) is passed by content under
a relative source unit name, the compiler version and settings are pinned, and the metadata hash is
left out of the bytecode (``bytecodeHash: none``), so the bytecode depends on the code alone, not on
comments or on where the project lives; the artifact records the keccak256 of every source instead.
"""

import json
import posixpath
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import solcx
from eth_utils import keccak
from packaging.version import Version
from solcx.exceptions import SolcError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTRACT_NAME = "TraceAnchor"
CONTRACT_SOURCE = "contracts/TraceAnchor.sol"
ARTIFACT_PATH = PROJECT_ROOT / "contracts" / "build" / f"{CONTRACT_NAME}.json"
SOLCJS_WRAPPER = PROJECT_ROOT / "scripts" / "solc"
SOLC_VERSION = Version("0.8.28")

# Where source unit names are looked up: the project itself, then npm packages (`@openzeppelin/...`).
IMPORT_ROOTS = (PROJECT_ROOT, PROJECT_ROOT / "node_modules")

# Cancun: the newest EVM that solc 0.8.28 supports as stable; py-evm's Prague VM (eth-tester's
# default fork) and anvil both run it. 200 optimizer runs, solc's default: `anchor` runs once per
# batch, so neither deployment size nor call cost dominates enough to tune it either way.
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "metadata": {"bytecodeHash": "none"},
    "outputSelection": {
        CONTRACT_SOURCE: {CONTRACT_NAME: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}
    },
}

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_IMPORT = re.compile(r"\bimport\s+(?:[^;\"]*?\bfrom\s+)?\"([^\"]+)\"[^;]*;")


def _resolve_import(*, importer: str, path: str) -> str:
    """Source unit name of ``path`` imported from ``importer`` (relative imports start with ``.``)."""
    if path.startswith(("./", "../")):
        return posixpath.normpath(posixpath.join(posixpath.dirname(importer), path))
    return path


def _read_source(unit_name: str) -> str:
    for root in IMPORT_ROOTS:
        candidate = root / unit_name
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError(f"source {unit_name!r} not found under {', '.join(map(str, IMPORT_ROOTS))}")


def collect_sources(entry: str = CONTRACT_SOURCE) -> dict[str, str]:
    """Every source unit reachable from ``entry`` by imports, by name, with its content."""
    sources: dict[str, str] = {}
    pending = [entry]
    while pending:
        unit_name = pending.pop()
        if unit_name in sources:
            continue
        content = _read_source(unit_name)
        sources[unit_name] = content
        for path in _IMPORT.findall(_COMMENT.sub("", content)):
            pending.append(_resolve_import(importer=unit_name, path=path))
    return dict(sorted(sources.items()))


def _native_solc_version(binary: str) -> Version | None:
    try:
        return solcx.wrapper.get_solc_version(binary)
    except (OSError, SolcError, ValueError):
        return None


def find_solc() -> Path:
    """A native solc of the pinned version if there is one, else the solcjs wrapper.

    Looks in py-solc-x's install folder, then for ``solc`` on PATH; ``solcx.install_solc`` is never
    called because it downloads.
    """
    if SOLC_VERSION in solcx.get_installed_solc_versions():
        return Path(solcx.install.get_executable(SOLC_VERSION))
    on_path = shutil.which("solc")
    if on_path and _native_solc_version(on_path) == SOLC_VERSION:
        return Path(on_path)
    return SOLCJS_WRAPPER


def standard_json_input(sources: dict[str, str]) -> dict[str, Any]:
    """The compiler input: every source by content, so no import is read from disk by solc."""
    return {
        "language": "Solidity",
        "sources": {name: {"content": content} for name, content in sources.items()},
        "settings": SETTINGS,
    }


def build_artifact(*, solc_binary: Path | None = None) -> dict[str, Any]:
    """Compile TraceAnchor from source and return the artifact (what the build file contains)."""
    binary = solc_binary or find_solc()
    version = solcx.wrapper.get_solc_version(binary, with_commit_hash=True)
    if Version(version.base_version) != SOLC_VERSION:
        raise SolcError(f"{binary} is solc {version}, the build is pinned to {SOLC_VERSION}")
    sources = collect_sources()
    output = solcx.compile_standard(standard_json_input(sources), solc_binary=binary)
    contract = output["contracts"][CONTRACT_SOURCE][CONTRACT_NAME]
    return {
        "contractName": CONTRACT_NAME,
        "abi": contract["abi"],
        "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
        "compiler": {"name": "solc", "version": str(version)},
        "settings": SETTINGS,
        "sources": {name: "0x" + keccak(text=content).hex() for name, content in sources.items()},
    }


def render_artifact(artifact: dict[str, Any]) -> str:
    """Canonical text of the artifact, so that equal builds give equal files."""
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def load_artifact(path: Path = ARTIFACT_PATH) -> dict[str, Any]:
    """The committed build of TraceAnchor: ABI, bytecode and build provenance."""
    return json.loads(path.read_text(encoding="utf-8"))


def main() -> None:
    """Rebuild the artifact from source and write it."""
    binary = find_solc()
    artifact = build_artifact(solc_binary=binary)
    ARTIFACT_PATH.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT_PATH.write_text(render_artifact(artifact), encoding="utf-8")
    print(f"wrote {ARTIFACT_PATH.relative_to(PROJECT_ROOT)} with {binary} (solc {artifact['compiler']['version']})", file=sys.stderr)


if __name__ == "__main__":
    main()
