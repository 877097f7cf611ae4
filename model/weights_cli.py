"""`flashvsr weights list|verify|fetch`.

- list: every known weights set (vsrcore.weights.WEIGHTS), present or missing, and where it comes from.
- verify [NAME ...]: for each file, presence and size; its sha256 against the pinned table
  (`vsrcore.pinned_weights`: full hash, or only the prefix a published file name carries; files without a pin,
  such as FlashVSR's, are only ever read through safetensors / `weights_only=True`); and loadability: FlashVSR
  files are read safely and their keys / shapes checked strictly against our modules (built on the meta device).
  For a FlashVSR set it then lists which files each inference mode needs and whether they are all present.
- fetch NAME: downloads only where a network and `huggingface_hub` exist (HF_HUB_OFFLINE respected, short
  timeout); otherwise says so and where to get each file.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from vsrcore.errors import EXIT_OK, EXIT_PARTIAL


# Where a file of a FlashVSR set comes from when it is not in the HF repository.
FILE_SOURCES = {
    "posi_prompt.pth": "https://github.com/OpenImagingLab/FlashVSR (examples/WanVSR/prompt_tensor/posi_prompt.pth)",
}


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the weights arguments."""
    parser.add_argument("action", choices=["list", "verify", "fetch"], help="list, verify or fetch weights")
    parser.add_argument("names", nargs="*", help="weights sets (default: all for list/verify)")
    parser.add_argument("--weights-dir", help="folder searched first (also $FLASHVSR_WEIGHTS); fetch target")
    parser.add_argument("--no-load", action="store_true", help="verify: skip the (slow) load check")
    parser.add_argument("--timeout", type=float, default=10.0, help="fetch: network timeout in seconds")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch to list / verify / fetch."""
    from vsrcore.registry import check_known
    from vsrcore.weights import WEIGHTS

    check_known("weights", args.names, WEIGHTS)
    if args.action == "list":
        from vsrcore.weights_cli import run as list_run

        return list_run(args)
    if args.action == "verify":
        return verify(args.names or list(WEIGHTS), args.weights_dir, load=not args.no_load)
    return fetch(args.names, args.weights_dir, args.timeout)


def _expected_shapes(name: str) -> dict[str, dict[str, tuple[int, ...]]]:
    """{part: {key: shape}} of our modules for a FlashVSR weights set (built on meta, no memory)."""
    import torch

    from model.flashvsr.config import FlashVSRConfig
    from model.flashvsr.lq_proj import LQProjection
    from model.flashvsr.tc_decoder import TCDecoder
    from model.flashvsr.transformer import WanDiT
    from model.flashvsr.vae import WanVAEDecoder

    cfg = FlashVSRConfig.from_name("official-v1" if name == "flashvsr-v1" else "official")
    with torch.device("meta"):
        mods = {"dit": WanDiT(cfg), "lq_proj": LQProjection.from_config(cfg), "tcdecoder": TCDecoder.from_config(cfg),
                "vae_decoder": WanVAEDecoder.from_config(cfg)}  # fmt: skip
    return {p: {k: tuple(v.shape) for k, v in m.state_dict().items()} for p, m in mods.items()}


def _check_load(name: str, file: str, path: Path, expected: dict[str, dict[str, tuple[int, ...]]]) -> str:
    from model.flashvsr.weights import (
        OFFICIAL_FILES,
        SKIPPED_PREFIXES,
        check_state_dict,
        read_context,
        read_state_dict,
    )

    part = next((p for p, f in OFFICIAL_FILES.items() if f == file), None)
    if part is None:
        return "load not checked"
    if part == "context":
        ctx = read_context(path, 4096)
        return f"loads: context {list(ctx.shape)}"
    state = read_state_dict(path)
    check_state_dict(expected[part], state, str(path), SKIPPED_PREFIXES.get(part, ()))
    return f"loads: {len(expected[part])} tensors match {part}"


# What each FlashVSR part is called in `verify`'s per-mode lines.
PART_LABELS = {"dit": "DiT", "lq_proj": "LQ projection", "tcdecoder": "TCDecoder", "vae_decoder": "Wan2.1 VAE",
               "context": "prompt"}  # fmt: skip


def _hash_note(path: Path) -> tuple[bool, str]:
    """(ok, note) for a file's sha256 against the pinned table."""
    from vsrcore.pinned_weights import PINNED, file_digest

    pin = PINNED.get(path.name)
    if pin is None:
        return True, "no sha256 recorded (read only through safetensors / weights_only=True)"
    digest = file_digest(path)
    if not digest.startswith(pin.sha256):
        return False, f"sha256 MISMATCH: expected {pin.sha256}, got {digest}"
    if pin.level == "full":
        return True, "sha256 OK (pinned)"
    return True, f"sha256 prefix OK ({pin.sha256}; prefix-only pin: loaded with weights_only=True)"


def _mode_lines(usable: set[str], present: set[str]) -> list[str]:
    """One line per FlashVSR inference mode: the files it needs and whether they are all present and good."""
    from model.flashvsr.weights import MODE_PARTS, OFFICIAL_FILES

    lines = []
    for mode, parts in MODE_PARTS.items():
        needs = ", ".join(f"{PART_LABELS[p]} ({OFFICIAL_FILES[p]})" for p in parts)
        absent = [OFFICIAL_FILES[p] for p in parts if OFFICIAL_FILES[p] not in present]
        bad = [OFFICIAL_FILES[p] for p in parts if OFFICIAL_FILES[p] in present - usable]
        problems = ([f"missing {', '.join(absent)}"] if absent else []) + ([f"bad {', '.join(bad)}"] if bad else [])
        state = "ready" if not problems else "not ready, " + "; ".join(problems)
        lines.append(f"  mode {mode}: {state}; needs {needs}")
    return lines


def verify(names: list[str], weights_dir: str | None, load: bool = True) -> int:
    """Print a line per file (and per FlashVSR mode); return 0 when every file of the named sets is present,
    matches its pinned sha256 and loads, else 3."""
    from vsrcore.errors import UserFacingError
    from vsrcore.weights import WEIGHTS, search_dirs, weight_status

    print("searched: " + ", ".join(str(d) for d in search_dirs(weights_dir)))
    ok = True
    bad: list[str] = []
    for name in names:
        spec = WEIGHTS[name]
        found, missing = weight_status(name, weights_dir)
        expected = _expected_shapes(name) if load and name.startswith("flashvsr") and found else {}
        print(f"{name}: {'complete' if not missing else f'{len(missing)} of {len(spec.files)} files missing'}")
        usable: set[str] = set()
        for file in spec.files:
            if file in missing:
                ok = False
                where = FILE_SOURCES.get(file, spec.source)
                shown = f"{name}/{file}" if spec.subdir_only else file
                print(f"  MISSING {shown}  (get it from {where})")
                bad.append(f"{shown}: missing (get it from {where})")
                continue
            path = found[file]
            size = path.stat().st_size
            good, notes = size > 0, [f"{size:,} bytes" if size else "EMPTY"]
            hash_ok, note = _hash_note(path)
            good &= hash_ok
            notes.append(note)
            if expected and size and hash_ok:
                try:
                    notes.append(_check_load(name, file, path, expected))
                except UserFacingError as e:
                    good = False
                    notes.append(f"DOES NOT LOAD: {e}")
            ok &= good
            if good:
                usable.add(file)
            else:
                bad.append(f"{path}: " + "; ".join(n for n in notes if not n.endswith(" bytes")))
            print(f"  {'ok' if good else 'BAD'} {path}  " + "; ".join(notes))
        if name.startswith("flashvsr"):
            for line in _mode_lines(usable, set(found)):
                print(line)
    if not ok:  # the exit-code contract: on stderr, one line per bad file naming it and what was expected
        import sys

        for line in bad or ["a file is bad"]:
            print(f"flashvsr weights: {line}", file=sys.stderr)
    return EXIT_OK if ok else EXIT_PARTIAL


def fetch(names: list[str], weights_dir: str | None, timeout: float) -> int:
    """Download FlashVSR sets from Hugging Face where possible; otherwise explain where the files come from."""
    from vsrcore.deps import is_available
    from vsrcore.weights import WEIGHTS, search_dirs, weight_status

    if not names:
        names = ["flashvsr-v1.1"]
    target = search_dirs(weights_dir)[0]
    status = 0
    for name in names:
        spec = WEIGHTS[name]
        _, missing = weight_status(name, weights_dir)
        if not missing:
            print(f"{name}: complete, nothing to fetch")
            continue
        dest = target / name if spec.subdir_only else target
        reason = _download(spec.source, missing, dest, timeout) if is_available("huggingface_hub") else (
            "huggingface_hub is not installed")  # fmt: skip
        _, still = weight_status(name, weights_dir)
        if not still:
            print(f"{name}: fetched into {dest}")
            continue
        status = EXIT_PARTIAL
        print(f"{name}: cannot download here ({reason}). Get these files and put them in {dest}:")
        for f in still:
            print(f"  {f}  from {FILE_SOURCES.get(f, spec.source)}")
    return status


def _download(source: str, files: list[str], dest: Path, timeout: float) -> str:
    """Try huggingface_hub for the files of an HF source; returns why it failed ('' on success)."""
    if "huggingface.co/" not in source:
        return f"{source} is not a Hugging Face repository"
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False"):
        return "HF_HUB_OFFLINE is set: no network access"
    import socket

    try:  # one quick reachability probe instead of the hub client's retries with back-off per file
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
    except OSError as e:
        return f"no network: huggingface.co is unreachable ({e.strerror or type(e).__name__})"
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", str(int(timeout)))
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", str(int(timeout)))
    from huggingface_hub import hf_hub_download

    repo = source.split("huggingface.co/", 1)[1].strip("/")
    errors = []
    for f in files:
        if f in FILE_SOURCES:
            errors.append(f"{f} is not on {repo}")
            continue
        try:
            dest.mkdir(parents=True, exist_ok=True)
            hf_hub_download(repo, f, local_dir=str(dest))
        except Exception as e:  # network errors come in many types
            errors.append(f"{f}: {type(e).__name__}")
            break
    return "; ".join(errors) or ""
