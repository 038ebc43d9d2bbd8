import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { ConfigError, insecureDefaults, loadConfig, redactedConfig, settings } from '../src/config.js';

describe('configuration', () => {
  it('has working defaults, and says loudly which ones are insecure', () => {
    const config = loadConfig({});
    expect(config).to.include({ databaseUrl: undefined, eventStoreUrl: undefined, port: 8080, issuer: 'http://localhost:8080', embeddedPostgresPort: 54329 });
    expect(config.storage).to.match(/\/storage$/);
    expect(insecureDefaults(config)).to.have.length(2);
  });

  it('reads the environment and derives the issuer from the port', () => {
    const config = loadConfig({ PORT: '9000', DATABASE_URL: 'postgres://u:secret@db/warrant', WARRANT_STORAGE: '/var/lib/warrant' });
    expect(config).to.include({ port: 9000, issuer: 'http://localhost:9000', storage: '/var/lib/warrant' });
    expect(loadConfig({ ISSUER: 'https://auth.example/' }).issuer).to.equal('https://auth.example');
    expect(insecureDefaults(loadConfig({ ISSUER: 'https://auth.example', DATABASE_URL: 'postgres://db/w' }))).to.deep.equal([]);
  });

  it('refuses bad values with a message naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).to.throw(ConfigError, /PORT/);
    expect(() => loadConfig({ ISSUER: 'https://auth.example/?x=1' })).to.throw(ConfigError, /ISSUER/);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).to.throw(ConfigError, /LOG_LEVEL/);
  });

  it('redacts passwords from what it prints', () => {
    const printed = JSON.stringify(redactedConfig(loadConfig({ DATABASE_URL: 'postgres://u:hunter2@db/warrant' })));
    expect(printed).not.to.contain('hunter2');
    expect(printed).to.contain('postgres://u:***@db/warrant');
  });

  it('every setting is in the README configuration table', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const setting of settings) expect(readme, setting.env).to.contain(`| \`${setting.env}\` |`);
  });
});
