import { describe, expect, it } from 'vitest';
import { credentialFromSubprotocols } from '../../src/proxy/upgrade.js';

describe('credentialFromSubprotocols', () => {
  it('moves the browser credential to Authorization and out of the protocols', () => {
    const headers: Record<string, string | undefined> = {
      'sec-websocket-protocol': 'realtime, openai-insecure-api-key.fk-ann-1, openai-beta.realtime-v1',
    };
    credentialFromSubprotocols(headers);
    expect(headers).toEqual({
      authorization: 'Bearer fk-ann-1',
      'sec-websocket-protocol': 'realtime, openai-beta.realtime-v1',
    });
  });

  it('keeps a header credential, still removing the protocol entry, and drops an emptied list', () => {
    const headers: Record<string, string | undefined> = {
      authorization: 'Bearer fk-bob-2',
      'sec-websocket-protocol': 'openai-insecure-api-key.fk-ann-1',
    };
    credentialFromSubprotocols(headers);
    expect(headers).toEqual({ authorization: 'Bearer fk-bob-2' });
  });

  it('leaves protocols without a credential alone', () => {
    const headers: Record<string, string | undefined> = { 'sec-websocket-protocol': 'realtime' };
    credentialFromSubprotocols(headers);
    expect(headers).toEqual({ 'sec-websocket-protocol': 'realtime' });
  });
});
