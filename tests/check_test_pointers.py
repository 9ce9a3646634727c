"""Every public header has a `Tests:` pointer, and every pointer in a header
comment names files that exist.

STYLE.md asks each header to name the test that shows its use; a pointer
to a file that was renamed or never written misleads the reader. A
pointer is the text after `Tests:` up to the end of its sentence (it may
continue on the next comment lines); each path in it (`tests/x/y_test.cpp`,
a folder `tests/tls/`, a glob `tests/ws/*_test.cpp`) must match something,
and a bare file name (`timer_test.cpp`) is looked for beside the path
before it. Public headers are those outside `detail/` folders: all of
them are found by globbing, so a header added later is checked too.

    check_test_pointers.py SOURCE_DIR
"""

import glob
import os
import re
import sys

PATH = re.compile(r"(?:[\w.*-]+/)*[\w.*-]+\.(?:cpp|hpp|py|js|sh)\b|(?:[\w-]+/)+(?=[\s.,;)]|$)")


def pointers(path):
    """(line number, pointer text) for each Tests: pointer in `path`."""
    lines = open(path, encoding="utf-8").read().splitlines()
    for i, line in enumerate(lines):
        at = line.find("Tests:")
        if at < 0 or not line.lstrip().startswith("//"):
            continue
        text = line[at + len("Tests:"):]
        j = i
        while not re.search(r"\.\s*$", text) and j + 1 < len(lines) and lines[j + 1].lstrip().startswith("//"):
            j += 1
            text += " " + lines[j].lstrip()[2:]
        yield i + 1, text


def missing(root, text):
    bad, last_dir = [], None
    for m in PATH.finditer(text):
        p = m.group(0)
        if "/" not in p and last_dir:
            p = os.path.join(last_dir, p)
        if not p.startswith("tests/"):
            continue
        last_dir = os.path.dirname(p.rstrip("/"))
        if not glob.glob(os.path.join(root, p)):
            bad.append(p)
    return bad


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    failed = passed = 0
    for layer in ("engine", "http", "ws"):
        for path in sorted(glob.glob(os.path.join(root, layer, "**", "*.hpp"), recursive=True)):
            found = list(pointers(path))
            rel = os.path.relpath(path, root)
            if not found and "detail" not in rel.split(os.sep):
                failed += 1
                print("%s: a public header without a Tests: pointer in its comment" % rel)
            for line, text in found:
                bad = missing(root, text)
                if bad:
                    failed += 1
                    print("%s:%d: Tests: names what does not exist: %s" % (rel, line, ", ".join(bad)))
                else:
                    passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
