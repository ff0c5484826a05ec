#!/usr/bin/env python3
"""Finds references in the SDK and the docs that do not resolve in the project.

Usage: check_references.py SOURCE_DIR

Scans sdk/ (headers, the conformance runner, the CMake package) and docs/ for
  * file references (name.md, path/to/file.h, ...): each must name a file of
    the project, relative to the referring file, the project root or
    sdk/include, or by its bare name anywhere in the project;
  * section references into a Markdown file ("control.md 4.2", "live.md §6"):
    the file must have a heading with that number;
  * ABI rule references ("rule 12", "rules 4-6"): each number must be one of
    the numbered rules of docs/abi-policy.md, and the rule list at the top of
    sdk/include/tpark/tp_plugin.h must number the same rules.
Prints one line per dangling reference (file:line: what) and exits 1 if any.
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else '.')
SCANNED = ['sdk', 'docs']
SCANNED_EXTENSIONS = ('.md', '.yaml', '.h', '.hpp', '.c', '.cpp', '.cmake', '.txt', '.in', '.map')
SKIPPED_DIRS = {'build', '.git'}

# A file name or path; not part of a glob or brace pattern, not a placeholder
# path (<dir>/plugin.yaml), and not a file:line position (an error message).
FILE_REF = re.compile(r'(?<![\w./*{}<>-])([\w][\w./-]*\.(?:md|h|hpp|c|cpp|yaml|yml|sh|cmake|py))'
                      r'(?![\w*{}]|\.\w|:\d)')
SECTION_REF = re.compile(r'([\w./-]+\.md)\)?\s*(?:§\s*|section\s+)(\d+(?:\.\d+)*)|([\w./-]+\.md)\)?\s+(\d+\.\d+(?:\.\d+)*)')
RULE_REF = re.compile(r'\brules?\s+(\d+)(?:\s*(?:-|–|to|and)\s*(\d+))?', re.IGNORECASE)
SYSTEM_HEADERS = {'stdint.h', 'stddef.h', 'stdio.h', 'stdlib.h', 'string.h', 'dlfcn.h', 'elf.h'}
# Where include paths start: the SDK's headers and the host's (tpark-conform
# links the host's manifest reader).
INCLUDE_ROOTS = ['sdk/include', 'host']


def project_files():
    out = []
    for base, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith('.')]
        for name in files:
            out.append(os.path.relpath(os.path.join(base, name), ROOT))
    return out


ALL_FILES = project_files()
BASENAMES = {os.path.basename(f) for f in ALL_FILES}


def resolves(ref, referrer):
    if ref in SYSTEM_HEADERS:
        return True
    candidates = [os.path.join(os.path.dirname(referrer), ref), ref]
    candidates += [os.path.join(root, ref) for root in INCLUDE_ROOTS]
    if any(os.path.isfile(os.path.join(ROOT, c)) for c in candidates):
        return True
    return '/' not in ref and ref in BASENAMES


def find_file(ref, referrer):
    for c in [os.path.join(os.path.dirname(referrer), ref), ref, os.path.join('docs', ref)]:
        if os.path.isfile(os.path.join(ROOT, c)):
            return os.path.join(ROOT, c)
    return None


def numbered_headings(path):
    numbers = set()
    with open(path, encoding='utf-8') as f:
        for line in f:
            m = re.match(r'#+\s+(\d+(?:\.\d+)*)', line)
            if m:
                numbers.add(m.group(1).rstrip('.'))
    return numbers


def policy_rules():
    rules = []
    in_rules = False
    with open(os.path.join(ROOT, 'docs/abi-policy.md'), encoding='utf-8') as f:
        for line in f:
            if line.startswith('## '):
                in_rules = line.strip() == '## Rules'
            elif in_rules:
                m = re.match(r'(\d+)\. \*\*', line)
                if m:
                    rules.append(int(m.group(1)))
    return rules


def header_rules():
    rules = []
    with open(os.path.join(ROOT, 'sdk/include/tpark/tp_plugin.h'), encoding='utf-8') as f:
        for line in f:
            if line.startswith('#ifndef'):
                break
            m = re.match(r'\s\*\s+(\d+)\. ', line)
            if m:
                rules.append(int(m.group(1)))
    return rules


def main():
    problems = []
    rules = policy_rules()
    if not rules or rules != list(range(1, len(rules) + 1)):
        problems.append('docs/abi-policy.md: the rules are not numbered 1..N: %s' % rules)
    if header_rules() != rules:
        problems.append('sdk/include/tpark/tp_plugin.h: its rule list %s differs from '
                        'docs/abi-policy.md %s' % (header_rules(), rules))
    known_rules = set(rules)

    for rel in sorted(ALL_FILES):
        if not any(rel == d or rel.startswith(d + os.sep) for d in SCANNED):
            continue
        if not rel.endswith(SCANNED_EXTENSIONS) or rel.endswith('check_references.py'):
            continue
        with open(os.path.join(ROOT, rel), encoding='utf-8', errors='replace') as f:
            lines = f.read().split('\n')
        fenced = False
        for number, line in enumerate(lines, 1):
            where = '%s:%d' % (rel, number)
            # A Markdown code block shows commands and the files they create;
            # its file names are not references.
            if rel.endswith('.md') and line.lstrip().startswith('```'):
                fenced = not fenced
                continue
            if fenced:
                continue
            # A third-party header (<nlohmann/json.hpp>) is the toolchain's.
            if re.match(r'\s*#\s*include\s*<', line) and '<tpark/' not in line:
                continue
            for m in FILE_REF.finditer(line):
                ref = m.group(1)
                if not resolves(ref, rel):
                    problems.append('%s: file reference %s does not resolve in the project' % (where, ref))
            for m in SECTION_REF.finditer(line):
                ref, section = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
                target = find_file(ref, rel)
                if target is not None and section not in numbered_headings(target):
                    problems.append('%s: %s has no section %s' % (where, ref, section))
            for m in RULE_REF.finditer(line):
                low = int(m.group(1))
                high = int(m.group(2)) if m.group(2) else low
                for n in range(low, high + 1):
                    if n not in known_rules:
                        problems.append('%s: rule %d is not a rule of docs/abi-policy.md (1-%d)'
                                        % (where, n, len(rules)))
    for p in problems:
        print(p)
    print('%d dangling reference(s)' % len(problems))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
