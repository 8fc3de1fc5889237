"""Reference for `entropix export --format safetensors`: reads the file with the safetensors
library and writes every tensor's raw little-endian bytes, for the C++ test to compare bit by bit.

usage: safetensors_dump.py FILE OUT_DIR
  OUT_DIR receives index.json ({name: {"dtype", "shape", "file"}}) and one file per tensor
"""
import json
import sys

from safetensors.numpy import load_file


def main():
    path, out_dir = sys.argv[1], sys.argv[2]
    index = {}
    for i, (name, array) in enumerate(sorted(load_file(path).items())):
        fname = "t%d.bin" % i
        array.astype(array.dtype.newbyteorder("<")).tofile(out_dir + "/" + fname)
        index[name] = {"dtype": str(array.dtype), "shape": list(array.shape), "file": fname}
    with open(out_dir + "/index.json", "w") as f:
        json.dump(index, f)


if __name__ == "__main__":
    main()
