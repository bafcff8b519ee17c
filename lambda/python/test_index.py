import json
import unittest

import index


class HandlerTest(unittest.TestCase):
    def test_greets_with_path(self):
        resp = index.handler({"path": "/hello"}, None)
        self.assertEqual(resp["statusCode"], 200)
        self.assertEqual(resp["headers"]["Content-Type"], "application/json")
        self.assertEqual(json.loads(resp["body"]), {"message": "Hello, CDK! You've hit /hello"})

    def test_direct_invoke_without_path(self):
        for event in ({}, None):
            with self.subTest(event=event):
                body = json.loads(index.handler(event, None)["body"])
                self.assertEqual(body["message"], "Hello, CDK! You've hit /")


if __name__ == "__main__":
    unittest.main()
