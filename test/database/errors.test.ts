// One classifier says what a database error means (src/database/errors.ts): what start-up retries,
// what becomes a 503, what names a setting to fix, what the prepared-statement fallback catches.
import { expect } from 'chai';
import { classifyDatabaseError } from '../../src/database/errors.ts';

describe('classifyDatabaseError', () => {
  it('classifies certificate and host-name mismatches as settings to fix, and outages as worth retrying', () => {
    const tls = (code: string) => Object.assign(new Error(`TLS failure ${code}`), { code });
    for (const code of ['ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED']) {
      expect(classifyDatabaseError(tls(code)), code).to.deep.equal({ sqlState: undefined, kind: 'misconfigured' });
    }
    const sqlError = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    expect(classifyDatabaseError(sqlError('28P01')).kind).to.equal('misconfigured');
    expect(classifyDatabaseError(sqlError('3D000')).kind).to.equal('misconfigured');
    expect(classifyDatabaseError(sqlError('08P01', 'unsupported startup parameter: statement_timeout')).kind).to.equal('misconfigured');
    // PgBouncer's other refusals share 08P01 and are passing conditions.
    expect(classifyDatabaseError(sqlError('08P01', 'no more connections allowed (max_client_conn)')).kind).to.equal('unavailable');
    expect(classifyDatabaseError(sqlError('57P03', 'the database system is starting up')).kind).to.equal('unavailable');
    expect(classifyDatabaseError(sqlError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')).kind).to.equal('unavailable');
    expect(classifyDatabaseError(new Error('wrapped', { cause: sqlError('42P05') }))).to.deep.equal({ sqlState: '42P05', kind: 'prepared-statement-lost' });
  });
});
