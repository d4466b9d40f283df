export { encryptPayload, decryptPayload, PAYLOAD_OVERHEAD_BYTES } from './payload.js';
export { loadPrivateKey, loadPublicKey, MIN_RSA_BITS, type LoadedKey } from './keys.js';
