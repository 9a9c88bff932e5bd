"""List the modules of rosetta_jax over 400 lines and the functions whose body (without the
docstring) is over 60 lines: the structure rule of thumb of the project (one job per function).

    python scripts/function_lengths.py [--package rosetta_jax] [--function 60] [--module 400]

Prints nothing when every module and function is within the limits.
"""

import argparse
import ast
import pathlib


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    n = node.end_lineno - node.lineno + 1
    first = node.body[0] if node.body else None
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
        if isinstance(first.value.value, str):
            n -= first.end_lineno - first.lineno + 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", default="rosetta_jax")
    ap.add_argument("--function", type=int, default=60)
    ap.add_argument("--module", type=int, default=400)
    args = ap.parse_args()
    for path in sorted(pathlib.Path(args.package).rglob("*.py")):
        source = path.read_text()
        n_lines = source.count("\n")
        long = [
            f"{node.name}:{_body_lines(node)}"
            for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and _body_lines(node) > args.function
        ]
        if n_lines > args.module or long:
            print(path, n_lines, " ".join(long))


if __name__ == "__main__":
    main()
