"""moto's server with DynamoDB's writes made atomic, as DynamoDB's are.

moto 5.2.5 checks a conditional write and then applies it in two steps
(`Table.put_item`: read the item, evaluate the condition, store the new one),
and its server runs a thread per connection. Two conditional writes of one
item can then both pass their check, so a version-conditional save can
overwrite another that also succeeded: a lost update that real DynamoDB never
produces. The conflict storm of the load harness hit it once in CI. So every
call into moto's DynamoDB backend runs under one lock here (moto is bound by
Python's GIL anyway, so little concurrency is lost).

`scripts/services` installs this file as `.services/moto/bin/moto_server_atomic`;
the arguments are moto_server's.
"""

import functools
import inspect
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

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

if __name__ == "__main__":
    main()
