"""Runs a Python test module's test_* functions with cmocka's output lines.

    from cmocka_style import run_tests
    sys.exit(run_tests(globals()))

The test runners (tests/lib.sh cmocka_tally, CI) read cmocka's summary lines, so the Python
suites print the same ones. A test fails by raising; every exception is reported alike.
"""


def run_tests(namespace, after=None):
    """Runs every callable named test_* of namespace in order; after() runs once at the end.
    Returns 1 when a test failed, else 0."""
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    failed = []
    print(f"[==========] Running {len(tests)} test(s).")
    for name, fn in tests:
        print(f"[ RUN      ] {name}", flush=True)
        try:
            fn()
            print(f"[       OK ] {name}")
        except Exception as e:  # noqa: BLE001 - any failure of a test is reported the same way
            print(f"[  ERROR   ] {name}: {type(e).__name__}: {e}")
            print(f"[  FAILED  ] {name}")
            failed.append(name)
    if after:
        after()
    print(f"[==========] {len(tests)} test(s) run.")
    print(f"[  PASSED  ] {len(tests) - len(failed)} test(s).")
    if failed:
        print(f"[  FAILED  ] {len(failed)} test(s), listed below:")
        for name in failed:
            print(f"[  FAILED  ] {name}")
    return 1 if failed else 0
