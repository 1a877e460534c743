import { expect, it } from 'vitest';
import { decide } from './helpers.js';
import { NEW_PHONE, challengeAppOn, post } from './challenge-helpers.js';
import { habit } from './helpers.js';
import { HOME } from './challenge-helpers.js';
import { SERVER_STORES, describeEachStore } from './stores.js';

/**
 * Issue 14, finding 8: twenty resends of one challenge at once delivered 8 codes against
 * `maxSends` 5. A send is reserved with an atomic count before any provider is asked, so no
 * interleaving of instances sends more than `maxSends` codes, the first included.
 */
describeEachStore(
  SERVER_STORES,
  'the resend race',
  async (kind) => {
    // Limits per phone number well above maxSends: only the send count can stop the race.
    const t = await challengeAppOn(kind, { file: { challenges: { maxSends: 5, limits: { perPhonePerHour: 100 } } } });
    await habit(t, HOME);
    return t;
  },
  (t) => {
    it('twenty parallel resends deliver at most maxSends codes in all', async () => {
      const d = await decide(t, { ...NEW_PHONE, phone: '+4791234567' });
      expect(d.body.challenge.delivered).toBe(true);
      const id = d.body.challenge.id as string;
      const rs = await Promise.all(Array.from({ length: 20 }, () => post(t, `/v1/challenges/${id}/resend`, { channel: 'sms' })));
      const sent = t.outbox.messages.filter((m) => m.challengeId === id);
      expect(sent).toHaveLength(5);
      expect(rs.filter((r) => r.status === 200)).toHaveLength(4);
      expect(rs.filter((r) => r.status !== 200).map((r) => r.body.error.code)).toEqual(Array(16).fill('RESEND_LIMIT'));
      expect((await t.store.challenges.getChallenge(id))!.sends).toBe(5);
      expect((await post(t, `/v1/challenges/${id}/resend`, {})).body.error.code).toBe('RESEND_LIMIT');
    });
  },
);
