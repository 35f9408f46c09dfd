#!/usr/bin/env python3
"""Writes the benchmark inputs (never committed; regenerate with this script):

  torch_1g.pt      a torch.save-shaped zip checkpoint with ~1 GiB of stored tensor data
                   (archive/data.pkl describing 256 float32 tensors of 1 MiB each x4)
  dense.pkl        an opcode-dense protocol-4 pickle (floats, ints, short strings in
                   APPENDS batches, as the pickler writes lists), ~256 MiB
  bytes.pkl        a pickle of large bytes payloads (skipped by length), ~512 MiB

Usage: make_inputs.py OUTDIR [--size-mib N]
"""
import argparse
import os
import struct
import zipfile

MIB = 1 << 20


def storage_pickle(n_tensors, numel):
    """Protocol-2 pickle of an OrderedDict of tensors, shaped like torch.save output."""
    out = bytearray(b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(")
    memo = 2
    for i in range(n_tensors):
        key = f"layer{i}.weight".encode()
        out += b"X" + struct.pack("<I", len(key)) + key
        out += b"ctorch._utils\n_rebuild_tensor_v2\n"
        # persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)
        out += b"((X\x07\x00\x00\x00storagectorch\nFloatStorage\n"
        sk = str(i).encode()
        out += b"X" + struct.pack("<I", len(sk)) + sk
        out += b"X\x03\x00\x00\x00cpuJ" + struct.pack("<i", numel) + b"tQ"
        out += b"K\x00J" + struct.pack("<i", numel) + b"\x85K\x01\x85\x89"
        out += b"ccollections\nOrderedDict\n)R"  # backward hooks
        out += b"tR"
        memo += 1
    out += b"u."
    return bytes(out)


def write_torch_zip(path, total_bytes):
    tensor_bytes = 4 * MIB
    n = max(1, total_bytes // tensor_bytes)
    numel = tensor_bytes // 4
    chunk = os.urandom(MIB)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr(zipfile.ZipInfo("archive/data.pkl", (1980, 1, 1, 0, 0, 0)),
                   storage_pickle(n, numel))
        z.writestr(zipfile.ZipInfo("archive/byteorder", (1980, 1, 1, 0, 0, 0)), b"little")
        for i in range(n):
            info = zipfile.ZipInfo(f"archive/data/{i}", (1980, 1, 1, 0, 0, 0))
            with z.open(info, "w", force_zip64=True) as f:
                for _ in range(tensor_bytes // MIB):
                    f.write(chunk)
        z.writestr(zipfile.ZipInfo("archive/version", (1980, 1, 1, 0, 0, 0)), b"3\n")


def write_dense_pickle(path, total_bytes):
    batch = bytearray(b"(")
    for i in range(1000):
        batch += b"G" + struct.pack(">d", i * 0.5)
        batch += b"J" + struct.pack("<i", i)
        batch += b"\x8c\x05token"
    batch += b"e"
    batch = bytes(batch)
    with open(path, "wb") as f:
        f.write(b"\x80\x04]")
        written = 3
        while written < total_bytes:
            f.write(batch)
            written += len(batch)
        f.write(b".")


def write_bytes_pickle(path, total_bytes):
    payload = os.urandom(8 * MIB)
    with open(path, "wb") as f:
        f.write(b"\x80\x04](")
        for _ in range(max(1, total_bytes // len(payload))):
            f.write(b"\x8e" + struct.pack("<Q", len(payload)))
            f.write(payload)
        f.write(b"e.")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--size-mib", type=int, default=1024)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    write_torch_zip(os.path.join(a.outdir, "torch_1g.pt"), a.size_mib * MIB)
    write_dense_pickle(os.path.join(a.outdir, "dense.pkl"), (a.size_mib // 4) * MIB)
    write_bytes_pickle(os.path.join(a.outdir, "bytes.pkl"), (a.size_mib // 2) * MIB)


if __name__ == "__main__":
    main()
