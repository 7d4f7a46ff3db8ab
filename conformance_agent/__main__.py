"""`python3 -m conformance_agent`: serve the agent protocol (see server.main)."""

import sys

from conformance_agent.server import main

sys.exit(main())
