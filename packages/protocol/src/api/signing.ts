import { Type, type Static } from '@sinclair/typebox';
import { SigningKey } from '../agent/signing.js';

export const SigningKeyRotate = Type.Object(
  {
    overlapSeconds: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 30 * 86_400, default: 86_400, description: 'how long the old keys stay valid beside the new one' }),
    ),
  },
  { additionalProperties: false },
);
export type SigningKeyRotate = Static<typeof SigningKeyRotate>;

export const SigningKeyRotation = Type.Object({
  keyId: Type.String({ description: 'the new key, signing from now on' }),
  retiredKeyIds: Type.Array(Type.String()),
  notAfter: Type.Integer({ minimum: 0, description: 'when the old keys stop being accepted' }),
  announcedTo: Type.Integer({ minimum: 0, description: 'online nodes told of the new key set' }),
});
export type SigningKeyRotation = Static<typeof SigningKeyRotation>;

/** The control plane's command signing keys (public halves), as agents pin them. */
export const SigningKeyList = Type.Object({ items: Type.Array(SigningKey), current: Type.String() });
export type SigningKeyList = Static<typeof SigningKeyList>;
