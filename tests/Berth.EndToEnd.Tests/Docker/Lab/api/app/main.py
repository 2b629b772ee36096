"""shop/api, the lab's application: says what it is and who runs it."""
import os
import platform
import pwd

VERSION = "1.0"


def describe():
    uid = os.getuid()
    return f"shop/api {VERSION} running as {pwd.getpwuid(uid).pw_name} (uid {uid}) on Python {platform.python_version()}"


def main():
    print(describe(), flush=True)


if __name__ == "__main__":
    main()
