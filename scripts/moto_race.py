"""Show the race that scripts/moto_server_atomic.py closes (run by hand).

16 threads each read one DynamoDB item's version and write version + 1 on
condition that it is unchanged, 40 times. Against a correct DynamoDB each
version is won once; a version won twice is a lost update.

    .services/moto/bin/python scripts/moto_race.py PORT

To see it within seconds, start plain moto with Python's thread switch
interval shortened (the race window is tiny at the default 5 ms):

    .services/moto/bin/python -c "import sys; sys.setswitchinterval(1e-6); \
        sys.argv=['m','-H','127.0.0.1','-p','5601']; from moto.server import main; main()"

and the atomic launcher the same way (prepend the setswitchinterval line to
a copy of moto_server_atomic.py). On 2026-12-02: plain moto, 5 versions of 80
won twice; the atomic launcher, none of 83.
"""

import collections
import sys
import threading

import boto3


def client(port):
    return boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def main(port):
    c = client(port)
    try:
        c.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except c.exceptions.ResourceInUseException:
        pass  # a second run on the same server
    c.put_item(TableName="t", Item={"k": {"S": "a"}, "v": {"N": "0"}})
    wins = collections.Counter()
    lock = threading.Lock()

    def worker():
        cl = client(port)
        for _ in range(40):
            item = cl.get_item(TableName="t", Key={"k": {"S": "a"}}, ConsistentRead=True)
            v = int(item["Item"]["v"]["N"])
            try:
                cl.put_item(
                    TableName="t",
                    Item={"k": {"S": "a"}, "v": {"N": str(v + 1)}},
                    ConditionExpression="v = :old",
                    ExpressionAttributeValues={":old": {"N": str(v)}},
                )
            except cl.exceptions.ConditionalCheckFailedException:
                continue
            with lock:
                wins[v + 1] += 1

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    twice = sum(1 for n in wins.values() if n > 1)
    print(f"versions won: {len(wins)}, versions won twice or more (lost updates): {twice}")


if __name__ == "__main__":
    main(sys.argv[1])
