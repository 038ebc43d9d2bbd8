// /openapi.json is a valid OpenAPI 3.1 document and lists exactly the routes the server has.

import { Validator } from '@seriousme/openapi-schema-validator';
import { expect } from 'chai';
import { useTestServer } from '../support/server.js';

describe('GET /openapi.json', function () {
  this.timeout(60_000);
  const server = useTestServer();

  it('validates as OpenAPI 3.1 and matches the routes, method by method', async () => {
    const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(document.openapi).to.equal('3.1.0');
    const result = await new Validator().validate(document);
    expect(result.errors, JSON.stringify(result.errors, null, 1)?.slice(0, 2000)).to.equal(undefined);
    expect(result.valid).to.equal(true);

    const routes = new Set(
      server.auth.router.stack.flatMap((layer) =>
        layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m.toLowerCase()} ${String(layer.path).replace(/:([A-Za-z]+)/g, '{$1}')}`),
      ),
    );
    const documented = new Set(Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`)));
    expect([...routes].filter((r) => !documented.has(r)), 'routes missing from the document').to.deep.equal([]);
    expect([...documented].filter((d) => !routes.has(d)), 'documented but not served').to.deep.equal([]);
  });

  it('describes request bodies with the very schemas that validate them', async () => {
    const { tokenRequestSchema } = await import('../../src/http/schemas.js');
    const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as any;
    expect(document.paths['/oauth/token'].post.requestBody.content['application/x-www-form-urlencoded'].schema).to.deep.equal(JSON.parse(JSON.stringify(tokenRequestSchema)));
  });
});
