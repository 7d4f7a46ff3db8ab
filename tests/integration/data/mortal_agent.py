"""The reference agent on stdio, in a given network namespace, that dies (exits) after a given
number of requests: for the test of a SUT whose agent is lost mid-run.

    python3 mortal_agent.py NETNS_PATH REQUESTS
"""

import sys

from conformance_agent.protocol import decode, encode
from conformance_agent.server import Agent, enter_netns


def main() -> None:
    enter_netns(sys.argv[1])
    left = int(sys.argv[2])
    agent = Agent()
    for line in sys.stdin.buffer:
        if left == 0:
            sys.exit(3)
        left -= 1
        sys.stdout.buffer.write(encode(agent.handle(decode(line))))
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
