import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "app"))

import main  # noqa: E402


class DescribeTests(unittest.TestCase):
    def test_names_the_service_version_and_user(self):
        text = main.describe()
        self.assertTrue(text.startswith(f"shop/api {main.VERSION} running as "), text)
        self.assertIn(f"(uid {os.getuid()})", text)


if __name__ == "__main__":
    unittest.main()
