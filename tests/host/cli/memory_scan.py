"""Count the copies of each given string in a running process's memory, read through
/proc/PID/mem (root, or ptrace access, is needed: the agent is not dumpable). One line
per string: "<count> <string>". Every readable mapping is searched: heap, thread arenas,
stacks, and the mapped files' private pages.

usage: memory_scan.py PID STRING...
"""
import re
import sys


def main():
    pid = int(sys.argv[1])
    needles = [s.encode() for s in sys.argv[2:]]
    counts = [0] * len(needles)
    with open(f"/proc/{pid}/maps", encoding="ascii") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            name = fields[5] if len(fields) > 5 else ""
            if "r" not in fields[1] or name in ("[vvar]", "[vsyscall]"):
                continue
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except OSError:
                continue
            for i, needle in enumerate(needles):
                counts[i] += len(re.findall(re.escape(needle), data))
    for needle, count in zip(needles, counts):
        print(count, needle.decode())


if __name__ == "__main__":
    main()
