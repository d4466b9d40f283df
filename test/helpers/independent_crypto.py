#!/usr/bin/python3
# An independent implementation of the ironcli payload format (pyca/cryptography, Debian's
# python3-cryptography), used to check our TypeScript code in both directions.
# stdin: JSON list of {"op": "decrypt", "private_pem", "ciphertext"} or {"op": "encrypt", "public_pem", "plaintext_b64"}
# stdout: JSON list of {"ok": true, "plaintext_b64"|"ciphertext"} or {"ok": false, "error"}
import base64, json, os, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)

def decrypt(private_pem, ciphertext):
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    raw = base64.b64decode(ciphertext, validate=True)
    k = key.key_size // 8
    aes_key = key.decrypt(raw[:k], OAEP)
    nonce = raw[-12:]
    return AESGCM(aes_key).decrypt(nonce, raw[k:-12], None)

def encrypt(public_pem, plaintext):
    key = serialization.load_pem_public_key(public_pem.encode())
    aes_key = os.urandom(16)
    nonce = os.urandom(12)
    return base64.b64encode(key.encrypt(aes_key, OAEP) + AESGCM(aes_key).encrypt(nonce, plaintext, None) + nonce).decode()

out = []
for job in json.load(sys.stdin):
    try:
        if job["op"] == "decrypt":
            out.append({"ok": True, "plaintext_b64": base64.b64encode(decrypt(job["private_pem"], job["ciphertext"])).decode()})
        else:
            out.append({"ok": True, "ciphertext": encrypt(job["public_pem"], base64.b64decode(job["plaintext_b64"]))})
    except Exception as e:  # noqa: BLE001 - report every failure to the caller
        out.append({"ok": False, "error": type(e).__name__})
json.dump(out, sys.stdout)
