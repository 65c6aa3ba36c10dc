"""moto's server with DynamoDB's writes made atomic, as DynamoDB's are.

moto 5.2.5 checks a conditional write and then applies it in two steps
(`Table.put_item`: read the item, evaluate the condition, store the new one),
and its server runs a thread per connection. Two conditional writes of one
item can then both pass their check, so a version-conditional save can
overwrite another that also succeeded: a lost update that real DynamoDB never
produces. The conflict storm of the load harness hit it once in CI. So every
call into moto's DynamoDB backend runs under one lock here (moto is bound by
Python's GIL anyway, so little concurrency is lost).

Its listen backlog is raised as well: werkzeug listens with a backlog of 128,
and the load harness's 256 clients overflow it while the server thread waits
for the GIL (the kernel's `TcpExtListenOverflows` counter climbs). A dropped
connection attempt is retried by the SDK after a second or more, and now and
then a request then ran out of its deadline: a 503 under plain load that
real DynamoDB would not give.

`scripts/services` installs this file as `.services/moto/bin/moto_server_atomic`;
the arguments are moto_server's.
"""

import functools
import inspect
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main
from werkzeug.serving import BaseWSGIServer

_LOCK = threading.RLock()


def _serialized(method):
    @functools.wraps(method)
    def call(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return call


for _name, _method in list(vars(DynamoDBBackend).items()):
    if inspect.isfunction(_method) and not _name.startswith("__"):
        setattr(DynamoDBBackend, _name, _serialized(_method))

# Capped by net.core.somaxconn (4096 by default).
BaseWSGIServer.request_queue_size = 4096

if __name__ == "__main__":
    main()
