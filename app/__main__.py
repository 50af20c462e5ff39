import sys

from infiniscape.cli import main

sys.exit(main())
