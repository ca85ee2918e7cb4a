"""Deep variants of the JSON seeds, for the fuzzers' depth test (issue 13.3).

libFuzzer's inputs stay small (4 KiB by default), far too small to nest the 200,000
arrays that overflowed the stack in a recursive copy, so mutation alone never finds that
crash. This writes each JSON seed again with one of its values swapped for nested
arrays: 200,000 deep (400 KB) for a few values spread over the document, 2,000 deep
(under the scope parser's 16 KiB limit) for every value up to 64 per seed.

usage: deep_variants.py SEED_DIR OUT_DIR
"""
import copy
import json
import os
import sys

MARKER = "\u2603 deep nesting \u2603"
DEEP, SHALLOWER = 200_000, 2_000
DEEP_PER_SEED, SHALLOWER_PER_SEED = 8, 64


def value_paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from value_paths(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from value_paths(child, path + (index,))


def with_nesting(document, path, depth):
    if not path:
        return "[" * depth + "]" * depth
    changed = copy.deepcopy(document)
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = MARKER
    return json.dumps(changed).replace(json.dumps(MARKER), "[" * depth + "]" * depth, 1)


def spread(items, count):
    if len(items) <= count:
        return items
    return [items[i * len(items) // count] for i in range(count)]


def main():
    seeds, out = sys.argv[1:3]
    os.makedirs(out, exist_ok=True)
    for name in sorted(os.listdir(seeds)):
        try:
            with open(os.path.join(seeds, name), encoding="utf-8") as seed:
                document = json.load(seed)
        except (ValueError, UnicodeDecodeError):
            continue  # not a JSON seed (a legacy scope list, a link)
        paths = list(value_paths(document))
        for depth, count in ((DEEP, DEEP_PER_SEED), (SHALLOWER, SHALLOWER_PER_SEED)):
            for index, path in enumerate(spread(paths, count)):
                target = os.path.join(out, f"{name}.depth{depth}.{index}")
                with open(target, "w", encoding="ascii") as variant:
                    variant.write(with_nesting(document, path, depth))


if __name__ == "__main__":
    main()
