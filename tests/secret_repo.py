"""A repository holding fake credentials, and the values that must never reach a model.

Shared by the policy tests and the model-boundary tests (no tests here). Every value is
fake but shaped like the real thing, so our rules and detect-secrets both fire on it.
"""

from __future__ import annotations

AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITHUB = "ghp_" + "Zq9Xw8Vu7T" * 4
ENV_VALUE = "s3cr3t-env-value-9f1c77"
KEY_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtz"
KEY_BLOCK = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    f"{KEY_BODY}\n"
    "c2gtZWQyNTUxOQAAACCrandomrandomrandomrandomrandomrandomAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
NEEDLES = (AWS_ID, AWS_SECRET, GITHUB, ENV_VALUE, KEY_BODY)

SECRET_FILES: dict[str, str] = {
    "app/settings.py": (
        "import os\n\n"
        f'AWS_ACCESS_KEY_ID = "{AWS_ID}"\n'
        f'aws_secret_access_key = "{AWS_SECRET}"\n'
        f'GITHUB_TOKEN = "{GITHUB}"\n\n\n'
        "def region() -> str:\n    return os.environ.get('REGION', 'eu-west-1')\n"
    ),
    "app/main.py": (
        "from app.settings import region\n\n\n"
        "def main() -> None:\n    print(region())\n"
    ),
    "config/.env": f"API_KEY={ENV_VALUE}\nDEBUG=0\n",
    "deploy/id_ed25519": KEY_BLOCK,
}


def needles_in(text: str) -> list[str]:
    """The secret values (or a line of the key) that ``text`` still contains."""
    return [needle for needle in NEEDLES if needle in text]
