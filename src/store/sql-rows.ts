import type { ChallengeRecord, PasskeyRecord, TrustedDevice } from '../challenge/model.js';

/**
 * Rows as both SQL stores (SQLite, PostgreSQL) keep challenges and trusted devices: the same
 * columns, so one mapping to the records the challenge module uses.
 */
export interface ChallengeRow {
  id: string;
  decision_id: string;
  user_id: string;
  ip: string;
  device_id: string | null;
  channel: ChallengeRecord['channel'];
  destination: string | null;
  phone: string | null;
  email: string | null;
  provider: string | null;
  provider_ref: string | null;
  code_hash: string | null;
  status: ChallengeRecord['status'];
  attempts: number;
  max_attempts: number;
  sends: number;
  created_at: number;
  expires_at: number;
  verified_at: number | null;
}

export interface TrustedRow {
  id: string;
  user_id: string;
  device_id: string;
  label: string;
  ip: string;
  created_at: number;
  expires_at: number;
}

export function challengeFrom(r: ChallengeRow): ChallengeRecord {
  return {
    id: r.id,
    decisionId: r.decision_id,
    userId: r.user_id,
    ip: r.ip,
    deviceId: r.device_id,
    channel: r.channel,
    destination: r.destination,
    phone: r.phone,
    email: r.email,
    provider: r.provider,
    providerRef: r.provider_ref,
    codeHash: r.code_hash,
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    sends: r.sends,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    verifiedAt: r.verified_at,
  };
}

export function trustedFrom(r: TrustedRow): TrustedDevice {
  return { id: r.id, userId: r.user_id, deviceId: r.device_id, label: r.label, ip: r.ip, createdAt: r.created_at, expiresAt: r.expires_at };
}

export interface PasskeyRow {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: string;
  counter: number;
  /** JSON array. */
  transports: string;
  label: string;
  created_at: number;
  last_used_at: number | null;
}

export function passkeyFrom(r: PasskeyRow): PasskeyRecord {
  return {
    id: r.id,
    userId: r.user_id,
    credentialId: r.credential_id,
    publicKey: r.public_key,
    counter: Number(r.counter),
    transports: JSON.parse(r.transports) as string[],
    label: r.label,
    createdAt: Number(r.created_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}
