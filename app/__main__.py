import sys

try:
    from infiniscape.cli import main
except KeyboardInterrupt:  # Ctrl-C before the CLI could even start: still one line
    print("infiniscape: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
