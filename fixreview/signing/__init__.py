"""Signing and verifying decision payloads with the reviewer's own git signing setup.

``config`` reads git's settings (``gpg.format``, ``user.signingKey``, ``gpg.ssh.program``,
``gpg.program``); ``ssh`` and ``openpgp`` sign exact bytes and verify them with the reference
verifiers (``ssh-keygen -Y verify``, ``gpg --verify``).
"""

from fixreview.signing.base import SignatureCheck, Signed, Signer, SigningError
from fixreview.signing.config import signer_from_git

__all__ = ["SignatureCheck", "Signed", "Signer", "SigningError", "signer_from_git"]
