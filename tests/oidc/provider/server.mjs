// A real OpenID provider on loopback for the sign-in tests: panva's oidc-provider (an OpenID
// Certified implementation) with one confidential client, a plain login page that accepts any
// registered login, and consent granted on the person's behalf, as an Entra tenant whose admin
// consented for the organisation does.
//
// Started by tests/oidc/provider.py; prints one JSON line {"issuer": ...} once it listens.
// Test controls (loopback only, never part of a real provider):
//   POST /__test/accounts  {"<login>": {claims...}}   the people who can sign in, and their claims
//   POST /__test/tamper    {"mode": "" | "iss" | "aud" | "nonce" | "exp" | "signature"}
//        the next ID tokens are re-issued with that one thing wrong, to test the relying party.
import http from 'node:http';
import { randomUUID } from 'node:crypto';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const { CLIENT_ID, CLIENT_SECRET, REDIRECT_URI } = process.env;
const HOST = process.env.OP_HOST || 'localhost';

const accounts = new Map();
let tamper = '';

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const rogue = (await jose.generateKeyPair('RS256', { extractable: true })).privateKey;
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'op-key', alg: 'RS256', use: 'sig' };

let provider;
const server = http.createServer((req, res) => route(req, res).catch((error) => {
  res.writeHead(500, { 'content-type': 'text/plain' });
  res.end(String(error?.stack || error));
}));
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const issuer = `http://${HOST}:${server.address().port}`;

provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [REDIRECT_URI],
    response_types: ['code'],
    grant_types: ['authorization_code'],
  }],
  jwks: { keys: [signingKey] },
  pkce: { required: () => true },
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'oid', 'tid'],
    email: ['email'],
  },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [randomUUID()] },
  async findAccount(ctx, sub) {
    if (!accounts.has(sub)) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...accounts.get(sub) }) };
  },
});

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && tamper && ctx.body?.id_token) {
    ctx.body = { ...ctx.body, id_token: await tampered(ctx.body.id_token, tamper) };
  }
});

async function tampered(idToken, mode) {
  const claims = jose.decodeJwt(idToken);
  const header = jose.decodeProtectedHeader(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = privateKey;
  if (mode === 'iss') claims.iss = 'https://login.evil.example/v2.0';
  if (mode === 'aud') claims.aud = 'another-application'; // azp still names our client
  if (mode === 'nonce') claims.nonce = 'not-the-nonce-that-was-sent';
  if (mode === 'exp') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (mode === 'signature') key = rogue; // same kid, another key
  return new jose.SignJWT(claims).setProtectedHeader(header).sign(key);
}

const loginPage = (uid, error = '') => `<!doctype html><html><head><title>Sign in</title></head>
<body><h1>Sign in to the test provider</h1>${error ? `<p role="alert">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}">
<label>Login <input name="login" autofocus></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button></form></body></html>`;

async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

async function route(req, res) {
  const url = new URL(req.url, issuer);
  if (url.pathname.startsWith('/__test/') && req.method === 'POST') {
    const data = JSON.parse((await body(req)) || '{}');
    if (url.pathname === '/__test/accounts') {
      for (const [login, claims] of Object.entries(data)) accounts.set(login, claims);
    } else if (url.pathname === '/__test/tamper') {
      tamper = data.mode || '';
    }
    res.writeHead(204);
    res.end();
    return;
  }
  const interaction = url.pathname.match(/^\/interaction\/([\w-]+)$/);
  if (interaction) {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'consent') {
      const grant = new provider.Grant({
        accountId: details.session.accountId, clientId: details.params.client_id,
      });
      grant.addOIDCScope(String(details.params.scope));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(loginPage(interaction[1]));
      return;
    }
    const form = new URLSearchParams(await body(req));
    const login = form.get('login') || '';
    if (!accounts.has(login)) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(loginPage(interaction[1], 'No such account at this provider.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    return;
  }
  provider.callback()(req, res);
}

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
