"""Handler of LambdaStack's small test function: a greeting that names the request's path."""

import json


def handler(event, context):
    """Return an API Gateway style response; works for direct invokes too."""
    path = (event or {}).get("path") or "/"
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"message": "Hello, CDK! You've hit " + path}),
    }
