"""Run with the peers' Python: read a `memray run` capture and print, as JSON, the bytes held at the
high-water mark summed by the innermost frame that lies in the case file.

    python memray_lines.py CAPTURE.bin CASE.py
"""

import json
import os
import sys

from memray import FileReader


def main(capture: str, case: str) -> None:
    case = os.path.realpath(case)
    reader = FileReader(capture)
    lines, other = {}, 0
    for rec in reader.get_high_watermark_allocation_records(merge_threads=True):
        line = None
        for _function, filename, lineno in rec.stack_trace():  # innermost first
            if os.path.realpath(filename) == case:
                line = lineno
                break
        if line is None:
            other += rec.size
        else:
            lines[line] = lines.get(line, 0) + rec.size
    print(json.dumps({"lines": lines, "other": other, "peak_total": reader.metadata.peak_memory}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
