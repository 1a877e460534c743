/**
 * What a step-up challenge and the user's second factors are, as the challenge module makes
 * them and every store keeps them (src/store imports these, as it imports the profile).
 */

/**
 * Where a challenge's code goes; "totp" is answered from the user's authenticator app,
 * "passkey" with a WebAuthn assertion of one of the user's passkeys.
 */
export type Channel = 'sms' | 'whatsapp' | 'voice' | 'email';
export type ChallengeChannel = Channel | 'totp' | 'passkey';

/**
 * A step-up challenge. Codes made by riskgate are kept only as `codeHash` (HMAC with a server
 * key, bound to the challenge id); codes made by a verify service stay with that provider and
 * `providerRef` names them there. `status` only moves forward from "pending".
 */
export interface ChallengeRecord {
  id: string;
  decisionId: string;
  userId: string;
  /** The address and device of the login, for the per-IP verify limit and the trust token. */
  ip: string;
  deviceId: string | null;
  channel: ChallengeChannel;
  /** Where the code went (E.164 phone or e-mail address); null for TOTP. */
  destination: string | null;
  /** Destinations the login service gave, kept for /resend on another channel. */
  phone: string | null;
  email: string | null;
  /** Provider that delivered (or, for a verify service, made) the current code. */
  provider: string | null;
  providerRef: string | null;
  codeHash: string | null;
  status: 'pending' | 'verified' | 'locked' | 'expired';
  /** Wrong answers so far (verify attempts; failed passwords are FailureCounts, src/signals/attempts.ts). */
  attempts: number;
  maxAttempts: number;
  sends: number;
  createdAt: number;
  expiresAt: number;
  verifiedAt: number | null;
}

/** What a resend changes: where the new code went and until when it is good. Never the attempts. */
export interface ChallengeDelivery {
  channel: ChallengeChannel;
  destination: string | null;
  provider: string | null;
  providerRef: string | null;
  codeHash: string | null;
  expiresAt: number;
}

/** What one answer to a challenge was found to be; the store turns it into the challenge's new state. */
export type VerifyResult = 'verified' | 'invalid' | 'locked' | 'expired';

/** A verify attempt as recorded: the answer, and the attempts it leaves. */
export interface VerifyOutcome {
  /** "used": the challenge had already been verified. */
  status: 'verified' | 'invalid' | 'locked' | 'expired' | 'used';
  attempts: number;
  maxAttempts: number;
}

/** A user's TOTP enrolment. The secret is encrypted (AES-256-GCM) before it reaches the store. */
export interface TotpRecord {
  userId: string;
  secretEnc: string;
  confirmed: boolean;
  /** The last time step whose code was accepted: no code of this step or older is accepted again. */
  lastStep: number;
  createdAt: number;
}

/** A device the user chose to trust. Only the id is kept: the token itself is signed, never stored. */
export interface TrustedDevice {
  id: string;
  userId: string;
  deviceId: string;
  label: string;
  ip: string;
  createdAt: number;
  expiresAt: number;
}

/**
 * A user's passkey (a WebAuthn credential). Only public material is kept: the credential id
 * and its public key. `id` is riskgate's own short id for the API; `credentialId` is the
 * authenticator's (base64url), unique among all users.
 */
export interface PasskeyRecord {
  id: string;
  userId: string;
  credentialId: string;
  /** The COSE public key, base64url. */
  publicKey: string;
  /** The authenticator's signature counter at its last accepted use (0 for authenticators without one). */
  counter: number;
  /** How the browser can reach the authenticator ("internal", "usb", "hybrid"...), as it reported them. */
  transports: string[];
  label: string;
  createdAt: number;
  lastUsedAt: number | null;
}
