#!/usr/bin/env python3
"""Generates the LegateAuth JWT golden vectors.

Proto/vectors/jwt.json        hand-made cases, one or more per AuthError JWT rejection; each token is built
                              byte by byte here and signed with Python's stdlib hmac (not with Legate code).
Proto/vectors/jwt_pyjwt.json  tokens minted and checked by an independent JOSE implementation (joserfc).

Run: python3 tools/jwt_vectors.py   (deterministic: fixed keys, times and jti values)
"""
import base64, hashlib, hmac, json, math, os

NOW = 1_790_000_000
KEY = "lgt_abcdefghijklmnop_" + "a" * 52 + "_checksum"
KID = "abcdefghijklmnop"
ACCOUNT = "acct_1"
POLICY = {"audience": "legate-manager", "issuer": None, "leeway": 60, "maxLifetime": 3600, "maxTokenBytes": 4096}
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Proto", "vectors")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(signing_input: str, key: str = KEY) -> str:
    return b64(hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest())


def header(**over):
    h = {"alg": "HS256", "typ": "JWT", "kid": KID}
    h.update(over)
    return json.dumps({k: v for k, v in h.items() if v is not None}, separators=(",", ":"))


def claims(**over):
    c = {"sub": ACCOUNT, "iss": "delegate-1", "aud": "legate-manager", "iat": NOW, "nbf": NOW,
         "exp": NOW + 600, "jti": "jti-1"}
    c.update(over)
    return json.dumps({k: v for k, v in c.items() if v is not None}, separators=(",", ":"))


def token(h: str, c: str, key: str = KEY) -> str:
    si = b64(h.encode()) + "." + b64(c.encode())
    return si + "." + sign(si, key)


def raw(h_seg: str, c_seg: str) -> str:
    si = h_seg + "." + c_seg
    return si + "." + sign(si)


def expected(claims_json: str):
    """The claims a verifier returns: NumericDates rounded up to whole seconds."""
    out = json.loads(claims_json)
    for name in ("iat", "nbf", "exp"):
        if name in out:
            out[name] = math.ceil(out[name])
    return out


def handmade():
    v = []

    def add(comment, tok, error=None, now=NOW, policy=None, expected_claims=None):
        entry = {"id": len(v) + 1, "comment": comment, "token": tok, "key": KEY, "kid": KID, "account": ACCOUNT,
                 "now": now, "policy": policy or POLICY, "result": "invalid" if error else "valid"}
        if error:
            entry["error"] = error
        else:
            entry["claims"] = expected_claims
        v.append(entry)

    good = token(header(), claims())
    add("valid minimal delegate token", good, expected_claims=json.loads(claims()))
    add("valid, aud as array, no typ, no nbf", token(header(typ=None), claims(aud=["x", "legate-manager"], nbf=None)),
        expected_claims=json.loads(claims(aud=["x", "legate-manager"], nbf=None)))
    add("valid, exp just inside leeway", good, now=NOW + 600 + 59, expected_claims=json.loads(claims()))
    add("valid, unicode escapes in iss", token(header(), '{"sub":"acct_1","iss":"d\\u00e9l\\n","aud":"legate-manager","iat":%d,"exp":%d,"jti":"j"}' % (NOW, NOW + 60)),
        expected_claims={"sub": "acct_1", "iss": "d\u00e9l\n", "aud": "legate-manager", "iat": NOW, "exp": NOW + 60, "jti": "j"})
    add("oversize token, bounded before work", good + "A" * 5000, "jwtTooLarge")
    add("two segments", good.rsplit(".", 1)[0], "wrongSegmentCount")
    add("four segments", good + ".x", "wrongSegmentCount")
    add("empty string", "", "wrongSegmentCount")
    h, c, s = good.split(".")
    add("padding on the header", raw(base64.urlsafe_b64encode(header().encode()).decode() + "=" * 0 + ("" if len(header()) % 3 == 0 else ""), c).replace(h, h + "=", 1), "base64Padding")
    add("padded signature", h + "." + c + "." + base64.urlsafe_b64encode(base64.urlsafe_b64decode(s + "=")).decode(), "base64Padding")
    add("standard base64 '+' in the header", raw(h[:-2] + "+/", c), "invalidBase64URL")
    add("impossible base64 length", raw(h + "A" * ((1 - len(h)) % 4 or 4), c), "invalidBase64URL")
    add("non-canonical trailing bits in the signature", h + "." + c + "." + s[:-1] + chr(ord(s[-1]) ^ 1) if s[-1] not in "AQgw" else h + "." + c + "." + s[:-1] + "B", "invalidBase64URL")
    add("header is an array", raw(b64(b"[1]"), c), "notAnObject")
    add("payload is a string", raw(h, b64(b'"x"')), "notAnObject")
    add("header JSON truncated", raw(b64(b'{"alg":"HS256"'), c), "malformedJSON")
    add("payload trailing garbage", raw(h, b64(claims().encode() + b"x")), "malformedJSON")
    add("payload with a leading zero number", raw(h, b64(claims().replace('"iat":%d' % NOW, '"iat":0%d' % NOW).encode())), "malformedJSON")
    add("duplicate alg in header", raw(b64(b'{"alg":"HS256","alg":"HS256","kid":"abcdefghijklmnop"}'), c), "duplicateKey")
    add("duplicate exp in payload", raw(h, b64((claims()[:-1] + ',"exp":%d}' % (NOW + 9999)).encode())), "duplicateKey")
    add("duplicate member in a nested header object",
        raw(b64(b'{"alg":"HS256","kid":"abcdefghijklmnop","x":{"a":1,"b":2,"a":3}}'), c), "duplicateKey")
    add("duplicate member in an object inside a claim array",
        token(header(), claims()[:-1] + ',"x":[1,{"k":{"y":true,"y":false}}]}'), "duplicateKey")
    add("same member name in sibling objects is fine",
        token(header(), claims()[:-1] + ',"x":[{"k":1},{"k":2}],"y":{"k":{"k":3}}}'),
        expected_claims=json.loads(claims()))
    add("nested object above the member bound",
        token(header(), claims()[:-1] + ',"x":{' + ",".join('"m%d":0' % i for i in range(33)) + "}}"),
        "malformedJSON")
    add("deeply nested header member", raw(b64(('{"alg":"HS256","kid":"abcdefghijklmnop","x":' + "[" * 40 + "]" * 40 + "}").encode()), c), "nestingTooDeep")
    add("deeply nested claim", raw(h, b64((claims()[:-1] + ',"x":' + '{"a":' * 30 + "1" + "}" * 30 + "}").encode())), "nestingTooDeep")
    add("no alg", raw(b64(header(alg=None).encode()), c), "missingAlgorithm")
    for alg in ["none", "HS512", "RS256", "hs256", "HS256 "]:
        add("alg %r is not allowed" % alg, raw(b64(header(alg=alg).encode()), c), "algorithmNotAllowed")
    add("alg none with empty signature", b64(header(alg="none").encode()) + "." + c + ".", "algorithmNotAllowed")
    add("HS256 header with empty signature", h + "." + c + ".", "invalidSignatureLength")
    add("alg is a number", raw(b64(b'{"alg":1,"kid":"abcdefghijklmnop"}'), c), "invalidHeaderType")
    add("typ is JOSE+JSON", raw(b64(header(typ="JOSE+JSON").encode()), c), "unsupportedType")
    add("no kid", raw(b64(header(kid=None).encode()), c), "missingKeyID")
    add("empty kid", raw(b64(header(kid="").encode()), c), "missingKeyID")
    add("crit extension", raw(b64(header(crit=["exp"]).encode()), c), "criticalHeaderUnsupported")
    add("unknown kid", token(header(kid="zzzzzzzzzzzzzzzz"), claims()), "unknownKeyID")
    add("short signature", h + "." + c + "." + s[:22], "invalidSignatureLength")
    add("signature by another key", token(header(), claims(), key=KEY + "x"), "signatureMismatch")
    add("payload altered after signing", h + "." + b64(claims(sub="acct_2").encode()) + "." + s, "signatureMismatch")
    for name in ["exp", "iat", "sub", "iss", "aud", "jti"]:
        add("missing %s" % name, token(header(), claims(**{name: None})), "missingClaim")
    add("exp is a string", token(header(), claims(exp=str(NOW + 600))), "invalidClaimType")
    # RFC 7519 §2: a NumericDate is any JSON number; the claims hold it rounded up to a whole second, and the
    # lifetime is compared exactly.
    frac = lambda **over: expected(claims(**over))
    add("exp is fractional", token(header(), claims(exp=NOW + 600.5)), expected_claims=frac(exp=NOW + 600.5))
    add("fractional exp just inside leeway", token(header(), claims(exp=NOW + 600.5)), now=NOW + 660,
        expected_claims=frac(exp=NOW + 600.5))
    add("fractional exp beyond leeway", token(header(), claims(exp=NOW + 600.5)), "expired", now=NOW + 661)
    add("fractional iat and nbf", token(header(), claims(iat=NOW - 0.25, nbf=NOW + 0.75)),
        expected_claims=frac(iat=NOW - 0.25, nbf=NOW + 0.75))
    add("fractional nbf beyond leeway", token(header(), claims(nbf=NOW + 60.5)), "notYetValid")
    add("fractional iat beyond leeway", token(header(), claims(iat=NOW + 60.5, nbf=None)), "issuedInFuture")
    add("lifetime one hour and a quarter second", token(header(), claims(iat=NOW + 0.25, exp=NOW + 3600.5, nbf=None)),
        "invalidLifetime", now=NOW + 1)
    add("lifetime exactly one hour between fractions", token(header(), claims(iat=NOW + 0.5, exp=NOW + 3600.5, nbf=None)),
        now=NOW + 1, expected_claims=frac(iat=NOW + 0.5, exp=NOW + 3600.5, nbf=None))
    add("exp with an exponent", token(header(), claims().replace('"exp":%d' % (NOW + 600), '"exp":1.7900006E9')),
        expected_claims=json.loads(claims()))
    add("exp a tenth of a nanosecond past a second, inside leeway",
        token(header(), claims().replace('"exp":%d' % (NOW + 600), '"exp":%d.0000000001' % (NOW + 600))),
        now=NOW + 660, expected_claims=frac(exp=NOW + 601))
    add("exp with a huge exponent", token(header(), claims().replace('"exp":%d' % (NOW + 600), '"exp":1e400')),
        "malformedJSON")
    add("exp with a bare decimal point", token(header(), claims().replace('"exp":%d' % (NOW + 600), '"exp":1.')),
        "malformedJSON")
    add("exp with an empty exponent", token(header(), claims().replace('"exp":%d' % (NOW + 600), '"exp":1e+')),
        "malformedJSON")
    add("aud is a number", token(header(), claims(aud=7)), "invalidClaimType")
    add("aud array holds a number", token(header(), claims(aud=["legate-manager", 7])), "invalidClaimType")
    add("sub is null", token(header(), claims().replace('"sub":"acct_1"', '"sub":null')), "invalidClaimType")
    add("expired beyond leeway", good, "expired", now=NOW + 600 + 60)
    add("nbf in the future", token(header(), claims(nbf=NOW + 61, exp=NOW + 600)), "notYetValid")
    add("iat in the future", token(header(), claims(iat=NOW + 61, nbf=None, exp=NOW + 600)), "issuedInFuture")
    add("lifetime above one hour", token(header(), claims(exp=NOW + 3601)), "invalidLifetime")
    add("exp before iat", token(header(), claims(iat=NOW, exp=NOW - 1, nbf=None)), "invalidLifetime", now=NOW - 30)
    add("wrong audience", token(header(), claims(aud="other")), "audienceMismatch")
    add("empty audience array", token(header(), claims(aud=[])), "audienceMismatch")
    add("wrong issuer", good, "issuerMismatch", policy=dict(POLICY, issuer="delegate-2"))
    add("sub is another account", token(header(), claims(sub="acct_2")), "subjectMismatch")
    add("empty jti", token(header(), claims(jti="")), "emptyJWTID")
    return v


def independent():
    from joserfc import jwt
    from joserfc.jwk import OctKey
    key = OctKey.import_key(KEY)
    other = OctKey.import_key("lgt_other_" + "b" * 52)
    v = []

    def add(comment, tok, error=None, now=NOW, expected=None):
        entry = {"id": len(v) + 1, "comment": comment, "token": tok, "key": KEY, "kid": KID, "account": ACCOUNT,
                 "now": now, "policy": POLICY, "result": "invalid" if error else "valid"}
        if error:
            entry["error"] = error
        else:
            entry["claims"] = expected
        v.append(entry)

    for i in range(12):
        c = {"sub": ACCOUNT, "iss": "delegate-%d" % i, "aud": "legate-manager" if i % 2 else ["a", "legate-manager"],
             "iat": NOW - i, "nbf": NOW - i, "exp": NOW + 60 * (i + 1), "jti": "jti-%d-\u00e9" % i}
        tok = jwt.encode({"alg": "HS256", "typ": "JWT", "kid": KID}, c, key)
        # Cross-check with joserfc itself before committing the vector.
        assert jwt.decode(tok, key, algorithms=["HS256"]).claims["jti"] == c["jti"]
        add("joserfc minted, variant %d" % i, tok, expected=c)
    c = {"sub": ACCOUNT, "iss": "d", "aud": "legate-manager", "iat": NOW, "exp": NOW + 60, "jti": "x"}
    fractional = dict(c, iat=NOW - 0.5, exp=NOW + 59.5)
    tok = jwt.encode({"alg": "HS256", "kid": KID}, fractional, key)
    jwt.JWTClaimsRegistry(now=NOW + 59).validate(jwt.decode(tok, key, algorithms=["HS256"]).claims)
    add("joserfc minted, fractional iat and exp", tok, now=NOW + 59,
        expected=dict(fractional, iat=NOW, exp=NOW + 60))
    add("joserfc, other key", jwt.encode({"alg": "HS256", "kid": KID}, c, other), "signatureMismatch")
    add("joserfc, expired", jwt.encode({"alg": "HS256", "kid": KID}, c, key), "expired", now=NOW + 200)
    add("joserfc, HS512", jwt.encode({"alg": "HS512", "kid": KID}, c, key, algorithms=["HS512"]), "algorithmNotAllowed")
    add("joserfc, HS384", jwt.encode({"alg": "HS384", "kid": KID}, c, key, algorithms=["HS384"]), "algorithmNotAllowed")
    add("joserfc, wrong audience", jwt.encode({"alg": "HS256", "kid": KID}, dict(c, aud="x"), key), "audienceMismatch")
    return v


def write(name, vectors):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump({"generator": "tools/jwt_vectors.py", "vectors": vectors}, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    write("jwt.json", handmade())
    write("jwt_pyjwt.json", independent())
