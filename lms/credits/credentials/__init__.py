"""Standard credentials (W3C Verifiable Credentials as profiled by 1EdTech): an Open Badges 3.0
``OpenBadgeCredential`` (数字学分凭证) for each standing credit, a CLR 2.0 ``ClrCredential``
(数字学习档案) for each transcript carrying those badges, a Bitstring Status List that says which
are revoked, and the checks that read any of them back.

Proofs are ``DataIntegrityProof`` with the ``eddsa-rdfc-2022`` cryptosuite, signed with the same
Ed25519 key as the site's own transcripts (:mod:`lms.credits.signing`); the issuer is the site's
``did:web``. JSON-LD contexts are the vendored files in ``lms/credits/contexts``: nothing here
ever fetches a document from the network.

Deployment: set ``LMS_PUBLIC_URL``. The issuer DID and the status-list URLs are made from it;
without it they follow the request's host, and a credential issued under one host name would not
verify under another. ``lms credits rotate-key`` retires the signing key: its public half goes to
``LMS_RETIRED_KEY_DIR`` (default ``instance/retired-signing-keys``) and stays in the DID document
and in the transcripts' key list, so what it signed keeps verifying.

Modules: ``jsonld`` (the local-only document loader and canonicalisation), ``proofs`` (the
cryptosuite), ``did`` (the site's DID and its document), ``status`` (status lists), ``issue``
(building and storing credentials), ``verify`` (reading any uploaded credential back).
"""
