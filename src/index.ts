// The library entry: what other Node programs may import from 'iron-runner'.
export { IronError, isIronError, ERROR_CODES, type ErrorCode } from './errors.js';
export { encryptPayload, decryptPayload, loadPrivateKey, loadPublicKey, type LoadedKey } from './decrypt/index.js';
